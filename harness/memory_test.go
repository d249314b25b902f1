package harness_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/loadgen"
)

// TestGeneratorMemory measures the load generator's own memory through a
// long attack: COMMBENCH_SOAK=10m go test ./harness -run GeneratorMemory -v
// (COMMBENCH_SOAK_RATE sets the rate, default 5000). The target is a null
// endpoint in its own process (commbench calibrate --serve-null), so the
// figure is the generator's alone. It fails when the generator's RSS passes
// 150 MB. Skipped unless COMMBENCH_SOAK is set: it takes minutes.
func TestGeneratorMemory(t *testing.T) {
	soak := os.Getenv("COMMBENCH_SOAK")
	if soak == "" {
		t.Skip("set COMMBENCH_SOAK=10m to measure the generator's memory through a long attack")
	}
	d, err := time.ParseDuration(soak)
	if err != nil {
		t.Fatalf("COMMBENCH_SOAK=%q: %v", soak, err)
	}
	rate := 5000.0
	if s := os.Getenv("COMMBENCH_SOAK_RATE"); s != "" {
		if rate, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatalf("COMMBENCH_SOAK_RATE=%q: %v", s, err)
		}
	}
	null := exec.Command(commbench(t), "calibrate", "--serve-null")
	stdin, _ := null.StdinPipe() // the endpoint ends when this closes
	stdout, _ := null.StdoutPipe()
	if err := null.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); null.Wait() }()
	target, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("null endpoint: %v", err)
	}
	target = strings.TrimSpace(target)

	pacer, err := loadgen.NewStagePacer(loadgen.Stage{For: d, From: rate, To: rate})
	if err != nil {
		t.Fatal(err)
	}
	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due})
	done := make(chan error, 1)
	go func() {
		done <- loadgen.Attack(context.Background(), loadgen.AttackOptions{Target: target, Pacer: pacer, FirstID: 1, KeepAlive: true}, rec)
	}()
	start, peak := time.Now(), 0.0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case err := <-done:
			tot := rec.Totals()
			t.Logf("%v at %.0f rps: %d requests, %d accepted, %d late; RSS peak %.1f MB, at the end %.1f MB",
				d, rate, tot.Requests, tot.Accepted, tot.Late, peak, rssMB(t))
			if err != nil {
				t.Fatal(err)
			}
			if peak > 150 {
				t.Errorf("the generator's RSS peaked at %.1f MB, want under 150 MB", peak)
			}
			return
		case now := <-tick.C:
			sec := rec.Tick(now)
			mb := rssMB(t)
			peak = max(peak, mb)
			if i%20 == 0 {
				t.Logf("%4.0fs RSS %6.1f MB, sent %d/s, p99 %.1f ms, late %d", time.Since(start).Seconds(), mb, sec.Sent, sec.APIP99, sec.Late)
			}
		}
	}
}

func rssMB(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
