package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/cmd/commbench/serve"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/internal/proc"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
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
	out := fs.String("out", "", "also write the calibration as JSON to this file (it is saved to the cache folder too, unless --endpoint-delay or --ramp)")
	external := fs.String("target", "", "measure against this null endpoint (commbench calibrate --serve-null) on loopback instead of starting one")
	client := fs.String("client", string(loadgen.ClientFastHTTP), "the generator's HTTP client: fasthttp or net/http (vegeta's own attacker, as the Vegeta CLI)")
	serveNull := fs.Bool("serve-null", false, "internal: serve the null endpoint on 127.0.0.1 until stdin closes")
	ramp := fs.Bool("ramp", false, "instead of the steps: ramp from 0 to --max-rate (default 20,000 rps with --ramp) over --ramp-duration and measure each second; --out gets the seconds as JSON and a chart beside it (.html)")
	rampFor := fs.Duration("ramp-duration", harness.DefaultRampDuration, "how long the ramp takes (with --ramp)")
	beside := fs.String("beside", "", "with --ramp: also draw this ramp (another tool's, in the same JSON, e.g. scripts/vegeta-ramp's) on the page, and the ratio of CPU per request")
	delay := fs.Duration("endpoint-delay", 0, "the null endpoint answers after this long (e.g. 50ms: thousands of requests in flight)")
	trace := fs.String("trace", "", "with --ramp: also record a Go execution trace of the generator to this file (go tool trace FILE)")
	fs.Usage = func() { calibrateUsage(fs) }
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := readEnv() // before a minute of calibrating, not after
	if err != nil {
		return usageErr(err, envHint)
	}
	if *delay < 0 || *delay > time.Minute {
		return usageErr(fmt.Errorf("calibrate: --endpoint-delay %v is outside 0 to 1m", *delay), "give --endpoint-delay 50ms, say")
	}
	if *serveNull {
		return serveNullChild(*delay)
	}
	cl, err := loadgen.ParseClient(*client)
	if err != nil {
		return usageErr(fmt.Errorf("calibrate: --%w", err), "give --client fasthttp or --client net/http")
	}
	if *ramp && !flagSet(fs, "max-rate") {
		*maxRate = harness.DefaultRampMaxRate
	}
	switch {
	case *ramp && *rampFor < 2*time.Second:
		return usageErr(fmt.Errorf("calibrate: --ramp-duration %v is too short", *rampFor), "give --ramp-duration 2s or more")
	case *maxRate < harness.CalibrateStartRate:
		return usageErr(fmt.Errorf("calibrate: --max-rate %g is below %d", *maxRate, harness.CalibrateStartRate), "give --max-rate 1000 or more")
	case *step < 500*time.Millisecond:
		return usageErr(fmt.Errorf("calibrate: --step-duration %v is too short", *step), "give --step-duration 500ms or more")
	case !*ramp && *budget < 4**step:
		return usageErr(fmt.Errorf("calibrate: --budget %v leaves no room for the steps", *budget), "give --budget at least 4 times --step-duration")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	target, endpoint := *external, "given with --target"
	if target == "" {
		var done func()
		var err error
		if target, done, err = startNullChild(*delay); err != nil {
			return err
		}
		defer done()
		endpoint = "child process"
	}
	if *ramp {
		return calibrateRamp(ctx, harness.RampOptions{Target: target, MaxRate: *maxRate, Duration: *rampFor, EndpointDelay: *delay, Client: cl, Trace: *trace}, endpoint, *out, *beside)
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
	printCalibration(c)
	if *delay > 0 {
		// Its floor is the endpoint's delay: not the harness's own, which
		// the runs record.
		fmt.Println("not saved for runs: measured against an endpoint that answers after", *delay)
	} else {
		path, err := c.Save(env.Cache)
		if err != nil {
			return err
		}
		fmt.Println("saved", path)
	}
	if *out != "" {
		if err := writeCalibration(*out, c); err != nil {
			return err
		}
		fmt.Println("wrote", *out)
	}
	return nil
}

func writeCalibration(path string, c any) error {
	if err := writeJSON(path, c); err != nil {
		return usageErr(fmt.Errorf("calibrate: %w", err), "check --out")
	}
	return nil
}

func writeJSON(file string, v any) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(data, '\n'), 0o644)
}

// startNullChild starts 'commbench calibrate --serve-null' and returns the
// URL it serves and a function that stops it.
func startNullChild(delay time.Duration) (target string, done func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, fmt.Errorf("calibrate: cannot find this program to start the null endpoint: %w", err)
	}
	cmd := exec.Command(exe, "calibrate", "--serve-null", "--endpoint-delay", delay.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	host.Nice(cmd, host.SUTNice()) // the endpoint is the system under test: the generator runs first
	// No log file: its URL comes on stdout, its errors go to ours.
	child, err := proc.Start(cmd, proc.Options{})
	if err != nil {
		return "", nil, fmt.Errorf("calibrate: start the null endpoint: %w", err)
	}
	done = func() {
		stdin.Close() // the child's signal to go
		if err := child.Stop(5 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "commbench: calibrate: the null endpoint: %v\n", err)
		}
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case target = <-lines:
		if strings.HasPrefix(target, "http://127.0.0.1:") {
			return target, done, nil
		}
		done()
		return "", nil, fmt.Errorf("calibrate: the null endpoint said %q, want its URL", target)
	case <-child.Done():
		return "", nil, errors.New("calibrate: the null endpoint exited before it listened")
	case <-time.After(10 * time.Second):
		done()
		return "", nil, errors.New("calibrate: the null endpoint did not listen within 10s")
	}
}

// serveNullChild is the child: it serves the null endpoint on a free port
// of 127.0.0.1, prints its URL, and stops when stdin closes or on a signal.
func serveNullChild(delay time.Duration) error {
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
	return harness.ServeNull(ctx, ln, delay)
}

// calibrateRamp runs the ramp, prints its seconds as they come, and writes
// them to out (JSON) with their chart beside it (out with .html).
func calibrateRamp(ctx context.Context, o harness.RampOptions, endpoint, out, beside string) error {
	ramps := []results.Ramp{{}}
	if beside != "" {
		b, err := os.ReadFile(beside)
		if err != nil {
			return usageErr(fmt.Errorf("calibrate: --beside: %w", err), "give the JSON of another ramp")
		}
		var other results.Ramp
		if err := json.Unmarshal(b, &other); err != nil {
			return usageErr(fmt.Errorf("calibrate: --beside %s: %w", beside, err), "give the JSON of another ramp")
		}
		ramps = append(ramps, other)
	}
	fmt.Printf("calibrate --ramp: null endpoint %s (%s, answers after %v), client %s, 0 → %.0f rps over %v\n",
		o.Target, endpoint, o.EndpointDelay, cmp.Or(o.Client, loadgen.ClientFastHTTP), o.MaxRate, o.Duration)
	fmt.Printf(rampRow, "t s", "offered", "sent", "achieved", "late", "lag p50", "lag p99", "lag max", "cores", "steal", "workers", "conns", "late by cause")
	o.Progress = printRampSecond
	r, err := harness.CalibrateRamp(ctx, o)
	if err != nil {
		return fmt.Errorf("calibrate --ramp: %w", err)
	}
	fmt.Printf("\nheld on time up to %.0f rps; %d seconds over 1%% late; generator CPU %.1f µs per request at ≥ %.0f rps\n",
		r.HeldRPS, r.LateSeconds, r.CPUUsPerReqAtMax, harness.RampAtMaxFrac*r.MaxRate)
	ramps[0] = *r
	for _, b := range ramps[1:] {
		if b.CPUUsPerReqAtMax > 0 {
			fmt.Printf("CPU per request at ≥ %.0f rps: commbench %.1f µs, %s %.1f µs: %.2f× (held on time: %.0f vs %.0f rps; seconds over 1%% late: %d vs %d)\n",
				harness.RampAtMaxFrac*r.MaxRate, r.CPUUsPerReqAtMax, b.Tool, b.CPUUsPerReqAtMax, r.CPUUsPerReqAtMax/b.CPUUsPerReqAtMax, r.HeldRPS, b.HeldRPS, r.LateSeconds, b.LateSeconds)
		}
	}
	if out == "" {
		return nil
	}
	if err := writeCalibration(out, r); err != nil {
		return err
	}
	page := strings.TrimSuffix(out, filepath.Ext(out)) + ".html"
	if err := reports.WriteRampFile(page, ramps); err != nil {
		return err
	}
	fmt.Println("wrote", out, "and", page)
	return nil
}

// calibrateUsage prints calibrate's usage.
func calibrateUsage(fs *flag.FlagSet) {
	fmt.Fprintln(fs.Output(), "usage: commbench calibrate [--max-rate N] [--step-duration D] [--budget D] [--client C] [--endpoint-delay D] [--out FILE]")
	fmt.Fprintln(fs.Output(), "       commbench calibrate --ramp [--max-rate N] [--ramp-duration D] [--client C] [--endpoint-delay D] [--out FILE]")
	fmt.Fprintln(fs.Output(), "\nMeasures the load generator's own floor (p50, p99 at 1,000 rps) and ceiling (highest rate with")
	fmt.Fprintln(fs.Output(), "at least 99% achieved and at most 1% of the sends over 1 ms late) and CPU per request (at 5,000 rps)")
	fmt.Fprintln(fs.Output(), "against a null endpoint on loopback,")
	fmt.Fprintln(fs.Output(), "and saves it for runs to record.")
	fmt.Fprintln(fs.Output())
	fs.PrintDefaults()
}

// printCalibration prints a calibration's ceiling, floor and CPU per request.
func printCalibration(c *harness.CalibrationRun) {
	capped := ""
	if c.Capped {
		capped = " (the highest rate tried: raise --max-rate to find the real one)"
	}
	fmt.Printf("\nceiling %.0f rps%s; floor at %.0f rps: p50 %.3f ms, p99 %.3f ms; generator CPU %.1f µs per request at %.0f rps\n",
		c.CeilingRPS, capped, c.FloorRPS, c.FloorMs.P50, c.FloorMs.P99, c.CPUUsPerReq, c.CPURate)
}

const rampRow = "%6s %8s %8s %8s %6s %8s %8s %8s %6s %6s %7s %6s  %s\n"

// printRampSecond prints one second of calibrate --ramp.
func printRampSecond(s results.RampSecond) {
	steal := "-"
	if s.StealCores >= 0 {
		steal = fmt.Sprintf("%.2f", s.StealCores)
	}
	var by []string
	for _, c := range slices.Sorted(maps.Keys(s.LateByCause)) {
		by = append(by, fmt.Sprintf("%s %d", c, s.LateByCause[c]))
	}
	fmt.Printf(rampRow, fmt.Sprintf("%.1f", s.T), fmt.Sprintf("%.0f", s.OfferedRPS), fmt.Sprintf("%.0f", s.SentRPS), fmt.Sprintf("%.0f", s.AchievedRPS),
		fmt.Sprint(s.LateSends), fmt.Sprintf("%.3f", s.SendLagP50Ms), fmt.Sprintf("%.3f", s.SendLagP99Ms), fmt.Sprintf("%.3f", s.SendLagMaxMs),
		fmt.Sprintf("%.2f", s.CPUCores), steal, fmt.Sprint(s.Workers), fmt.Sprint(s.Conns), strings.Join(by, ", "))
}

// flagSet says whether the flag name was given.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
