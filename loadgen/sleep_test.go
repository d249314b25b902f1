package loadgen

import (
	"context"
	"testing"
	"time"
)

// TestPreciseWaitSleepsItself: Pace waits out the due time with its own
// sleep, in slices of at most maxPaceSleep, and hands vegeta 0; a cancelled
// context stops the attack instead of sleeping on.
func TestPreciseWaitSleepsItself(t *testing.T) {
	sp, err := NewStagePacer(Stage{For: 10 * time.Second, From: 10, To: 10}) // a hit every 100 ms
	if err != nil {
		t.Fatal(err)
	}
	var slept []time.Duration
	p := preciseWait{StagePacer: sp, ctx: context.Background(), sleep: func(d time.Duration) {
		slept = append(slept, d)
		time.Sleep(d)
	}}
	// Hit 2 is due at 200 ms; at 170 ms about 30 ms are left.
	wait, stop := p.Pace(170*time.Millisecond, 1)
	if wait != 0 || stop {
		t.Fatalf("Pace = %v, %v; want 0, false (it waited itself)", wait, stop)
	}
	var total time.Duration
	for _, d := range slept {
		if d > maxPaceSleep {
			t.Errorf("slept %v in one go, more than %v", d, maxPaceSleep)
		}
		total += d
	}
	if total < 25*time.Millisecond || total > 30*time.Millisecond {
		t.Errorf("slept %v in all (%v), want about 30 ms", total, slept)
	}
	// Already due: no sleep.
	slept = nil
	if wait, _ := p.Pace(300*time.Millisecond, 1); wait != 0 || len(slept) != 0 {
		t.Errorf("a hit already due: wait %v, slept %v", wait, slept)
	}
	// Every hit sent: stop, as the StagePacer says.
	if _, stop := p.Pace(0, sp.Total()); !stop {
		t.Error("Pace did not stop after the last hit")
	}
	// A cancelled context stops the attack rather than sleep.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.ctx = ctx
	slept = nil
	if _, stop := p.Pace(0, 5); !stop || len(slept) != 0 {
		t.Errorf("cancelled: stop %v after %d sleeps, want a stop and none", stop, len(slept))
	}
}

// BenchmarkHighResSleep shows the oversleep of one 200 µs sleep, the wait
// between hits at 5,000 rps: time.Sleep (the runtime's timers) against
// highResSleep (nanosleep). Read ns/op minus 200,000.
func BenchmarkHighResSleep(b *testing.B) {
	const d = 200 * time.Microsecond
	b.Run("time.Sleep", func(b *testing.B) {
		for b.Loop() {
			time.Sleep(d)
		}
	})
	b.Run("nanosleep", func(b *testing.B) {
		for b.Loop() {
			highResSleep(d)
		}
	})
	b.Run("nanosleep, 1 ns timer slack", func(b *testing.B) {
		defer tightTimerSlack()()
		for b.Loop() {
			highResSleep(d)
		}
	})
}
