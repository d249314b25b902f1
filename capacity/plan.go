package capacity

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/results"
)

// MaxPlanReplicas is the most replicas a peak plan considers.
const MaxPlanReplicas = 256

// plan fits the USL and predicts the largest scale for every pattern
// searched at several scales, and plans for the peak when one was given.
func (e *engine) plan() {
	for _, pt := range e.o.Patterns {
		c := e.res.Capacity[pt.String()]
		if c == nil {
			continue
		}
		ns, cs := scalesOf(c)
		if len(ns) > 1 {
			c.USL = Fit(ns, cs)
			c.Prediction = PredictLargest(ns, cs)
		}
		if e.o.PeakRPS > 0 {
			c.Peak = PlanPeak(c, pt, e.o.PeakRPS, e.o.PeakFor.Seconds())
		}
	}
}

// PlanPeak says what pattern pt, with capacity c, needs to serve peak rps
// within the SLO: the fewest replicas whose capacity (the USL fit; without
// one, N times the capacity of one) reaches it, their CPU per million, and
// for a pattern with a broker the backlog a surge of peak for forS
// seconds leaves at one replica, and how long it takes to drain.
func PlanPeak(c *results.Capacity, pt pattern.Pattern, peak, forS float64) *results.PeakPlan {
	p := &results.PeakPlan{PeakRPS: peak, ForS: forS}
	ns, cs := scalesOf(c)
	if len(ns) == 0 {
		ns, cs = []int{1}, []float64{c.RPS}
	}
	one := cs[0]
	if one <= 0 {
		p.Note = "no capacity at one replica to plan from (" + c.DecidedBy + ")"
		return p
	}
	u := c.USL
	fit := "the USL fit"
	if u == nil {
		u = &results.USL{Lambda: one}
		fit = "N × the capacity of one (no --scale fit: an assumption that ignores contention)"
	}
	for n := 1; n <= MaxPlanReplicas; n++ {
		if Predict(u, n) >= peak {
			p.Replicas = n
			break
		}
	}
	largest := slices.Max(ns)
	switch {
	case p.Replicas == 0:
		at, top := Peak(u)
		p.Note = fmt.Sprintf("no number of replicas serves %s rps: %s peaks at %s rps at %.1f replicas", num(peak), fit, num(top), at)
	case p.Replicas > largest:
		p.Extrapolated, p.ExtrapolatedBy = true, float64(p.Replicas)/float64(largest)
		p.Note = fmt.Sprintf("%d replicas by %s, %.1f× beyond the largest scale measured (%d)", p.Replicas, fit, p.ExtrapolatedBy, largest)
	default:
		p.Note = fmt.Sprintf("%d replicas, within the scales measured (%s)", p.Replicas, fit)
	}
	p.CPUSecondsPerMillion = cpuNear(c, ns, p.Replicas)
	if pt.UsesKafka() && forS > 0 && peak > one {
		p.Backlog = (peak - one) * forS
		p.DrainS = p.Backlog / one
		p.Note += fmt.Sprintf("; at one replica a %s s surge leaves a backlog of %s, drained in %s s at %s/s once the load stops", num(forS), num(p.Backlog), num(p.DrainS), num(one))
		if c.API.LowerRPS > 0 && c.API.LowerRPS < peak {
			p.Note += fmt.Sprintf(" (but its API held only up to %s rps)", num(c.API.LowerRPS))
		}
	}
	return p
}

// cpuNear is the CPU per million at the capacity step of the measured
// scale nearest n.
func cpuNear(c *results.Capacity, ns []int, n int) float64 {
	if n <= 0 || len(c.Scale) == 0 {
		return c.CPUSecondsPerMillion
	}
	best := ns[0]
	for _, m := range ns {
		if math.Abs(float64(m-n)) < math.Abs(float64(best-n)) {
			best = m
		}
	}
	rps := c.Scale[strconv.Itoa(best)]
	for _, st := range c.Steps {
		if st.Replicas == best && st.RPS == rps {
			return st.CPUSecondsPerMillion
		}
	}
	return c.CPUSecondsPerMillion
}
