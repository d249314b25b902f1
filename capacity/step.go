package capacity

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// Terms say which of the SLO's terms a search holds the steps to.
type Terms int

const (
	// All the SLO's terms: the API's p99, the drops, time-to-notify's p99
	// and the consumer lag.
	All Terms = iota
	// API: the API's p99 and the drops alone, what the callers get
	// whatever the backlog does.
	API
)

func (t Terms) String() string {
	if t == API {
		return "api"
	}
	return "all"
}

// StepOf reads one step's numbers from its pattern's results: rps is
// the rate it was offered, replicas its scale.
func StepOf(p *results.Pattern, rps float64, replicas int) results.CapacityStep {
	s := p.Summary
	st := results.CapacityStep{
		RPS: rps, Replicas: replicas, DurationS: p.Series.AttackEndS, Requests: s.Requests,
		APIP50Ms: s.API.P50, APIP99Ms: s.API.P99, NotifyP50Ms: s.Notify.P50, NotifyP99Ms: s.Notify.P99,
		Validity: s.Validity, CPUSecondsPerMillion: 1000 * s.CPUSecondsPer1k["total"],
	}
	if st.Validity == "" {
		st.Validity = results.ValidityOK
	}
	if s.Requests > 0 {
		st.Drops = float64(s.Drops.Total) / float64(s.Requests)
	}
	var xs, ys []float64
	for i, l := range p.Series.Lag {
		if i < len(p.Series.T) && p.Series.T[i] <= p.Series.AttackEndS && l >= 0 {
			xs, ys = append(xs, p.Series.T[i]), append(ys, float64(l))
		}
	}
	st.LagSlope, st.LagSlopeLo, st.LagSlopeHi = Slope(xs, ys)
	return st
}

// Slope is the least-squares slope of y on x with its 95% interval
// (Student's t, n−2 degrees of freedom); all 0 for fewer than three
// points. Points on one line give an interval of the slope alone.
func Slope(xs, ys []float64) (slope, lo, hi float64) {
	n := len(xs)
	if n < 3 || len(ys) != n {
		return 0, 0, 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, 0, 0
	}
	slope = sxy / sxx
	var sse float64
	for i := range xs {
		r := ys[i] - my - slope*(xs[i]-mx)
		sse += r * r
	}
	se := math.Sqrt(sse / float64(n-2) / sxx)
	h := tQuantile975(n-2) * se
	return slope, slope - h, slope + h
}

// tQuantile975 is Student's t distribution's 97.5th percentile with df
// degrees of freedom (Cornish–Fisher expansion about the normal's 1.96:
// within 0.5% of the table from 3 degrees of freedom, 2% at 2, 10% at 1).
func tQuantile975(df int) float64 {
	const z = 1.959963984540054
	v := float64(max(df, 1))
	return z + (z*z*z+z)/(4*v) + (5*math.Pow(z, 5)+16*z*z*z+3*z)/(96*v*v) + (3*math.Pow(z, 7)+19*math.Pow(z, 5)+17*z*z*z-15*z)/(384*v*v*v)
}

// broken is one SLO term a step broke, with how far over it went.
type broken struct {
	text  string
	ratio float64 // value / limit
}

// Judge says whether st met slo on terms: "pass", "fail" with the terms
// it broke (the worst first, relative to its limit) or "bound" when the
// machine or the generator set its numbers.
func Judge(slo profiles.SLO, st results.CapacityStep, terms Terms) (verdict string, broke []string) {
	if st.Validity != "" && st.Validity != results.ValidityOK {
		return results.StepBound, nil
	}
	var bs []broken
	if lim := ms(slo.APIP99); st.APIP99Ms > lim {
		bs = append(bs, broken{fmt.Sprintf("api_p99 %s ms > %s ms", num(st.APIP99Ms), num(lim)), st.APIP99Ms / lim})
	}
	if st.Drops > slo.Drops {
		bs = append(bs, broken{fmt.Sprintf("drops %s%% > %s%%", num(100*st.Drops), num(100*slo.Drops)), st.Drops / max(slo.Drops, 1e-9)})
	}
	if terms == All {
		if lim := ms(slo.NotifyP99); st.NotifyP99Ms > lim {
			bs = append(bs, broken{fmt.Sprintf("notify_p99 %s s > %s s", num(st.NotifyP99Ms/1000), num(lim/1000)), st.NotifyP99Ms / lim})
		}
		if floor := slo.LagGrowth * st.RPS; st.LagSlopeLo > 0 && st.LagSlope > floor {
			bs = append(bs, broken{fmt.Sprintf("lag slope %+.0f/s (95%% %+.0f…%+.0f/s)", st.LagSlope, st.LagSlopeLo, st.LagSlopeHi), st.LagSlope / max(floor, 1)})
		}
	}
	if len(bs) == 0 {
		return results.StepPass, nil
	}
	slices.SortStableFunc(bs, func(a, b broken) int { return cmp.Compare(b.ratio, a.ratio) })
	for _, b := range bs {
		broke = append(broke, b.text)
	}
	return results.StepFail, broke
}

func ms(d profiles.Duration) float64 { return float64(d) / 1e6 }

// num formats a figure with three significant digits, no exponent.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
