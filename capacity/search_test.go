package capacity

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// fake is a pattern whose API p99 breaks the SLO above knee rps and whose
// steps are machine-bound from bound rps (0: never), or in boundIn; it
// records its steps.
type fake struct {
	knee, bound float64
	boundIn     [2]float64
	lagAbove    float64 // the lag grows above this rate (0: never)
	transient   float64 // the first step at this rate is machine-bound, the next not
	steps       []float64
}

func (f *fake) measure(_ context.Context, rps float64) (results.CapacityStep, error) {
	f.steps = append(f.steps, rps)
	st := results.CapacityStep{RPS: rps, Replicas: 1, Validity: results.ValidityOK, APIP99Ms: 20, NotifyP99Ms: 50}
	if rps > f.knee {
		st.APIP99Ms = 150 + 10*(rps-f.knee) // past the knee the queue builds
	}
	if f.lagAbove > 0 && rps > f.lagAbove {
		st.LagSlope = rps - f.lagAbove
		st.LagSlopeLo, st.LagSlopeHi = st.LagSlope*0.9, st.LagSlope*1.1
	}
	if rps == f.transient {
		f.transient = -1
		st.Validity = results.ValidityMachineBound
	}
	if f.bound > 0 && rps >= f.bound || f.boundIn[0] <= rps && rps <= f.boundIn[1] {
		st.Validity = results.ValidityMachineBound
	}
	return st, nil
}

func judgeAll(st results.CapacityStep) (string, []string) {
	return Judge(profiles.DefaultSLO(), st, All)
}

func TestSearchFindsTheKnee(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start float64
		knee  float64
	}{
		// A knee between two doublings, one just above a doubling, and one
		// below the start (the search halves down to it).
		{"between doublings", 200, 383},
		{"just above a doubling", 200, 805},
		{"below the start", 200, 61},
		{"far above the start", 100, 5123},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fake{knee: tc.knee}
			out := Search(context.Background(), SearchOptions{Start: tc.start}, f.measure, judgeAll)
			if out.Limit != results.LimitSLO {
				t.Fatalf("limit %q (%s), want slo", out.Limit, out.DecidedBy)
			}
			if out.RPS > tc.knee || out.RPS < tc.knee*(1-DefaultPrecision) {
				t.Errorf("capacity %g, want within 5%% below the knee %g (steps %v)", out.RPS, tc.knee, f.steps)
			}
			if out.UpperRPS <= tc.knee || out.UpperRPS > out.LowerRPS*(1+DefaultPrecision) {
				t.Errorf("upper %g: want above the knee %g and within 5%% of the lower %g", out.UpperRPS, tc.knee, out.LowerRPS)
			}
			if !strings.HasPrefix(out.DecidedBy, "api_p99 ") {
				t.Errorf("decided by %q, want the api_p99 term", out.DecidedBy)
			}
			if len(f.steps) > 14 {
				t.Errorf("%d steps (%v): a search, not a sweep", len(f.steps), f.steps)
			}
		})
	}
}

func TestSearchMachineBound(t *testing.T) {
	// The machine saturates at 1600 rps, before the pattern's knee at
	// 3000: no capacity, the machine is the limit.
	f := &fake{knee: 3000, bound: 1600}
	out := Search(context.Background(), SearchOptions{Start: 200}, f.measure, judgeAll)
	if out.Limit != results.LimitMachine || out.RPS != 0 || out.MachineLimitRPS != 1600 {
		t.Fatalf("got limit %q, capacity %g, machine limit %g; want machine, 0, 1600", out.Limit, out.RPS, out.MachineLimitRPS)
	}
	if out.LowerRPS != 800 {
		t.Errorf("lower %g, want 800 (the last step that held)", out.LowerRPS)
	}
	if !strings.Contains(out.DecidedBy, "the machine is the limit at 1600 rps") {
		t.Errorf("decided by %q", out.DecidedBy)
	}
	if f.steps[len(f.steps)-1] != 1600 {
		t.Errorf("steps %v: the search went on after the bound step", f.steps)
	}

	// Bound in the bisection: it stops there too.
	f = &fake{knee: 700, boundIn: [2]float64{550, 650}}
	out = Search(context.Background(), SearchOptions{Start: 200}, f.measure, judgeAll)
	if out.Limit != results.LimitMachine || out.RPS != 0 || out.MachineLimitRPS != 600 {
		t.Errorf("bound while bisecting: got limit %q, capacity %g, machine limit %g (steps %v)", out.Limit, out.RPS, out.MachineLimitRPS, f.steps)
	}
}

func TestSearchBoundOnce(t *testing.T) {
	// One bound step (a burst of the hypervisor's steal) is measured again,
	// and the search goes on to the knee.
	f := &fake{knee: 700, transient: 400}
	out := Search(context.Background(), SearchOptions{Start: 200}, f.measure, judgeAll)
	if out.Limit != results.LimitSLO || out.RPS > 700 || out.RPS < 700*0.95 {
		t.Fatalf("got limit %q capacity %g (steps %v); want the SLO's, ~700", out.Limit, out.RPS, f.steps)
	}
	if f.steps[1] != 400 || f.steps[2] != 400 {
		t.Errorf("steps %v: want 400 measured twice", f.steps)
	}
	// With retries off, the one bound step ends the search.
	f = &fake{knee: 700, transient: 400}
	out = Search(context.Background(), SearchOptions{Start: 200, BoundRetries: -1}, f.measure, judgeAll)
	if out.Limit != results.LimitMachine || out.MachineLimitRPS != 400 {
		t.Errorf("no retries: got limit %q machine limit %g (steps %v)", out.Limit, out.MachineLimitRPS, f.steps)
	}
}

func TestSearchLagDecides(t *testing.T) {
	// The API holds to 5000 but the lag grows above 425: the whole SLO's
	// capacity is the lag's; the API terms alone find the API's.
	f := &fake{knee: 5000, lagAbove: 425}
	out := Search(context.Background(), SearchOptions{Start: 200}, f.measure, judgeAll)
	if out.RPS > 425 || out.RPS < 425*0.95 || !strings.HasPrefix(out.DecidedBy, "lag slope +") {
		t.Errorf("whole SLO: capacity %g decided by %q; want ~425 by the lag slope", out.RPS, out.DecidedBy)
	}
	out = Search(context.Background(), SearchOptions{Start: 200}, f.measure, func(st results.CapacityStep) (string, []string) {
		return Judge(profiles.DefaultSLO(), st, API)
	})
	if out.RPS > 5000 || out.RPS < 5000*0.95 {
		t.Errorf("API terms: capacity %g, want ~5000", out.RPS)
	}
}

func TestSearchStops(t *testing.T) {
	// Every step holds up to the highest rate allowed.
	f := &fake{knee: math.Inf(1)}
	out := Search(context.Background(), SearchOptions{Start: 200, MaxRate: 1000}, f.measure, judgeAll)
	if out.Limit != results.LimitMaxRate || out.LowerRPS != 1000 || out.RPS != 0 {
		t.Errorf("max rate: got %q lower %g capacity %g (steps %v)", out.Limit, out.LowerRPS, out.RPS, f.steps)
	}
	// The budget: no step starts that would not end within it.
	f = &fake{knee: 5000}
	out = Search(context.Background(), SearchOptions{Start: 200, Fits: func(rps float64) bool { return rps < 1000 }}, f.measure, judgeAll)
	if out.Limit != results.LimitBudget || out.LowerRPS != 800 || out.RPS != 0 {
		t.Errorf("budget: got %q lower %g capacity %g", out.Limit, out.LowerRPS, out.RPS)
	}
	// An interrupted step keeps the steps before it.
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	out = Search(ctx, SearchOptions{Start: 200}, func(ctx context.Context, rps float64) (results.CapacityStep, error) {
		if n++; n == 3 {
			cancel()
			return results.CapacityStep{}, ctx.Err()
		}
		return (&fake{knee: 5000}).measure(ctx, rps)
	}, judgeAll)
	if out.Limit != results.LimitInterrupted || out.LowerRPS != 400 || !errors.Is(out.Err, context.Canceled) {
		t.Errorf("interrupted: got %q lower %g err %v", out.Limit, out.LowerRPS, out.Err)
	}
}
