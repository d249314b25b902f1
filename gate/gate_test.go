package gate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// summary is a healthy pattern of the ci profile: 12,000 requests at 400
// rps, a 10 ms API p99 and a 40 ms time-to-notify p99, nothing dropped or
// lost.
func summary() results.Summary {
	s := results.Summary{Requests: 12000, Accepted: 12000, OfferedRPS: 400, AchievedRPS: 400, Delivered: 12000}
	s.API.P99 = 10
	s.Notify.P99 = 40
	return s
}

// results builds a run of the given id with sync, async and hybrid all
// healthy, then lets edit change them.
func runResults(id string, edit func(map[string]*results.Summary)) *results.Results {
	r := &results.Results{Schema: results.SchemaVersion, Order: []string{"sync", "async", "hybrid"}, Patterns: map[string]*results.Pattern{}}
	r.Run.ID = id
	r.Run.Profile = "ci"
	sums := map[string]*results.Summary{}
	for _, k := range r.Order {
		s := summary()
		sums[k] = &s
	}
	if edit != nil {
		edit(sums)
	}
	for k, s := range sums {
		r.Patterns[k] = &results.Pattern{Summary: *s, Runs: 1}
	}
	return r
}

// th are the default thresholds of a profile: 25%, 2 ms, 1 point, 5%.
var th = Thresholds{P99Tolerance: 0.25, P99Floor: 2 * time.Millisecond, DropTolerance: 0.01, RateTolerance: 0.05}

// failures lists the failing rows as "pattern metric".
func failures(r Report) []string {
	var out []string
	for _, row := range r.Failures() {
		out = append(out, row.Pattern+" "+string(row.Metric))
	}
	return out
}

func TestCompare(t *testing.T) {
	for _, tt := range []struct {
		name string
		have func(map[string]*results.Summary) // applied to the run; the baseline is healthy
		base func(map[string]*results.Summary) // applied to the baseline, if any
		want []string                          // failing rows
	}{
		// The same numbers are no regression.
		{name: "identical"},
		// Twice the API p99 is a regression (20 ms > max(12.5, 12)).
		{name: "2x api p99", have: func(s map[string]*results.Summary) { s["sync"].API.P99 = 20 }, want: []string{"sync api p99"}},
		// +20% is inside the 25% tolerance.
		{name: "inside tolerance", have: func(s map[string]*results.Summary) { s["async"].API.P99 = 12; s["async"].Notify.P99 = 48 }},
		// Exactly on the limit passes: 10 ms + 25% = 12.5 ms.
		{name: "on the limit", have: func(s map[string]*results.Summary) { s["sync"].API.P99 = 12.5 }},
		// 1 ms to 2.9 ms is +190% but under the 2 ms floor: noise on a tiny latency.
		{name: "under the floor", base: func(s map[string]*results.Summary) { s["hybrid"].API.P99 = 1 }, have: func(s map[string]*results.Summary) { s["hybrid"].API.P99 = 2.9 }},
		// 1 ms to 3.5 ms is over the floor.
		{name: "over the floor", base: func(s map[string]*results.Summary) { s["hybrid"].API.P99 = 1 }, have: func(s map[string]*results.Summary) { s["hybrid"].API.P99 = 3.5 }, want: []string{"hybrid api p99"}},
		// Twice the time-to-notify p99 is a regression.
		{name: "2x notify p99", have: func(s map[string]*results.Summary) { s["async"].Notify.P99 = 80 }, want: []string{"async notify p99"}},
		// Faster is never a regression.
		{name: "faster", have: func(s map[string]*results.Summary) { s["sync"].API.P99 = 2; s["sync"].Notify.P99 = 5 }},
		// 0.5% of requests dropped is inside the 1 point tolerance.
		{name: "drops inside", have: func(s map[string]*results.Summary) { s["sync"].Drops.Total = 60 }},
		// 2% dropped is over it.
		{name: "drops over", have: func(s map[string]*results.Summary) { s["sync"].Drops.Total = 240 }, want: []string{"sync drop ratio"}},
		// One lost notification fails async.
		{name: "lost async", have: func(s map[string]*results.Summary) { s["async"].Lost = 1 }, want: []string{"async lost"}},
		// A lost notification fails hybrid even when the baseline lost as many.
		{name: "lost hybrid, baseline too", base: func(s map[string]*results.Summary) { s["hybrid"].Lost = 3 }, have: func(s map[string]*results.Summary) { s["hybrid"].Lost = 3 }, want: []string{"hybrid lost"}},
		// Sync is held to its baseline: no more lost than before.
		{name: "lost sync, as the baseline", base: func(s map[string]*results.Summary) { s["sync"].Lost = 2 }, have: func(s map[string]*results.Summary) { s["sync"].Lost = 2 }},
		// 3% less rate is inside the 5% tolerance.
		{name: "rate inside", have: func(s map[string]*results.Summary) { s["async"].AchievedRPS = 388 }},
		// 10% less rate: the generator fell behind.
		{name: "rate over", have: func(s map[string]*results.Summary) { s["async"].AchievedRPS = 360 }, want: []string{"async achieved rate"}},
		// No requests at all: the drop ratio is 0, not NaN; the rate fails.
		{name: "no requests", have: func(s map[string]*results.Summary) { *s["sync"] = results.Summary{} }, want: []string{"sync achieved rate"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Compare(runResults("base", tt.base), runResults("now", tt.have), th)
			if err := r.Err(); err != nil {
				t.Fatalf("Err: %v", err)
			}
			if got := failures(r); !slices.Equal(got, tt.want) {
				t.Errorf("failures: got %q, want %q", got, tt.want)
			}
			if got, want := len(r.Rows), 3*len(Metrics); got != want {
				t.Errorf("rows: got %d, want %d", got, want)
			}
			if got, want := r.Failed(), len(tt.want) > 0; got != want {
				t.Errorf("Failed: got %v, want %v", got, want)
			}
		})
	}
}

func TestCompareMissingPattern(t *testing.T) {
	cur := runResults("now", nil)
	delete(cur.Patterns, "hybrid")
	cur.Order = []string{"sync", "async"}
	r := Compare(runResults("base", nil), cur, th)
	if got, want := r.Missing, []string{"hybrid"}; !slices.Equal(got, want) {
		t.Errorf("Missing: got %q, want %q", got, want)
	}
	err := r.Err()
	if !errors.Is(err, ErrMissingPattern) {
		t.Fatalf("Err: got %v, want ErrMissingPattern", err)
	}
	if _, err := Check(context.Background(), runResults("base", nil), cur, Options{Thresholds: th, Rerun: func(context.Context, []pattern.Pattern) (*results.Results, string, error) {
		t.Error("Rerun called on an input error")
		return nil, "", nil
	}}); !errors.Is(err, ErrMissingPattern) {
		t.Errorf("Check: got %v, want ErrMissingPattern", err)
	}
}

func TestCompareExtraPattern(t *testing.T) {
	base := runResults("base", nil)
	delete(base.Patterns, "hybrid")
	base.Order = []string{"sync", "async"}
	r := Compare(base, runResults("now", nil), th)
	if got, want := r.Extra, []string{"hybrid"}; !slices.Equal(got, want) {
		t.Errorf("Extra: got %q, want %q", got, want)
	}
	if r.Err() != nil || r.Failed() {
		t.Errorf("a pattern only in the run: got Err %v, Failed %v; want neither", r.Err(), r.Failed())
	}
}

func TestFromProfile(t *testing.T) {
	got := FromProfile(profiles.Gate{P99Tolerance: 0.5, P99Floor: profiles.Duration(5 * time.Millisecond), DropTolerance: 0.005})
	want := Thresholds{P99Tolerance: 0.5, P99Floor: 5 * time.Millisecond, DropTolerance: 0.005, RateTolerance: DefaultRateTolerance}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestCheckRerun(t *testing.T) {
	slow := func(s map[string]*results.Summary) { s["sync"].API.P99 = 20; s["sync"].Notify.P99 = 90 }
	errBroker := errors.New("broker: no Java")
	for _, tt := range []struct {
		name      string
		again     *results.Results // what the re-run returns
		err       error            // and its error
		noRerun   bool             // Options.Rerun is nil
		wantFail  []string
		wantNoise []string
		wantAgain bool // failing rows carry a second number
	}{
		// The regression shows again: the gate fails.
		{name: "regression twice", again: runResults("again", slow), wantFail: []string{"sync api p99", "sync notify p99"}, wantAgain: true},
		// The second run is fine: it was noise, the gate passes.
		{name: "noise", again: runResults("again", nil), wantNoise: []string{"sync api p99", "sync notify p99"}, wantAgain: true},
		// Only one metric shows again.
		{name: "one of two", again: runResults("again", func(s map[string]*results.Summary) { s["sync"].API.P99 = 20 }), wantFail: []string{"sync api p99"}, wantNoise: []string{"sync notify p99"}, wantAgain: true},
		// Without a re-run, one measurement decides.
		{name: "no rerun", noRerun: true, wantFail: []string{"sync api p99", "sync notify p99"}},
		// A re-run that fails leaves the first measurement standing.
		{name: "rerun error", err: errBroker, wantFail: []string{"sync api p99", "sync notify p99"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var asked [][]pattern.Pattern
			o := Options{Thresholds: th}
			if !tt.noRerun {
				o.Rerun = func(_ context.Context, p []pattern.Pattern) (*results.Results, string, error) {
					asked = append(asked, p)
					return tt.again, "reports/runs/x/rerun/runs/y", tt.err
				}
			}
			r, err := Check(context.Background(), runResults("base", nil), runResults("now", slow), o)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if got := failures(r); !slices.Equal(got, tt.wantFail) {
				t.Errorf("failures: got %q, want %q", got, tt.wantFail)
			}
			var noise []string
			for _, row := range r.Rows {
				if row.Verdict == Noise {
					noise = append(noise, row.Pattern+" "+string(row.Metric))
				}
				if row.Verdict != Pass && (row.Again != nil) != tt.wantAgain {
					t.Errorf("%s %s: Again %v, want set: %v", row.Pattern, row.Metric, row.Again, tt.wantAgain)
				}
			}
			if !slices.Equal(noise, tt.wantNoise) {
				t.Errorf("noise: got %q, want %q", noise, tt.wantNoise)
			}
			if tt.noRerun {
				if r.Rerun != nil {
					t.Errorf("Rerun: got %+v, want nil", r.Rerun)
				}
				return
			}
			if want := [][]pattern.Pattern{{pattern.Sync}}; !slices.EqualFunc(asked, want, slices.Equal) {
				t.Errorf("re-run asked for %v, want %v", asked, want)
			}
			if tt.err != nil && (r.Rerun == nil || r.Rerun.Err != tt.err.Error()) {
				t.Errorf("Rerun: got %+v, want Err %q", r.Rerun, tt.err)
			}
		})
	}
}

func TestCheckRerunPatterns(t *testing.T) {
	// A baseline and a run made with --repeat 2: sync.2 and async fail; the
	// re-run is asked for async and sync once each, and sync's second
	// numbers stand for both sync and sync.2. Patterns come in the order
	// their rows fail: async before sync.2.
	repeat := func(edit func(map[string]*results.Summary)) func(map[string]*results.Summary) {
		return func(s map[string]*results.Summary) {
			c := *s["sync"]
			s["sync.2"] = &c
			if edit != nil {
				edit(s)
			}
		}
	}
	base := runResults("base", repeat(nil))
	base.Order = append(base.Order, "sync.2")
	cur := runResults("now", repeat(func(s map[string]*results.Summary) { s["sync.2"].API.P99 = 30; s["async"].Lost = 4 }))
	cur.Order = append(cur.Order, "sync.2")
	var asked []pattern.Pattern
	r, err := Check(context.Background(), base, cur, Options{Thresholds: th, Rerun: func(_ context.Context, p []pattern.Pattern) (*results.Results, string, error) {
		asked = p
		return runResults("again", func(s map[string]*results.Summary) { s["sync"].API.P99 = 30 }), "", nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []pattern.Pattern{pattern.Async, pattern.Sync}; !slices.Equal(asked, want) {
		t.Errorf("re-run asked for %v, want %v", asked, want)
	}
	if got, want := failures(r), []string{"sync.2 api p99"}; !slices.Equal(got, want) {
		t.Errorf("failures: got %q, want %q", got, want)
	}
}

func TestCheckInterrupted(t *testing.T) {
	errInterrupted := errors.New("run interrupted") // as harness.Run returns it
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Check(ctx, runResults("base", nil), runResults("now", func(s map[string]*results.Summary) { s["async"].Lost = 1 }), Options{Thresholds: th,
		Rerun: func(ctx context.Context, _ []pattern.Pattern) (*results.Results, string, error) {
			cancel()
			return nil, "", errInterrupted
		}})
	if !errors.Is(err, errInterrupted) {
		t.Errorf("got %v, want errInterrupted", err)
	}
}

func TestCheckPassNoRerun(t *testing.T) {
	r, err := Check(context.Background(), runResults("base", nil), runResults("now", nil), Options{Thresholds: th,
		Rerun: func(context.Context, []pattern.Pattern) (*results.Results, string, error) {
			t.Error("Rerun called though nothing failed")
			return nil, "", nil
		}})
	if err != nil || r.Failed() || r.Rerun != nil {
		t.Errorf("got err %v, Failed %v, Rerun %v; want none", err, r.Failed(), r.Rerun)
	}
}

func TestNotes(t *testing.T) {
	base := runResults("base", nil)
	base.Run.Broker.Kind = "local"
	cur := runResults("now", nil)
	cur.Run.Broker.Kind = "embedded"
	cur.Run.Partial = true
	cur.Run.PartialReason = "interrupted during hybrid"
	r := Compare(base, cur, th)
	if len(r.Notes) != 2 {
		t.Errorf("notes: got %q, want the broker and the partial run", r.Notes)
	}
}

// TestCompareInvalidPattern: a pattern that was machine-bound (in the run
// or the baseline) is not decided, even when its p99 doubled, and the
// report is inconclusive unless another pattern regressed.
func TestCompareInvalidPattern(t *testing.T) {
	base := runResults("base", nil)
	cur := runResults("cur", func(s map[string]*results.Summary) {
		s["async"].API.P99 *= 2
		s["async"].Validity, s["async"].ValidityReason = results.ValidityMachineBound, "the machine set them"
	})
	r := Compare(base, cur, th)
	if r.Failed() || !r.Inconclusive() {
		t.Fatalf("failed %v inconclusive %v, want an inconclusive report without a regression", r.Failed(), r.Inconclusive())
	}
	if got := r.Invalid["async"]; !strings.Contains(got, "machine-bound") {
		t.Errorf("why async was not decided: %q", got)
	}
	for _, row := range r.Rows {
		if want := map[bool]Verdict{true: Inconclusive, false: Pass}[row.Pattern == "async"]; row.Verdict != want {
			t.Errorf("%s %s: %v, want %v", row.Pattern, row.Metric, row.Verdict, want)
		}
	}
	// A regression elsewhere still fails the gate.
	cur.Patterns["sync"].Summary.API.P99 *= 3
	if r := Compare(base, cur, th); !r.Failed() || r.Inconclusive() {
		t.Errorf("with sync regressed: failed %v inconclusive %v, want failed", r.Failed(), r.Inconclusive())
	}
	// An invalid baseline counts too.
	base.Patterns["hybrid"].Summary.Validity = results.ValidityGeneratorBound
	if r := Compare(base, runResults("cur", nil), th); !strings.HasPrefix(r.Invalid["hybrid"], "in the baseline") {
		t.Errorf("invalid baseline: %q", r.Invalid["hybrid"])
	}
}
