package harness

import (
	"context"
	"math"
	"net"
	"testing"
	"time"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
)

func TestCalibrateRamp(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeNull(ctx, ln, 5*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeNull: %v", err)
		}
	}()
	// Small and short: 0 → 1,000 rps over 2 s is 1,000 hits, whatever the
	// machine could do (no timing assertions).
	var progress int
	r, err := CalibrateRamp(ctx, RampOptions{
		Target: "http://" + ln.Addr().String(), MaxRate: 1000, Duration: 2 * time.Second, EndpointDelay: 5 * time.Millisecond,
		Progress: func(results.RampSecond) { progress++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Seconds) < 2 || progress != len(r.Seconds) {
		t.Fatalf("%d seconds, %d progress calls; want at least 2, one per second", len(r.Seconds), progress)
	}
	var offered, sent, achieved, workers float64
	for i, s := range r.Seconds {
		w := s.T
		if i > 0 {
			w -= r.Seconds[i-1].T
		}
		offered += s.OfferedRPS * w
		sent += s.SentRPS * w
		achieved += s.AchievedRPS * w
		workers = max(workers, float64(s.Workers))
		if s.CPUCores < 0 || s.SendLagMaxMs < s.SendLagP99Ms || s.SendLagP99Ms < s.SendLagP50Ms {
			t.Errorf("second %d: %+v", i, s)
		}
	}
	// Every hit of the schedule is offered, sent and answered once.
	for name, got := range map[string]float64{"offered": offered, "sent": sent, "achieved": achieved} {
		if math.Abs(got-1000) > 0.5 {
			t.Errorf("%s %g over the ramp, want 1000", name, got)
		}
	}
	if workers < 1 {
		t.Errorf("no worker in any second: the gauges were not read")
	}
	if r.Tool != "commbench" || r.MaxRate != 1000 || r.DurationS != 2 || r.EndpointDelayMs != 5 || r.Client != string(loadgen.ClientFastHTTP) {
		t.Errorf("ramp %+v", r)
	}
}

func TestSummarizeRamp(t *testing.T) {
	ok := func(t, rate float64) results.RampSecond {
		return results.RampSecond{T: t, OfferedRPS: rate, SentRPS: rate, AchievedRPS: rate, CPUCores: rate * 20e-6}
	}
	late := func(s results.RampSecond) results.RampSecond { s.LateSends = int64(s.SentRPS/100) + 1; return s }
	short := func(s results.RampSecond, by float64) results.RampSecond { s.AchievedRPS -= by; return s }
	for _, tc := range []struct {
		name    string
		delayMs float64
		seconds []results.RampSecond
		held    float64
		cpuUs   float64
	}{
		{"every second on time", 0, []results.RampSecond{ok(1, 1000), ok(2, 5000), ok(3, 9500)}, 9500, 20},
		// Held is where the first late second stops it, though later
		// seconds are on time again.
		{"late in the middle", 0, []results.RampSecond{ok(1, 1000), late(ok(2, 5000)), ok(3, 9500)}, 1000, 20},
		{"late in the first second", 0, []results.RampSecond{late(ok(1, 1000)), ok(2, 9500)}, 0, 20},
		// Achieved short by the ramp's rise over the endpoint's delay (10,000
		// rps over 4 s, 50 ms: 125 rps) is allowed; more is not.
		{"short within the delay's slack", 50, []results.RampSecond{short(ok(1, 1000), 130), ok(2, 9500)}, 9500, 20},
		{"short past the delay's slack", 0, []results.RampSecond{short(ok(1, 1000), 30), ok(2, 9500)}, 0, 20},
		// The slack after the schedule offers nothing: it neither holds nor
		// stops, nor counts in the CPU at the top.
		{"slack second", 0, []results.RampSecond{ok(1, 9500), {T: 2, CPUCores: 0.5}}, 9500, 20},
	} {
		r := &results.Ramp{MaxRate: 10000, DurationS: 4, EndpointDelayMs: tc.delayMs, Seconds: tc.seconds}
		SummarizeRamp(r)
		var lates int
		for _, s := range tc.seconds {
			if s.LateSends > 0 {
				lates++
			}
		}
		if r.LateSeconds != lates {
			t.Errorf("%s: %d late seconds, want %d", tc.name, r.LateSeconds, lates)
		}
		if r.HeldRPS != tc.held || math.Abs(r.CPUUsPerReqAtMax-tc.cpuUs) > 1e-9 {
			t.Errorf("%s: held %g, cpu %g µs; want %g, %g", tc.name, r.HeldRPS, r.CPUUsPerReqAtMax, tc.held, tc.cpuUs)
		}
	}
}
