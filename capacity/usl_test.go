package capacity

import (
	"math"
	"strings"
	"testing"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/results"
)

func TestFitRecoversSigmaKappa(t *testing.T) {
	for _, want := range []results.USL{
		{Lambda: 400, Sigma: 0.1, Kappa: 0.01},
		{Lambda: 1200, Sigma: 0.03, Kappa: 0.002},
		{Lambda: 300, Sigma: 0.25, Kappa: 0}, // Amdahl
	} {
		ns := []int{1, 2, 4, 8}
		cs := make([]float64, len(ns))
		for i, n := range ns {
			cs[i] = Predict(&want, n)
		}
		got := Fit(ns, cs)
		if got == nil || math.Abs(got.Sigma-want.Sigma) > 1e-9 || math.Abs(got.Kappa-want.Kappa) > 1e-9 || got.Lambda != want.Lambda || got.Points != 4 {
			t.Errorf("fit of %+v: got %+v", want, got)
		}
	}
	// Two scales fix σ alone (κ = 0).
	if got := Fit([]int{1, 2}, []float64{400, 720}); got == nil || math.Abs(got.Sigma-2*400.0/720+1) > 1e-9 || got.Kappa != 0 {
		t.Errorf("1 and 2: got %+v, want σ = 2·400/720 − 1, κ = 0", got)
	}
	// Superlinear points do not give a negative σ.
	if got := Fit([]int{1, 2, 4}, []float64{400, 820, 1700}); got == nil || got.Sigma < 0 || got.Kappa < 0 {
		t.Errorf("superlinear: got %+v, want σ, κ ≥ 0", got)
	}
	if Fit([]int{2, 4}, []float64{400, 700}) != nil || Fit([]int{1}, []float64{400}) != nil {
		t.Error("a fit without scale 1 and another: want none")
	}
}

func TestPredictLargest(t *testing.T) {
	// Fixture capacities at 1, 2, 4 replicas. The fit to 1 and 2 is
	// Amdahl's: σ = 2·C1/C2 − 1.
	for _, tc := range []struct {
		name     string
		cs       []float64
		wantMiss bool
	}{
		// 1 → 2 scales by 1.8: σ = 0.111, C(4) predicted 4·400/1.333 = 1200;
		// 1150 measured is within 20%.
		{"hit", []float64{400, 720, 1150}, false},
		// The same start, then the 4-replica capacity collapses (a shared
		// bottleneck the two smaller scales did not show): a miss.
		{"miss", []float64{400, 720, 700}, true},
	} {
		pr := PredictLargest([]int{1, 2, 4}, tc.cs)
		if pr == nil {
			t.Fatalf("%s: no prediction", tc.name)
		}
		if math.Abs(pr.PredictedRPS-1200) > 1e-6 || pr.Replicas != 4 || pr.MeasuredRPS != tc.cs[2] {
			t.Errorf("%s: got %+v, want 1200 predicted at 4", tc.name, pr)
		}
		if pr.Miss != tc.wantMiss {
			t.Errorf("%s: error %.3f: miss %v, want %v", tc.name, pr.Error, pr.Miss, tc.wantMiss)
		}
	}
	if PredictLargest([]int{1, 2}, []float64{400, 720}) != nil {
		t.Error("two scales: want no prediction")
	}
}

func TestPlanPeak(t *testing.T) {
	c := &results.Capacity{RPS: 400, Scale: map[string]float64{"1": 400, "2": 720, "4": 1150}, CPUSecondsPerMillion: 90,
		Steps: []results.CapacityStep{{RPS: 400, Replicas: 1, CPUSecondsPerMillion: 90}, {RPS: 1150, Replicas: 4, CPUSecondsPerMillion: 110}}}
	ns, cs := scalesOf(c)
	c.USL = Fit(ns, cs)
	// Within the scales measured.
	p := PlanPeak(c, pattern.Sync, 1000, 0)
	if p.Replicas < 3 || p.Replicas > 4 || p.Extrapolated || p.CPUSecondsPerMillion != 110 {
		t.Errorf("1000 rps: got %+v", p)
	}
	// Beyond them: say so, and by how much.
	p = PlanPeak(c, pattern.Sync, 1400, 0)
	if p.Replicas <= 4 || !p.Extrapolated || p.ExtrapolatedBy != float64(p.Replicas)/4 || !strings.Contains(p.Note, "beyond the largest scale measured") {
		t.Errorf("1400 rps: got %+v", p)
	}
	// Async: the backlog a surge leaves at one replica, and its drain.
	p = PlanPeak(c, pattern.Async, 1000, 60)
	if p.Backlog != 600*60 || p.DrainS != 600*60/400.0 {
		t.Errorf("async backlog: got %+v, want %d and %g s", p, 600*60, 600*60/400.0)
	}
	// A fit whose capacity peaks below the peak asked: no replica count.
	c.USL = &results.USL{Lambda: 400, Sigma: 0.2, Kappa: 0.05}
	if p = PlanPeak(c, pattern.Sync, 5000, 0); p.Replicas != 0 || !strings.Contains(p.Note, "no number of replicas") {
		t.Errorf("unreachable: got %+v", p)
	}
}
