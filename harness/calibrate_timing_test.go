package harness_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/loadgen"
)

// nullChildEnv, set, makes this test binary the null endpoint (TestMain
// calls nullChild): the generator's CPU is then this process's alone, as
// in commbench calibrate, whose endpoint is a child too.
const nullChildEnv = "COMMBENCH_TEST_NULL_ENDPOINT"

// nullChild serves the null endpoint on a free loopback port, prints its
// URL, and returns when stdin closes.
func nullChild() int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	fmt.Printf("http://%s\n", ln.Addr())
	if err := harness.ServeNull(ctx, ln, 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startNullChild starts this test binary as the null endpoint and returns
// its URL; it ends with the benchmark.
func startNullChild(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nullChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		b.Fatalf("the null endpoint said %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}

// BenchmarkGeneratorCPU is the generator's CPU time per request (user +
// system, all of this process's threads: the null endpoint is a child
// process) at a paced rate, as commbench calibrate measures it: one op is
// one request sent on schedule, answered and recorded; cpu-µs/req is the
// figure to watch (ns/op is the schedule's interval, 1/rate). The issue's
// goal: ≤ 40 µs at 20,000 rps on 2 cores.
//
//	go test ./harness -run '^$' -bench GeneratorCPU -benchtime 40000x
func BenchmarkGeneratorCPU(b *testing.B) {
	target := startNullChild(b)
	for _, v := range []struct {
		client loadgen.Client
		rate   float64
	}{
		{loadgen.ClientFastHTTP, 5000},
		{loadgen.ClientFastHTTP, 20000},
		{loadgen.ClientNetHTTP, 20000},
	} {
		b.Run(fmt.Sprintf("%s/%.0frps", v.client, v.rate), func(b *testing.B) {
			b.ReportAllocs()
			// Not b.Loop: one Attack sends all b.N hits on schedule, as a run
			// does.
			pacer, err := loadgen.NewStagePacer(loadgen.Stage{For: time.Duration(float64(b.N) / v.rate * float64(time.Second)), From: v.rate, To: v.rate})
			if err != nil {
				b.Fatal(err)
			}
			rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due})
			cpu0 := cpuTime()
			b.ResetTimer()
			err = loadgen.Attack(context.Background(), loadgen.AttackOptions{
				Target: target, Pacer: pacer, KeepAlive: true, MaxWorkers: harness.CalibrateMaxWorkers, Client: v.client,
			}, rec)
			b.StopTimer()
			cpu := cpuTime() - cpu0
			if err != nil {
				b.Fatal(err)
			}
			t := rec.Totals()
			if t.Accepted != int64(pacer.Total()) {
				b.Fatalf("%d of %d accepted", t.Accepted, pacer.Total())
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(t.Requests), "cpu-µs/req")
			b.ReportMetric(100*float64(t.Late)/float64(t.Requests), "late-%")
		})
	}
}

// cpuTime is this process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
