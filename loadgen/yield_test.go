package loadgen

import (
	"testing"
	"time"
)

func TestYielderDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	y := yielder{last: t0}
	cases := []struct {
		name      string
		since     time.Duration // since the last yield
		nextAfter time.Duration // the next hit, from now
		want      bool
	}{
		{"too soon after the last yield", 2 * time.Millisecond, time.Second, false},
		{"slack enough after 4 ms", yieldEvery, yieldSlack, true},
		{"next hit too close at 4 ms", yieldEvery, yieldSlack - time.Microsecond, false},
		{"deadline forces it even with a hit due", yieldDeadline, 0, true},
		{"hit overdue before the deadline", 7 * time.Millisecond, -time.Millisecond, false},
	}
	for _, c := range cases {
		now := t0.Add(c.since)
		if got := y.due(now, now.Add(c.nextAfter)); got != c.want {
			t.Errorf("%s: due = %v, want %v", c.name, got, c.want)
		}
	}
	// The deadline stays below the runtime monitor's 10 ms forced preemption.
	if yieldDeadline >= 10*time.Millisecond {
		t.Errorf("yieldDeadline %v is not below the runtime's 10 ms preemption", yieldDeadline)
	}
}

func TestYieldRelay(t *testing.T) {
	var y yielder
	t0 := time.Now()
	y.start(t0)
	for range 100 {
		y.yield() // would block forever without the relay
	}
	if !y.last.After(t0) {
		t.Errorf("last = %v, want after the start %v", y.last, t0)
	}
	y.stop()
}
