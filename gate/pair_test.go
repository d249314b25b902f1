package gate

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/results"
)

func TestUTestKnownPValues(t *testing.T) {
	for _, tt := range []struct {
		name string
		a, b []float64
		want float64 // two-sided, exact; R's wilcox.test gives the same
	}{
		// 3 against 3, apart: the smallest p there is, 2/C(6,3).
		{"3v3 apart", []float64{1, 2, 3}, []float64{4, 5, 6}, 0.1},
		// 5 against 5, apart: 2/C(10,5).
		{"5v5 apart", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 2.0 / 252},
		// Interleaved: no evidence (R: 0.6905).
		{"5v5 interleaved", []float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}, 0.6905},
		// All equal: the test cannot run; no difference.
		{"all equal", []float64{1, 1, 1}, []float64{1, 1, 1}, 1},
		// An empty side.
		{"empty", nil, []float64{1}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := UTest(tt.a, tt.b); math.Abs(got-tt.want) > 1e-4 {
				t.Errorf("got p %g, want %g", got, tt.want)
			}
		})
	}
}

func TestUTestMinP(t *testing.T) {
	for _, tt := range []struct {
		n, m int
		want float64
	}{
		{3, 3, 0.1},             // whole-run p99s, 3 a side: never below 0.1
		{5, 5, 2.0 / 252},       // enough for 0.05
		{12, 12, 2.0 / 2704156}, // 2 runs × 6 blocks a side: C(24,12) = 2,704,156
		{0, 5, 1},
	} {
		if got := UTestMinP(tt.n, tt.m); math.Abs(got-tt.want) > 1e-9*tt.want {
			t.Errorf("UTestMinP(%d, %d): got %g, want %g", tt.n, tt.m, got, tt.want)
		}
	}
}

func TestProportionTest(t *testing.T) {
	// 10 of 1,000 against 20 of 1,000: z = 1.8394, two-sided p = 0.0658.
	if got := ProportionTest(10, 1000, 20, 1000); math.Abs(got-0.0658) > 1e-3 {
		t.Errorf("got %g, want 0.0658", got)
	}
	// Nothing on either side: no difference.
	if got := ProportionTest(0, 1000, 0, 1000); got != 1 {
		t.Errorf("zero counts: got %g, want 1", got)
	}
}

func TestWilson(t *testing.T) {
	for _, tt := range []struct {
		k, n   int
		lo, hi float64 // from the textbook formula, z = 1.96
	}{
		{0, 20, 0, 0.1611},
		{18, 20, 0.6990, 0.9721},
		{5, 10, 0.2366, 0.7634},
	} {
		lo, hi := Wilson(tt.k, tt.n)
		if math.Abs(lo-tt.lo) > 1e-3 || math.Abs(hi-tt.hi) > 1e-3 {
			t.Errorf("Wilson(%d, %d): got [%.4f, %.4f], want [%.4f, %.4f]", tt.k, tt.n, lo, hi, tt.lo, tt.hi)
		}
	}
}

// fakeRun writes a run folder with one pattern whose API and notify
// latencies, second by second, are latency(second, i) for i < 400, and
// returns it; edit changes its summary.
func fakeRun(t *testing.T, key string, seconds int, latency func(sec, i int) time.Duration, edit func(*results.Summary)) Run {
	t.Helper()
	dir := t.TempDir()
	start := time.Unix(1_800_000_000, 0)
	for _, suffix := range []string{"-api.hlog", "-notify.hlog"} {
		f, err := os.Create(filepath.Join(dir, key+suffix))
		if err != nil {
			t.Fatal(err)
		}
		l, err := results.NewIntervalLog(f, start)
		if err != nil {
			t.Fatal(err)
		}
		for s := range seconds {
			h := results.NewHistogram()
			for i := range 400 {
				h.RecordValue(latency(s, i).Microseconds())
			}
			if err := l.Write(h, start.Add(time.Duration(s)*time.Second), start.Add(time.Duration(s+1)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	s := results.Summary{Requests: int64(400 * seconds), Accepted: int64(400 * seconds), AchievedRPS: 400, Drained: true, Validity: results.ValidityOK}
	if edit != nil {
		edit(&s)
	}
	series := results.Series{AttackEndS: float64(seconds)}
	for range seconds {
		series.AchievedRPS = append(series.AchievedRPS, s.AchievedRPS)
	}
	r := &results.Results{Order: []string{key}, Patterns: map[string]*results.Pattern{key: {Summary: s, Series: series}}}
	return Run{Dir: dir, Results: r}
}

// spread is a latency of 1 to 40 ms plus extra, varying a little with the
// second so that blocks differ.
func spread(extra time.Duration) func(sec, i int) time.Duration {
	return func(sec, i int) time.Duration {
		return time.Duration(i%40+1)*time.Millisecond + time.Duration(sec%3)*100*time.Microsecond + extra
	}
}

func side(name string, runs ...Run) Side { return Side{Name: name, Runs: runs} }

func TestComparePair(t *testing.T) {
	opts := PairOptions{Thresholds: Thresholds{P99Tolerance: 0.1, P99Floor: 2 * time.Millisecond, DropTolerance: 0.005, RateTolerance: 0.05}}
	for _, tt := range []struct {
		name             string
		key              string
		base, head       []Run
		wantFail         []string // "pattern metric"
		wantInconclusive string   // in Reasons
		wantNote         string   // in some row's note
	}{
		// The same numbers: nothing to see.
		{name: "same", key: "sync",
			base: []Run{fakeRun(t, "sync", 30, spread(0), nil), fakeRun(t, "sync", 30, spread(0), nil)},
			head: []Run{fakeRun(t, "sync", 30, spread(0), nil), fakeRun(t, "sync", 30, spread(0), nil)}},
		// +20 ms on every request: API and notify p99 regress.
		{name: "20ms slower", key: "sync",
			base:     []Run{fakeRun(t, "sync", 30, spread(0), nil), fakeRun(t, "sync", 30, spread(0), nil)},
			head:     []Run{fakeRun(t, "sync", 30, spread(20*time.Millisecond), nil), fakeRun(t, "sync", 30, spread(20*time.Millisecond), nil)},
			wantFail: []string{"sync api p99", "sync notify p99"}},
		// One head run of two 20 ms slower: the blocks say worse, but the
		// other interleaved pair does not: one run's luck, not a regression.
		{name: "one unlucky run", key: "sync",
			base:     []Run{fakeRun(t, "sync", 30, spread(0), nil), fakeRun(t, "sync", 30, spread(0), nil)},
			head:     []Run{fakeRun(t, "sync", 30, spread(20*time.Millisecond), nil), fakeRun(t, "sync", 30, spread(0), nil)},
			wantNote: "but not in pair 2 (40.13ms then 40.13ms)"},
		// +1 ms on a 40 ms p99: significant, but under the floor (10%).
		{name: "under the floor", key: "sync",
			base: []Run{fakeRun(t, "sync", 30, spread(0), nil)},
			head: []Run{fakeRun(t, "sync", 30, spread(time.Millisecond), nil)}},
		// Lost reactions in async: a regression whatever the test says.
		{name: "async lost", key: "async",
			base:     []Run{fakeRun(t, "async", 30, spread(0), nil)},
			head:     []Run{fakeRun(t, "async", 30, spread(0), func(s *results.Summary) { s.Lost = 3 })},
			wantFail: []string{"async lost"}},
		// 5% dead-lettered against none.
		{name: "dead letters", key: "async",
			base:     []Run{fakeRun(t, "async", 30, spread(0), nil)},
			head:     []Run{fakeRun(t, "async", 30, spread(0), func(s *results.Summary) { s.DeadLettered = 600 })},
			wantFail: []string{"async dead-lettered"}},
		// The head's pattern was generator-bound: its numbers are not decided on.
		{name: "generator-bound", key: "sync",
			base:             []Run{fakeRun(t, "sync", 30, spread(0), nil)},
			head:             []Run{fakeRun(t, "sync", 30, spread(20*time.Millisecond), func(s *results.Summary) { s.Validity = results.ValidityGeneratorBound })},
			wantInconclusive: "generator-bound"},
		// 4 s of load: one 5-s block a side, a test that can never reach 0.05.
		{name: "too few blocks", key: "sync",
			base:             []Run{fakeRun(t, "sync", 4, spread(0), nil)},
			head:             []Run{fakeRun(t, "sync", 4, spread(20*time.Millisecond), nil)},
			wantInconclusive: "can never reach p < 0.05"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ComparePair(side("base", tt.base...), side("head", tt.head...), opts)
			var got []string
			for _, row := range r.Failures() {
				got = append(got, row.Pattern+" "+string(row.Metric))
			}
			if !slices.Equal(got, tt.wantFail) {
				t.Errorf("failures: got %q, want %q\n%s", got, tt.wantFail, text(t, r))
			}
			if tt.wantNote != "" && !slices.ContainsFunc(r.Rows, func(row Row) bool { return strings.Contains(row.Note, tt.wantNote) }) {
				t.Errorf("no row notes %q\n%s", tt.wantNote, text(t, r))
			}
			if inc := r.Inconclusive(); inc != (tt.wantInconclusive != "") || !strings.Contains(r.Reasons(), tt.wantInconclusive) {
				t.Errorf("inconclusive %v (%q), want %q\n%s", inc, r.Reasons(), tt.wantInconclusive, text(t, r))
			}
		})
	}
}

func text(t *testing.T, r Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestComparePairMarkdown(t *testing.T) {
	base := side("base main (1a2b3c)", fakeRun(t, "sync", 30, spread(0), nil))
	head := side("head", fakeRun(t, "sync", 30, spread(20*time.Millisecond), nil))
	r := ComparePair(base, head, PairOptions{Thresholds: Thresholds{P99Tolerance: 0.1, P99Floor: 2 * time.Millisecond}})
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### commbench gate: FAIL", "| pattern | metric | base | head | change | p | verdict |", "| sync | api p99 | 40.13ms | 60.13ms | +20.00ms (+49.8%) | 0.002 | **REGRESSION** |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, b.String())
		}
	}
}
