package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLatencyDistributionMatchesQuantiles(t *testing.T) {
	p := New(Config{P50: 5 * time.Millisecond, P99: 40 * time.Millisecond})
	const n = 200_000
	d := make([]time.Duration, n)
	for i := range d {
		d[i] = p.Latency()
	}
	slices.Sort(d)
	p50, p99 := d[n/2], d[n*99/100]
	// Sampling error of a quantile at n=200k is well under 5%.
	if p50 < 4750*time.Microsecond || p50 > 5250*time.Microsecond {
		t.Errorf("p50: got %v, want about 5ms", p50)
	}
	if p99 < 36*time.Millisecond || p99 > 44*time.Millisecond {
		t.Errorf("p99: got %v, want about 40ms", p99)
	}
	if d[n-1] > 400*time.Millisecond {
		t.Errorf("max: got %v, want at most 10 x p99", d[n-1])
	}
}

func TestOutageFailsAtOnce(t *testing.T) {
	p := New(Config{})
	on, off := true, false
	if err := p.Set(Switches{Outage: &on}); err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background()); !errors.Is(err, ErrOutage) {
		t.Errorf("during outage: got %v, want ErrOutage", err)
	}
	p.Set(Switches{Outage: &off})
	if err := p.Send(context.Background()); err != nil {
		t.Errorf("after outage: got %v, want nil", err)
	}
	if s := p.State(); s.Refused != 1 || s.Sent != 1 {
		t.Errorf("counts: got refused=%d sent=%d, want 1 and 1", s.Refused, s.Sent)
	}
}

func TestErrorRateOneAlwaysFails(t *testing.T) {
	p := New(Config{P50: time.Microsecond, P99: time.Microsecond, ErrorRate: 1})
	for range 10 {
		if err := p.Send(context.Background()); !errors.Is(err, ErrFailed) {
			t.Fatalf("got %v, want ErrFailed", err)
		}
	}
}

func TestCapacityMakesCallersWait(t *testing.T) {
	p := New(Config{P50: time.Hour, P99: time.Hour, Capacity: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan error)
	go func() { first <- p.Send(ctx) }()
	// Wait until the first call holds the only slot.
	for p.State().InFlight != 1 {
		time.Sleep(time.Millisecond)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if err := p.Send(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second call with the slot taken: got %v, want a deadline error", err)
	}
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first call: got %v, want canceled", err)
	}
}

func TestSetValidates(t *testing.T) {
	p := New(Config{})
	bad := []Switches{{Slowdown: ptr(0.0)}, {Slowdown: ptr(-2.0)}, {ErrorRate: ptr(1.5)}}
	for _, s := range bad {
		if err := p.Set(s); err == nil {
			t.Errorf("Set(%+v): got nil error", s)
		}
	}
	if err := p.Set(Switches{Slowdown: ptr(5.0)}); err != nil || p.State().Slowdown != 5 {
		t.Errorf("Set slowdown 5: err=%v state=%v", err, p.State().Slowdown)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		have Config
		ok   bool
	}{
		{"zero takes defaults", Config{}, true},
		{"p99 below p50", Config{P50: 10 * time.Millisecond, P99: time.Millisecond}, false},
		{"negative capacity", Config{Capacity: -1}, false},
		{"error rate above 1", Config{ErrorRate: 2}, false},
	}
	for _, tt := range tests {
		if err := tt.have.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: got %v", tt.name, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func BenchmarkLatency(b *testing.B) {
	p := New(Config{})
	b.ReportAllocs()
	for b.Loop() {
		p.Latency()
	}
}

func ExampleProvider_Set() {
	p := New(Config{P50: 5 * time.Millisecond, P99: 40 * time.Millisecond, Capacity: 64})
	on := true
	p.Set(Switches{Outage: &on})
	fmt.Println(p.Send(context.Background()))
	// Output: provider: outage
}

func TestDelayAddsToEveryCall(t *testing.T) {
	p := New(Config{P50: time.Millisecond, P99: time.Millisecond, Capacity: 4})
	var sw Switches
	if err := json.Unmarshal([]byte(`{"delay":"30ms"}`), &sw); err != nil {
		t.Fatal(err)
	}
	if err := p.Set(sw); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.Send(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("a call took %v with a 30ms delay", d)
	}
	if err := p.Set(Switches{Delay: ptr(Duration(-1))}); err == nil {
		t.Error("a negative delay was accepted")
	}
	if b, _ := json.Marshal(p.State()); !strings.Contains(string(b), `"delay":"30ms"`) {
		t.Errorf("state %s does not show the delay", b)
	}
}

func TestCallDelaySaturates(t *testing.T) {
	for _, tt := range []struct {
		latency  time.Duration
		slowdown float64
		delay    time.Duration
		want     time.Duration
	}{
		{time.Millisecond, 1, 0, time.Millisecond},                            // normal
		{time.Millisecond, 5, 100 * time.Millisecond, 105 * time.Millisecond}, // slowed and delayed
		{time.Millisecond, 1e15, 0, maxCallDelay},                             // 1e21 ns: wrapped negative before
		{time.Millisecond, 1, time.Duration(math.MaxInt64), maxCallDelay},     // the sum overflowed
	} {
		if got := callDelay(tt.latency, tt.slowdown, tt.delay); got != tt.want {
			t.Errorf("callDelay(%v, %g, %v) = %v, want %v", tt.latency, tt.slowdown, tt.delay, got, tt.want)
		}
	}
}
