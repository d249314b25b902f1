package host

import (
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name      string
		have      string
		busy, tot time.Duration
		err       bool
	}{
		// user 100 nice 0 system 50 idle 800 iowait 10 irq 5 softirq 5 steal 30 guest 20: guest is inside user.
		{"steal counts as busy, guest is not added", "cpu  100 0 50 800 10 5 5 30 20 0\ncpu0 1 2 3 4\n", 1900 * time.Millisecond, 10000 * time.Millisecond, false},
		// a kernel that lists only user nice system idle
		{"four fields", "cpu 1 2 3 4\n", 60 * time.Millisecond, 100 * time.Millisecond, false},
		// the per-CPU lines are not the total
		{"no aggregate line", "cpu0 1 2 3 4\n", 0, 0, true},
		{"too few fields", "cpu 1 2\n", 0, 0, true},
		{"not a number", "cpu 1 x 3 4\n", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.have))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if got.Busy != tt.busy || got.Total != tt.tot {
				t.Errorf("got busy %v total %v, want %v %v", got.Busy, got.Total, tt.busy, tt.tot)
			}
		})
	}
}

func TestBusyCores(t *testing.T) {
	prev := Times{Busy: 10 * time.Second}
	cur := Times{Busy: 11500 * time.Millisecond}
	if got := busyCores(prev, cur, time.Second); got != 1.5 {
		t.Errorf("busyCores = %v, want 1.5", got)
	}
	if got := busyCores(cur, prev, time.Second); got != 0 {
		t.Errorf("a counter that went back gives %v, want 0", got)
	}
	if got := busyCores(prev, cur, 0); got != 0 {
		t.Errorf("no wall time gives %v, want 0", got)
	}
}

func TestCPUSampleReadsThisMachine(t *testing.T) {
	c, err := NewCPU()
	if err != nil {
		t.Skip(err)
	}
	// Keep one core busy for a while: the machine was at least a little busy.
	end := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(end) {
	}
	got, err := c.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if got < 0 || got > float64(Cores())+0.5 {
		t.Errorf("busy cores = %v, want within [0, %d]", got, Cores())
	}
}
