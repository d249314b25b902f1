package loadgen

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"
)

// integral is the reference for the hits due by t, written independently of
// the pacer: a sum over stages of the area under the rate, by the trapezoid.
func integral(stages []Stage, t time.Duration) float64 {
	var h float64
	for _, st := range stages {
		if t <= 0 {
			break
		}
		d := min(t, st.For)
		end := st.From + (st.To-st.From)*float64(d)/float64(st.For)
		h += d.Seconds() * (st.From + end) / 2
		t -= d
	}
	return h
}

// simulate drives p the way vegeta's attacker does, in simulated time: ask
// Pace, advance by the wait, send one hit; until Pace says stop. It returns
// the time of every hit.
func simulate(t *testing.T, p StagePacer) []time.Duration {
	t.Helper()
	var (
		elapsed time.Duration
		times   []time.Duration
	)
	for hits := uint64(0); ; hits++ {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			return times
		}
		if wait < 0 {
			t.Fatalf("Pace(%s, %d): got wait %s, want >= 0", elapsed, hits, wait)
		}
		if hits > p.Total()+1 {
			t.Fatalf("Pace kept going past %d hits", p.Total())
		}
		elapsed += wait
		times = append(times, elapsed)
	}
}

func TestStagePacer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		have      []Stage
		wantTotal uint64
		wantDur   time.Duration
		wantAt    map[uint64]time.Duration // hit number (from 1) → its due time
	}{
		{
			// 100 hits/s for 10s: a hit every 10ms, the last at 10s.
			name:      "constant",
			have:      []Stage{{For: 10 * time.Second, From: 100, To: 100}},
			wantTotal: 1000,
			wantDur:   10 * time.Second,
			wantAt:    map[uint64]time.Duration{1: 10 * time.Millisecond, 500: 5 * time.Second, 1000: 10 * time.Second},
		},
		{
			// 0→100 hits/s over 10s: H(t) = 5t², so hit n is at √(n/5) s.
			name:      "ramp up from zero",
			have:      []Stage{{For: 10 * time.Second, From: 0, To: 100}},
			wantTotal: 500,
			wantDur:   10 * time.Second,
			wantAt:    map[uint64]time.Duration{1: secs(math.Sqrt(1.0 / 5)), 125: 5 * time.Second, 500: 10 * time.Second},
		},
		{
			// 100→0 hits/s over 10s: H(t) = 100t − 5t²; hit 375 at t = 10 − √25 = 5s.
			name:      "ramp down to zero",
			have:      []Stage{{For: 10 * time.Second, From: 100, To: 0}},
			wantTotal: 500,
			wantDur:   10 * time.Second,
			wantAt:    map[uint64]time.Duration{1: secs((100 - math.Sqrt(10000-20)) / 10), 375: 5 * time.Second, 500: 10 * time.Second},
		},
		{
			// 500→5000 over 5s after 20s at 500, as in the surge profile:
			// 10000 + 13750 hits; hit 10000 ends the first stage.
			name: "ramp up between constants",
			have: []Stage{
				{For: 20 * time.Second, From: 500, To: 500},
				{For: 5 * time.Second, From: 500, To: 5000},
				{For: 30 * time.Second, From: 5000, To: 5000},
				{For: 5 * time.Second, From: 5000, To: 500},
				{For: 30 * time.Second, From: 500, To: 500},
			},
			wantTotal: 10000 + 13750 + 150000 + 13750 + 15000,
			wantDur:   90 * time.Second,
			wantAt:    map[uint64]time.Duration{10000: 20 * time.Second, 23750: 25 * time.Second, 173750: 55 * time.Second},
		},
		{
			// 10 hits/s, a 2s pause, 10 hits/s: hit 10 ends the first stage,
			// hit 11 comes 100ms into the third, at 3.1s.
			name: "zero-rate stage between two stages",
			have: []Stage{
				{For: time.Second, From: 10, To: 10},
				{For: 2 * time.Second, From: 0, To: 0},
				{For: time.Second, From: 10, To: 10},
			},
			wantTotal: 20,
			wantDur:   4 * time.Second,
			wantAt:    map[uint64]time.Duration{10: time.Second, 11: 3100 * time.Millisecond, 20: 4 * time.Second},
		},
		{
			// A silent start: nothing for 5s, then 10 hits/s.
			name: "leading zero-rate stage",
			have: []Stage{
				{For: 5 * time.Second, From: 0, To: 0},
				{For: time.Second, From: 10, To: 10},
			},
			wantTotal: 10,
			wantDur:   6 * time.Second,
			wantAt:    map[uint64]time.Duration{1: 5100 * time.Millisecond},
		},
		{
			// 10→0 over 2s (10 hits), then a silent tail the pacer must not wait out.
			name: "ramp to zero then silence",
			have: []Stage{
				{For: 2 * time.Second, From: 10, To: 0},
				{For: time.Minute, From: 0, To: 0},
			},
			wantTotal: 10,
			wantDur:   62 * time.Second,
			wantAt:    map[uint64]time.Duration{10: 2 * time.Second},
		},
		{
			// 1000 stages of 1ms alternating 0 and 2000 hits/s: 2 hits in each
			// busy stage, each stage's second hit at its end.
			name:      "many tiny stages",
			have:      tiny(1000, time.Millisecond, 0, 2000),
			wantTotal: 1000,
			wantDur:   time.Second,
			wantAt:    map[uint64]time.Duration{2: 2 * time.Millisecond, 4: 4 * time.Millisecond, 1000: time.Second},
		},
		{
			// 2.5 hits/s for 1s: the integral is 2.5, so 2 whole hits.
			name:      "fractional integral",
			have:      []Stage{{For: time.Second, From: 2.5, To: 2.5}},
			wantTotal: 2,
			wantDur:   time.Second,
			wantAt:    map[uint64]time.Duration{1: 400 * time.Millisecond, 2: 800 * time.Millisecond},
		},
		{
			// 0.1 hits/s for 10s three times: 0.1·10 = 1 each, whole despite 0.1
			// not being exact in binary.
			name: "fractional rates adding up to whole hits",
			have: []Stage{
				{For: 10 * time.Second, From: 0.1, To: 0.1},
				{For: 10 * time.Second, From: 0.1, To: 0.1},
				{For: 10 * time.Second, From: 0.1, To: 0.1},
			},
			wantTotal: 3,
			wantDur:   30 * time.Second,
			wantAt:    map[uint64]time.Duration{1: 10 * time.Second, 3: 30 * time.Second},
		},
		{
			// No stages: nothing to send.
			name:      "no stages",
			have:      nil,
			wantTotal: 0,
			wantDur:   0,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewStagePacer(tc.have...)
			if err != nil {
				t.Fatalf("NewStagePacer: %v", err)
			}
			if got := p.Total(); got != tc.wantTotal {
				t.Errorf("Total: got %d, want %d", got, tc.wantTotal)
			}
			if got := p.Duration(); got != tc.wantDur {
				t.Errorf("Duration: got %s, want %s", got, tc.wantDur)
			}
			times := simulate(t, p)
			if got := uint64(len(times)); got != tc.wantTotal {
				t.Fatalf("simulated hits: got %d, want %d", got, tc.wantTotal)
			}
			for i, at := range times {
				n := float64(i + 1)
				// 1µs of slack: well under a hit at any rate here, well over
				// the rounding of due times to whole nanoseconds.
				lo, hi := integral(tc.have, at-time.Microsecond), integral(tc.have, at+time.Microsecond)
				if n < lo-1e-9 || n > hi+1e-9 {
					t.Fatalf("hit %d at %s: integral there is %.6f..%.6f, want %g", i+1, at, lo, hi, n)
				}
				if at > p.Duration() {
					t.Fatalf("hit %d at %s: after the end, %s", i+1, at, p.Duration())
				}
				if i > 0 && at < times[i-1] {
					t.Fatalf("hit %d at %s: before hit %d at %s", i+1, at, i, times[i-1])
				}
			}
			for n, want := range tc.wantAt {
				if got := times[n-1]; absDur(got-want) > time.Microsecond {
					t.Errorf("hit %d: got %s, want %s", n, got, want)
				}
			}
		})
	}
}

func TestStagePacerBehind(t *testing.T) {
	p, err := NewStagePacer(Stage{For: time.Second, From: 10, To: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		elapsed  time.Duration
		hits     uint64
		wantWait time.Duration
		wantStop bool
	}{
		// On time: hit 4 is due at 400ms.
		{"on time", 350 * time.Millisecond, 3, 50 * time.Millisecond, false},
		// Behind: hit 4 was due at 400ms, send at once.
		{"behind", 900 * time.Millisecond, 3, 0, false},
		// Past the last stage with hits owed: send them, late, rather than drop them.
		{"owed after the end", 2 * time.Second, 9, 0, false},
		// All 10 sent.
		{"done", 900 * time.Millisecond, 10, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wait, stop := p.Pace(tc.elapsed, tc.hits)
			if wait != tc.wantWait || stop != tc.wantStop {
				t.Errorf("Pace(%s, %d): got %s, %t, want %s, %t", tc.elapsed, tc.hits, wait, stop, tc.wantWait, tc.wantStop)
			}
		})
	}
}

func TestStagePacerRate(t *testing.T) {
	p, err := NewStagePacer(
		Stage{For: 10 * time.Second, From: 100, To: 100},
		Stage{For: 10 * time.Second, From: 100, To: 200},
		Stage{For: 5 * time.Second, From: 0, To: 0},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		have time.Duration
		want float64
	}{
		{-time.Second, 0},       // before the start
		{0, 100},                // first stage
		{10 * time.Second, 100}, // start of the ramp
		{15 * time.Second, 150}, // half-way up the ramp
		{21 * time.Second, 0},   // the pause
		{25 * time.Second, 0},   // after the end
	} {
		if got := p.Rate(tc.have); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Rate(%s): got %g, want %g", tc.have, got, tc.want)
		}
	}
}

func TestNewStagePacerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		have []Stage
		want error
	}{
		{"zero duration", []Stage{{For: 0, From: 1, To: 1}}, ErrStageDuration},                // a stage must last
		{"negative duration", []Stage{{For: -time.Second, From: 1, To: 1}}, ErrStageDuration}, // nor go back
		{"negative rate", []Stage{{For: time.Second, From: -1, To: 1}}, ErrStageRate},         // rates are >= 0
		{"NaN rate", []Stage{{For: time.Second, From: 1, To: math.NaN()}}, ErrStageRate},      // NaN is no rate
		{"infinite rate", []Stage{{For: time.Second, From: math.Inf(1), To: 1}}, ErrStageRate},
		{"too many hits", []Stage{{For: 1000 * time.Hour, From: 1e10, To: 1e10}}, ErrTooLong}, // past float64's exact integers
		{"too long", []Stage{{For: math.MaxInt64, From: 0, To: 0}, {For: 1, From: 0, To: 0}}, ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewStagePacer(tc.have...)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStagePacerString(t *testing.T) {
	p, err := NewStagePacer(
		Stage{For: 20 * time.Second, From: 500, To: 500},
		Stage{For: 5 * time.Second, From: 500, To: 5000},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := "Stages{500 hits/s for 20s, 500→5000 hits/s for 5s; 23750 hits in 25s}"
	if got := p.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := (StagePacer{}).String(), "Stages{0 hits in 0s}"; got != want {
		t.Errorf("zero value: got %q, want %q", got, want)
	}
}

func ExampleStagePacer() {
	p, err := NewStagePacer(
		Stage{For: 2 * time.Second, From: 0, To: 10}, // ramp up
		Stage{For: 2 * time.Second, From: 10, To: 10},
	)
	if err != nil {
		panic(err)
	}
	fmt.Println(p)
	fmt.Println(p.Due(1), p.Due(10), p.Due(p.Total()))
	// Output:
	// Stages{0→10 hits/s for 2s, 10 hits/s for 2s; 30 hits in 4s}
	// 632.455532ms 2s 4s
}

func BenchmarkPace(b *testing.B) {
	for _, n := range []int{1, 5, 100, 10000} { // stages: the search is O(log n)
		b.Run(fmt.Sprintf("stages=%d", n), func(b *testing.B) {
			p, err := NewStagePacer(tiny(n, time.Second, 500, 5000)...)
			if err != nil {
				b.Fatal(err)
			}
			total := p.Total()
			b.ReportAllocs()
			var hits uint64
			for b.Loop() {
				hits = (hits + 7919) % total
				p.Pace(0, hits)
			}
		})
	}
}

// tiny returns n stages of d each, alternating between rates a and b.
func tiny(n int, d time.Duration, a, b float64) []Stage {
	s := make([]Stage, n)
	for i := range s {
		r := a
		if i%2 == 1 {
			r = b
		}
		s[i] = Stage{For: d, From: r, To: r}
	}
	return s
}

func secs(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

func absDur(d time.Duration) time.Duration { return max(d, -d) }

func TestHitsCountsWhatIsDue(t *testing.T) {
	tests := []struct {
		name   string
		stages []Stage
	}{
		{"constant", []Stage{{For: 2 * time.Second, From: 100, To: 100}}},
		{"ramp up, pause, ramp down", []Stage{{For: time.Second, From: 0, To: 300}, {For: time.Second}, {For: 1500 * time.Millisecond, From: 200, To: 0}}},
		{"fractional rate", []Stage{{For: 3 * time.Second, From: 0.7, To: 0.7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewStagePacer(tt.stages...)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Hits(p.Duration()); got != p.Total() {
				t.Errorf("Hits(end) = %d, want Total %d", got, p.Total())
			}
			if got := p.Hits(0); got != 0 {
				t.Errorf("Hits(0) = %d, want 0", got)
			}
			// Hit n is due at Due(n) (whole nanoseconds: within one of the
			// exact time): by then n hits are due, and a millisecond before,
			// fewer.
			for n := uint64(1); n <= p.Total(); n++ {
				due := p.Due(n)
				if got := p.Hits(due + 1); got < n {
					t.Fatalf("Hits(Due(%d)=%v) = %d, want >= %d", n, due, got, n)
				}
				if due > time.Millisecond {
					if got := p.Hits(due - time.Millisecond); got >= n {
						t.Fatalf("Hits(Due(%d)-1ms) = %d, want < %d", n, got, n)
					}
				}
			}
		})
	}
}
