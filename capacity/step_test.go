package capacity

import (
	"math"
	"strings"
	"testing"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

func TestSlope(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// A backlog growing 300 a second, with noise: the interval is above 0.
	grow := make([]float64, len(xs))
	// A flat lag that wobbles: the interval holds 0.
	flat := make([]float64, len(xs))
	for i, x := range xs {
		grow[i] = 300*x + 20*math.Sin(7*x)
		flat[i] = 10 + 8*math.Sin(5*x)
	}
	s, lo, hi := Slope(xs, grow)
	if math.Abs(s-300) > 10 || lo <= 0 || !(lo < s && s < hi) {
		t.Errorf("growing: got %g (%g…%g), want ~300 with an interval above 0", s, lo, hi)
	}
	if s, lo, hi = Slope(xs, flat); !(lo < 0 && hi > 0) {
		t.Errorf("flat: got %g (%g…%g), want an interval holding 0", s, lo, hi)
	}
	if s, lo, hi = Slope(xs[:2], flat[:2]); s != 0 || lo != 0 || hi != 0 {
		t.Errorf("two points: got %g (%g…%g), want 0", s, lo, hi)
	}
	// The t quantile against the table: 12.706 (1), 2.571 (5), 2.086 (20).
	for df, want := range map[int]float64{5: 2.571, 20: 2.086, 100: 1.984} {
		if got := tQuantile975(df); math.Abs(got-want)/want > 0.005 {
			t.Errorf("t(0.975, %d) = %g, want %g", df, got, want)
		}
	}
}

func TestJudge(t *testing.T) {
	slo := profiles.DefaultSLO()
	ok := results.CapacityStep{RPS: 400, Validity: results.ValidityOK, APIP99Ms: 40, NotifyP99Ms: 80, Drops: 0.0005}
	for _, tc := range []struct {
		name      string
		change    func(*results.CapacityStep)
		terms     Terms
		want      string
		wantFirst string // the first term broken
	}{
		{"within", func(*results.CapacityStep) {}, All, results.StepPass, ""},
		{"api p99", func(s *results.CapacityStep) { s.APIP99Ms = 183 }, All, results.StepFail, "api_p99 183 ms > 100 ms"},
		{"drops", func(s *results.CapacityStep) { s.Drops = 0.02 }, All, results.StepFail, "drops 2.00% > 0.1%"},
		// Both broke: the one furthest over its limit comes first.
		{"drops over p99", func(s *results.CapacityStep) { s.Drops, s.APIP99Ms = 0.05, 120 }, All, results.StepFail, "drops"},
		{"notify", func(s *results.CapacityStep) { s.NotifyP99Ms = 7200 }, All, results.StepFail, "notify_p99 7.20 s > 5.00 s"},
		{"lag grows", func(s *results.CapacityStep) { s.LagSlope, s.LagSlopeLo, s.LagSlopeHi = 312, 290, 334 }, All, results.StepFail, "lag slope +312/s"},
		// Within its interval 0: not growing.
		{"lag noise", func(s *results.CapacityStep) { s.LagSlope, s.LagSlopeLo, s.LagSlopeHi = 30, -5, 65 }, All, results.StepPass, ""},
		// Above 0 but under 1% of the rate: the commits' noise.
		{"lag creep", func(s *results.CapacityStep) { s.LagSlope, s.LagSlopeLo, s.LagSlopeHi = 3, 1, 5 }, All, results.StepPass, ""},
		{"lag, api terms", func(s *results.CapacityStep) { s.LagSlope, s.LagSlopeLo = 312, 290 }, API, results.StepPass, ""},
		{"bound", func(s *results.CapacityStep) { s.Validity, s.APIP99Ms = results.ValidityGeneratorBound, 500 }, All, results.StepBound, ""},
	} {
		st := ok
		tc.change(&st)
		v, broke := Judge(slo, st, tc.terms)
		if v != tc.want || tc.wantFirst != "" && (len(broke) == 0 || !strings.HasPrefix(broke[0], tc.wantFirst)) {
			t.Errorf("%s: got %s %q, want %s starting %q", tc.name, v, broke, tc.want, tc.wantFirst)
		}
	}
}

func TestStepOf(t *testing.T) {
	p := &results.Pattern{}
	p.Summary.Requests, p.Summary.Drops.Total, p.Summary.API.P99 = 10000, 25, 42
	p.Summary.Validity, p.Summary.CPUSecondsPer1k = results.ValidityOK, map[string]float64{"total": 0.5}
	p.Series.T = []float64{1, 2, 3, 4, 5, 6}
	p.Series.AttackEndS = 4
	// -1 is a lag not read; the drain's seconds (after 4 s) are left out.
	p.Series.Lag = []int64{100, -1, 300, 400, 0, 0}
	st := StepOf(p, 500, 2)
	if st.Drops != 0.0025 || st.CPUSecondsPerMillion != 500 || st.Replicas != 2 || st.APIP99Ms != 42 {
		t.Errorf("got %+v", st)
	}
	if math.Abs(st.LagSlope-100) > 1e-9 {
		t.Errorf("lag slope %g, want 100 over the attack's read seconds", st.LagSlope)
	}
}
