package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/cmd/commbench/serve"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/loadgen"
)

func init() {
	register(command{name: "calibrate", summary: "measure the harness's own ceiling and floor against a null endpoint", run: cmdCalibrate})
}

// cmdCalibrate runs the null endpoint in a child commbench process, not in
// this one: the generator and the endpoint then share the machine's cores
// as the generator and a service do in a run (and as the Vegeta CLI and
// its target do), not one Go runtime, its scheduler and its garbage
// collector. The child ends when its stdin closes, so it never outlives
// this process.
func cmdCalibrate(args []string) error {
	fs := flag.NewFlagSet("calibrate", flag.ContinueOnError)
	maxRate := fs.Float64("max-rate", harness.DefaultCalibrateMaxRate, "highest rate to try, requests per second")
	step := fs.Duration("step-duration", harness.DefaultCalibrateStep, "how long each rate is held")
	budget := fs.Duration("budget", harness.DefaultCalibrateBudget, "no step starts that would end after this")
	out := fs.String("out", "", "also write the calibration as JSON to this file (it is always saved to the cache folder)")
	external := fs.String("target", "", "measure against this null endpoint (commbench calibrate --serve-null) on loopback instead of starting one")
	client := fs.String("client", string(loadgen.ClientFastHTTP), "the generator's HTTP client: fasthttp or net/http (vegeta's own attacker, as the Vegeta CLI)")
	serveNull := fs.Bool("serve-null", false, "internal: serve the null endpoint on 127.0.0.1 until stdin closes")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench calibrate [--max-rate N] [--step-duration D] [--budget D] [--client C] [--out FILE]")
		fmt.Fprintln(fs.Output(), "\nMeasures the load generator's own floor (p50, p99 at 1,000 rps) and ceiling (highest rate with")
		fmt.Fprintln(fs.Output(), "at least 99% achieved and at most 1% of the sends over 1 ms late) and CPU per request (at 5,000 rps)")
		fmt.Fprintln(fs.Output(), "against a null endpoint on loopback,")
		fmt.Fprintln(fs.Output(), "and saves it for runs to record.")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := readEnv() // before a minute of calibrating, not after
	if err != nil {
		return usageErr(err, envHint)
	}
	if *serveNull {
		return serveNullChild()
	}
	cl, err := loadgen.ParseClient(*client)
	if err != nil {
		return usageErr(fmt.Errorf("calibrate: --%w", err), "give --client fasthttp or --client net/http")
	}
	switch {
	case *maxRate < harness.CalibrateStartRate:
		return usageErr(fmt.Errorf("calibrate: --max-rate %g is below %d", *maxRate, harness.CalibrateStartRate), "give --max-rate 1000 or more")
	case *step < 500*time.Millisecond:
		return usageErr(fmt.Errorf("calibrate: --step-duration %v is too short", *step), "give --step-duration 500ms or more")
	case *budget < 4**step:
		return usageErr(fmt.Errorf("calibrate: --budget %v leaves no room for the steps", *budget), "give --budget at least 4 times --step-duration")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	target, endpoint := *external, "given with --target"
	if target == "" {
		var done func()
		var err error
		if target, done, err = startNullChild(); err != nil {
			return err
		}
		defer done()
		endpoint = "child process"
	}

	fmt.Printf("calibrate: null endpoint %s (%s), client %s, %v per step, at most %v\n", target, endpoint, cl, *step, *budget)
	const row = "%-7s %8s %9s %7s %6s %9s %9s %8s  %s\n"
	fmt.Printf(row, "phase", "rate", "achieved", "late", "drops", "p50 ms", "p99 ms", "cpu µs", "")
	c, err := harness.Calibrate(ctx, harness.CalibrateOptions{
		Target: target, MaxRate: *maxRate, StepDuration: *step, Budget: *budget, Endpoint: endpoint, Client: cl,
		Progress: func(s harness.CalibrationStep) {
			fmt.Printf(row, s.Phase, fmt.Sprintf("%.0f", s.RateRPS), fmt.Sprintf("%.0f", s.AchievedRPS), fmt.Sprint(s.Late), fmt.Sprint(s.Drops),
				fmt.Sprintf("%.3f", s.P50Ms), fmt.Sprintf("%.3f", s.P99Ms), fmt.Sprintf("%.1f", s.CPUUsPerReq), s.Verdict)
		},
	})
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	capped := ""
	if c.Capped {
		capped = " (the highest rate tried: raise --max-rate to find the real one)"
	}
	fmt.Printf("\nceiling %.0f rps%s; floor at %.0f rps: p50 %.3f ms, p99 %.3f ms; generator CPU %.1f µs per request at %.0f rps\n",
		c.CeilingRPS, capped, c.FloorRPS, c.FloorMs.P50, c.FloorMs.P99, c.CPUUsPerReq, c.CPURate)
	path, err := c.Save(env.Cache)
	if err != nil {
		return err
	}
	fmt.Println("saved", path)
	if *out != "" {
		if err := writeCalibration(*out, c); err != nil {
			return err
		}
		fmt.Println("wrote", *out)
	}
	return nil
}

func writeCalibration(path string, c *harness.CalibrationRun) error {
	f, err := os.Create(path)
	if err != nil {
		return usageErr(fmt.Errorf("calibrate: %w", err), "check --out")
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", " ")
	if err := enc.Encode(c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startNullChild starts 'commbench calibrate --serve-null' and returns the
// URL it serves and a function that stops it.
func startNullChild() (target string, done func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("calibrate: cannot find this program to start the null endpoint: %w", err)
	}
	cmd := exec.Command(exe, "calibrate", "--serve-null")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("calibrate: start the null endpoint: %w", err)
	}
	exited := make(chan struct{})
	done = func() {
		stdin.Close() // the child's signal to go
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case target = <-lines:
		if strings.HasPrefix(target, "http://127.0.0.1:") {
			return target, done, nil
		}
		done()
		return "", nil, fmt.Errorf("calibrate: the null endpoint said %q, want its URL", target)
	case <-exited:
		return "", nil, errors.New("calibrate: the null endpoint exited before it listened")
	case <-time.After(10 * time.Second):
		done()
		return "", nil, errors.New("calibrate: the null endpoint did not listen within 10s")
	}
}

// serveNullChild is the child: it serves the null endpoint on a free port
// of 127.0.0.1, prints its URL, and stops when stdin closes or on a signal.
func serveNullChild() error {
	ln, err := serve.Listen("127.0.0.1:0", "serve-null")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // returns when the parent closes stdin or dies
		cancel()
	}()
	fmt.Printf("http://%s\n", ln.Addr())
	return harness.ServeNull(ctx, ln)
}
