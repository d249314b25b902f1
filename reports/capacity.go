package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/results"
)

// A capacity run's page (commbench capacity): its results.json has no
// per-pattern series (each step's are in its own folder), but a search per
// pattern, its steps and its answer. The page says the SLO, each
// pattern's capacity and what decided it, and draws the steps against
// their offered rate.

// isCapacity says whether r is a capacity run's results.
func isCapacity(r *results.Results) bool { return r.Capacity != nil || r.SLO != nil }

// capacityBlock is the page's answer: the SLO, a line per pattern and
// every step.
type capacityBlock struct {
	SLO   string
	Steps string // how each step was held and judged
	Lines []capacityLine
	Heads []string // of the steps' table
	Rows  [][]cell
}

// capacityLine is one pattern's answer.
type capacityLine struct {
	Pattern string
	Color   string
	Answer  string // "375 rps" or "no capacity"
	Why     string // decided_by, or why there is no capacity
	Class   string // "machine" when the machine was the limit
	Details []cell
}

func capacityPage(r *results.Results) *page {
	order := slices.DeleteFunc(claims.CapacityOrder(r), func(name string) bool { return r.Capacity[name] == nil })
	return &page{
		Title:    "commbench · capacity · " + r.Run.Profile + " · " + r.Run.ID,
		Runs:     []header{runHeader(r, "")},
		Banners:  append(banners(r, ""), capacityBanners(r, order)...),
		Claims:   claimsSection(r),
		Capacity: newCapacityBlock(r, order),
		Sections: capacitySections(r, order),
		Library:  template.JS(echartsJS),
		Notice:   echartsNotice,
		Version:  EChartsVersion,
	}
}

// sloText is the SLO in words.
func sloText(s *results.CapacitySLO) string {
	if s == nil {
		return "not recorded in results.json"
	}
	return fmt.Sprintf("API p99 ≤ %s (from the intended send time), drops ≤ %s%% of those sent, time-to-notify p99 ≤ %s, consumer lag not growing (the lag's slope over the step, with its 95%% interval, includes 0 or is at most %s%% of the offered rate)",
		limitMs(s.APIP99Ms), g(100*s.Drops), limitMs(s.NotifyP99Ms), g(100*s.LagGrowth))
}

// limitMs formats an SLO's latency: ms below a second, s from it.
func limitMs(v float64) string {
	if v >= 1000 {
		return g(v/1000) + " s"
	}
	return g(v) + " ms"
}

func g(v float64) string { return strconv.FormatFloat(sig(v), 'f', -1, 64) }

func newCapacityBlock(r *results.Results, order []string) *capacityBlock {
	b := &capacityBlock{SLO: sloText(r.SLO)}
	if s := r.SLO; s != nil {
		warm := "after a " + g(s.WarmupS) + " s warm-up"
		if s.WarmupS <= 0 {
			warm = "with no warm-up"
		}
		b.Steps = fmt.Sprintf("Each step holds one rate for %s s or %s requests, whichever is longer, %s, and is judged on the validity rules of every run: a step the machine or the load generator bound is neither a pass nor a fail, and ends its search: the machine is the limit there, not the pattern.",
			g(s.StepS), count(s.StepRequests), warm)
	}
	for _, name := range order {
		b.Lines = append(b.Lines, capacityLineOf(name, r.Capacity[name], order))
	}
	b.Heads = []string{"pattern", "replicas", "offered rps", "s", "requests", "API p50 ms", "API p99 ms", "drops", "notify p50 ms", "notify p99 ms", "lag slope /s (95%)", "CPU-s per million", "validity", "verdict", "folder"}
	for _, name := range order {
		for _, st := range r.Capacity[name].Steps {
			b.Rows = append(b.Rows, stepRow(name, st))
		}
	}
	return b
}

func stepRow(name string, st results.CapacityStep) []cell {
	lag := "—"
	if st.LagSlope != 0 || st.LagSlopeHi != 0 {
		lag = fmt.Sprintf("%+.0f (%+.0f…%+.0f)", st.LagSlope, st.LagSlopeLo, st.LagSlopeHi)
	}
	verdict := cell{Text: st.Verdict}
	switch st.Verdict {
	case results.StepPass:
		verdict.Class = "better"
	case results.StepFail:
		verdict = cell{Text: "fail: " + strings.Join(st.Broke, "; "), Class: "worse"}
	case results.StepBound:
		verdict.Class = "na"
	}
	validity := cell{Text: st.Validity}
	if st.Validity != results.ValidityOK && st.Validity != "" {
		validity.Class = "worse"
	}
	return []cell{{Text: name}, {Text: strconv.Itoa(st.Replicas)}, {Text: rate(st.RPS)}, {Text: g(st.DurationS)}, {Text: count(st.Requests)},
		{Text: ms(st.APIP50Ms)}, {Text: ms(st.APIP99Ms)}, {Text: pct(st.Drops, 1)}, {Text: ms(st.NotifyP50Ms)}, {Text: ms(st.NotifyP99Ms)},
		{Text: lag}, {Text: g(st.CPUSecondsPerMillion)}, validity, verdict, {Text: st.Dir}}
}

// capacityLineOf is one pattern's answer: its capacity and what decided
// it, or why it has none, and what the search found beside it.
func capacityLineOf(name string, c *results.Capacity, order []string) capacityLine {
	l := capacityLine{Pattern: name, Color: colorOf(name, order)}
	add := func(class, format string, args ...any) {
		l.Details = append(l.Details, cell{Text: fmt.Sprintf(format, args...), Class: class})
	}
	switch c.Limit {
	case results.LimitSLO:
		l.Answer, l.Why = rate(c.RPS)+" rps", "decided by "+c.DecidedBy
		if c.UpperRPS > 0 && c.LowerRPS > 0 {
			add("", "held the SLO at %s rps, broke it at %s rps", rate(c.LowerRPS), rate(c.UpperRPS))
		}
	case results.LimitMachine:
		l.Answer, l.Class = "no capacity", "machine"
		l.Why = c.DecidedBy
		if lim := machineText(c); !strings.Contains(l.Why, lim) {
			l.Why = lim + ": " + l.Why
		}
		if c.LowerRPS > 0 {
			add("", "the SLO held up to %s rps", rate(c.LowerRPS))
		} else {
			add("", "no step held the SLO below it")
		}
	default:
		l.Answer, l.Why = "no capacity", c.DecidedBy
		if c.LowerRPS > 0 {
			add("", "the SLO held up to %s rps", rate(c.LowerRPS))
		}
	}
	if a := c.API; a.Limit != "" && (a.Limit != c.Limit || a.RPS != c.RPS || a.LowerRPS != c.LowerRPS) {
		if a.Limit == results.LimitSLO {
			add("", "the API's terms alone (api_p99, drops), what the callers get whatever the backlog does: %s rps, decided by %s", rate(a.RPS), a.DecidedBy)
		} else {
			add("", "the API's terms alone (api_p99, drops): at least %s rps; %s", rate(a.LowerRPS), a.DecidedBy)
		}
	}
	if c.CPUSecondsPerMillion > 0 {
		add("", "%s CPU-seconds per million accepted reactions in the step at %s rps", g(c.CPUSecondsPerMillion), rate(c.LowerRPS))
	}
	if ns := scaleKeys(c); len(ns) > 0 {
		var parts []string
		for _, n := range ns {
			v := "none"
			if rps := c.Scale[strconv.Itoa(n)]; rps > 0 {
				v = rate(rps) + " rps"
			}
			parts = append(parts, fmt.Sprintf("×%d %s", n, v))
		}
		add("", "by replicas: %s", strings.Join(parts, " · "))
	}
	if u := c.USL; u != nil {
		add("", "Universal Scalability Law fitted to %d scales: λ %s rps a replica, σ %.3f (contention), κ %.4f (crosstalk)", u.Points, rate(u.Lambda), u.Sigma, u.Kappa)
	}
	if pr := c.Prediction; pr != nil {
		add(predictionClass(pr), "%s", predictionText(pr))
	}
	if pk := c.Peak; pk != nil {
		text := fmt.Sprintf("for a peak of %s rps", rate(pk.PeakRPS))
		if pk.ForS > 0 {
			text += fmt.Sprintf(" for %s s", g(pk.ForS))
		}
		text += ": " + pk.Note
		if pk.CPUSecondsPerMillion > 0 {
			text += fmt.Sprintf("; %s CPU-seconds per million", g(pk.CPUSecondsPerMillion))
		}
		class := ""
		if pk.Extrapolated || pk.Replicas == 0 {
			class = "warn"
		}
		add(class, "%s", text)
	}
	return l
}

// machineText says where the machine became the limit.
func machineText(c *results.Capacity) string {
	return fmt.Sprintf("the machine is the limit at %s rps", rate(c.MachineLimitRPS))
}

func predictionClass(pr *results.Prediction) string {
	if pr.Miss {
		return "miss"
	}
	return "hit"
}

// predictionText is a prediction against its measurement, a miss flagged.
func predictionText(pr *results.Prediction) string {
	t := fmt.Sprintf("×%d predicted from %s by the USL: %s rps; measured %s rps (%+.0f%%)", pr.Replicas, scalesText(pr.FromScales), rate(pr.PredictedRPS), rate(pr.MeasuredRPS), 100*pr.Error)
	if pr.Miss {
		return "MISS: " + t + ", more than 20% off: the fit does not hold at this scale, and a plan beyond the scales measured is a guess"
	}
	return t + ": within 20%"
}

func scalesText(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, "×"+strconv.Itoa(n))
	}
	return strings.Join(s, ", ")
}

// capacityBanners are what must not be missed on a capacity page: a
// search the machine ended, a prediction that missed.
func capacityBanners(r *results.Results, order []string) []banner {
	var bs []banner
	for _, name := range order {
		c := r.Capacity[name]
		if c.Limit == results.LimitMachine {
			held := "no step held the SLO below it"
			if c.LowerRPS > 0 {
				held = "the SLO held up to " + rate(c.LowerRPS) + " rps"
			}
			bs = append(bs, banner{Class: "warn", Text: fmt.Sprintf("%s: %s, not the pattern: its search stopped there without a capacity (%s).", name, machineText(c), held)})
		}
		if pr := c.Prediction; pr != nil && pr.Miss {
			bs = append(bs, banner{Class: "warn", Text: fmt.Sprintf("%s: the USL prediction missed: %s.", name, predictionText(pr))})
		}
	}
	return bs
}

// scaleKeys are the scales of c's --scale search, ascending.
func scaleKeys(c *results.Capacity) []int {
	var ns []int
	for k := range c.Scale {
		if n, err := strconv.Atoi(k); err == nil {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns
}

// stepScales are the replicas c's steps ran at, ascending.
func stepScales(c *results.Capacity) []int {
	var ns []int
	for _, st := range c.Steps {
		if !slices.Contains(ns, st.Replicas) {
			ns = append(ns, st.Replicas)
		}
	}
	slices.Sort(ns)
	return ns
}

// capacityAt is c's capacity at n replicas (0: none), and the highest
// rate that held the SLO there.
func capacityAt(c *results.Capacity, n int) (rps, held float64) {
	if len(c.Scale) > 0 {
		rps = c.Scale[strconv.Itoa(n)]
	} else if first := stepScales(c); len(first) > 0 && first[0] == n && c.Limit == results.LimitSLO {
		rps = c.RPS
	}
	for _, st := range c.Steps {
		if st.Replicas == n && st.Verdict == results.StepPass {
			held = max(held, st.RPS)
		}
	}
	return rps, held
}

// stepsAt are c's steps at n replicas by offered rate.
func stepsAt(c *results.Capacity, n int) []results.CapacityStep {
	var out []results.CapacityStep
	for _, st := range c.Steps {
		if st.Replicas == n {
			out = append(out, st)
		}
	}
	slices.SortStableFunc(out, func(a, b results.CapacityStep) int { return cmp.Compare(a.RPS, b.RPS) })
	return out
}
