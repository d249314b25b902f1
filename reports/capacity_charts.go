package reports

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/commbench/commbench/results"
)

// The charts of a capacity run's page: its steps against their offered
// rate, its capacities as bars, its scaling.

// Colors of a capacity page: bound steps, bars without a capacity, the
// bars of the scales (×1, ×2, ×4, …) and of the API terms alone.
const (
	boundPoint = "#9aa0a6"
	noCapacity = "#c5c9cf"
	apiAlone   = "#8fcca5"
	missRed    = "#a31d12"
	hitGreen   = "#14632f"
)

var scaleColors = []string{"#6f97d8", "#3f68b0", "#22427a", "#111f3d"}

// capacitySections are a capacity page's charts; none before a step was
// measured.
func capacitySections(r *results.Results, order []string) []section {
	order = slices.DeleteFunc(slices.Clone(order), func(name string) bool { return len(r.Capacity[name].Steps) == 0 })
	if len(order) == 0 {
		return nil
	}
	var api, notify []renderedChart
	for _, name := range order {
		for _, c := range []chart{latencyByRate(r, name, order, false), latencyByRate(r, name, order, true)} {
			if len(c.series) == 0 {
				continue // nothing measured (a step without deliveries)
			}
			if strings.HasPrefix(c.id, "chart_cap_api_") {
				api = append(api, c.render())
			} else {
				notify = append(notify, c.render())
			}
		}
	}
	cols := max(1, min(len(order), 3))
	out := []section{
		{Title: "API latency against offered rate", Cols: cols, Charts: api,
			Note: "Each point is a step: one rate held, judged against the SLO. p99 solid, p50 dashed, a line per scale; ▲ a step that broke the SLO, grey a bound one (the machine set it). Red dashed: the SLO; the dashed verticals: the capacity found, the knee, at each scale, and where the machine became the limit."},
		{Title: "Time-to-notify against offered rate", Cols: cols, Charts: notify,
			Note: "delivered_at − sent_at of the step's deliveries, p99 solid, p50 dashed: sync delivers before it answers, async when its consumers get there."},
	}
	first := section{Title: "Drops and consumer lag against offered rate", Cols: 1, Charts: []renderedChart{dropsByRate(r, order).render()},
		Note: "At each pattern's first scale. The lag's slope is the backlog's growth over the step (least squares over its seconds) with its 95% interval (dotted); it breaks the SLO when the interval lies above 0 and the slope above the SLO's share of the offered rate."}
	if lag, ok := lagByRate(r, order); ok {
		first.Charts, first.Cols = append(first.Charts, lag.render()), 2
	}
	out = append(out, first, section{Title: "Capacities", Cols: 2, Charts: []renderedChart{capacityBars(r, order).render(), cpuBars(r, order).render()},
		Note: "A bar per scale searched; grey bars have no capacity (the machine or the budget stopped the search) and show the highest rate that held the SLO."})
	if u, ok := uslChart(r, order); ok {
		out = append(out, section{Title: "Scaling: the USL fit, predicted against measured", Cols: 1, Charts: []renderedChart{u.render()},
			Note: "Measured capacities by replicas (points), the Universal Scalability Law fitted to them (dashed) and the largest scale's capacity as predicted from the smaller ones (◆): a prediction more than 20% off is a miss, flagged in red."})
	}
	return slices.DeleteFunc(out, func(s section) bool { return len(s.Charts) == 0 })
}

// latencyByRate is a pattern's API latency (or time-to-notify) against
// the offered rate, a line per scale, the SLO and the knees marked.
func latencyByRate(r *results.Results, name string, order []string, notify bool) chart {
	c := r.Capacity[name]
	id, title, limit, sloName := "chart_cap_api_"+jsID(name), name+": API latency", 0.0, "api_p99"
	if notify {
		id, title, sloName = "chart_cap_notify_"+jsID(name), name+": time-to-notify", "notify_p99"
	}
	if r.SLO != nil {
		limit = r.SLO.APIP99Ms
		if notify {
			limit = r.SLO.NotifyP99Ms
		}
	}
	ch := chart{id: id, title: title, x: xValue, xName: "offered rps", yName: "ms", yLog: true, height: 360}
	ch.subtitle = capacitySubtitle(c)
	if limit > 0 {
		ch.hlines = []hline{{y: limit, label: "SLO " + sloName + " " + limitMs(limit)}}
	}
	base := colorOf(name, order)
	ns := stepScales(c)
	for i, n := range ns {
		col := scaleColor(base, i)
		suffix := ""
		if len(ns) > 1 {
			suffix = fmt.Sprintf(" ×%d", n)
		}
		// p99 and p50 of a scale share its name: one legend entry shows
		// or hides both.
		var p99, p50 []any
		for _, st := range stepsAt(c, n) {
			v99, v50 := st.APIP99Ms, st.APIP50Ms
			if notify {
				v99, v50 = st.NotifyP99Ms, st.NotifyP50Ms
			}
			if v99 > 0 {
				p99 = append(p99, stepItem(st, v99, [2]string{" rps", " ms p99"}))
			}
			if v50 > 0 {
				p50 = append(p50, stepItem(st, v50, [2]string{" rps", " ms p50"}))
			}
		}
		label := "replicas" + suffix
		if suffix == "" {
			label = name
		}
		if len(p99) > 0 {
			ch.series = append(ch.series, series{name: label, color: col, symbol: "circle", items: p99})
		}
		if len(p50) > 0 {
			ch.series = append(ch.series, series{name: label, color: col, dash: "dashed", width: 1.5, symbol: "emptyCircle", items: p50})
		}
		if rps, _ := capacityAt(c, n); rps > 0 {
			label = "capacity " + rate(rps)
			if len(ns) > 1 {
				label = fmt.Sprintf("×%d: %s", n, rate(rps))
			}
			ch.vlines = append(ch.vlines, vline{x: rps, label: label, color: col})
		}
	}
	if c.Limit == results.LimitMachine && c.MachineLimitRPS > 0 {
		ch.vlines = append(ch.vlines, vline{x: c.MachineLimitRPS, label: "machine limit " + rate(c.MachineLimitRPS), color: "#6b6f75"})
	}
	return ch
}

// capacitySubtitle is a pattern's answer in a chart's subtitle.
func capacitySubtitle(c *results.Capacity) string {
	switch c.Limit {
	case results.LimitSLO:
		return clip("capacity " + rate(c.RPS) + " rps: " + c.DecidedBy)
	case results.LimitMachine:
		return "no capacity: " + machineText(c)
	}
	return clip("no capacity: " + c.DecidedBy)
}

// clip keeps a subtitle to one line of a chart a third of the page wide.
func clip(s string) string {
	if r := []rune(s); len(r) > 64 {
		return string(r[:63]) + "…"
	}
	return s
}

// dropsByRate: every pattern's drops at its first scale against the
// offered rate, the SLO's line across.
func dropsByRate(r *results.Results, order []string) chart {
	ch := chart{id: "chart_cap_drops", title: "Drops against offered rate", subtitle: "% of the requests sent, at each pattern's first scale",
		x: xValue, xName: "offered rps", yName: "% of sent", height: 360}
	if r.SLO != nil {
		ch.hlines = []hline{{y: 100 * r.SLO.Drops, label: "SLO drops " + g(100*r.SLO.Drops) + "%"}}
	}
	for _, name := range order {
		c := r.Capacity[name]
		ns := stepScales(c)
		if len(ns) == 0 {
			continue
		}
		var items []any
		for _, st := range stepsAt(c, ns[0]) {
			items = append(items, stepItem(st, 100*st.Drops, [2]string{" rps", "%"}))
		}
		ch.series = append(ch.series, series{name: name, color: colorOf(name, order), symbol: "circle", items: items})
	}
	return ch
}

// lagByRate: the lag's slope of every pattern with a consumer group, at
// its first scale, with its interval and the SLO's growth floor; ok is
// false when no pattern has a lag.
func lagByRate(r *results.Results, order []string) (chart, bool) {
	ch := chart{id: "chart_cap_lag", title: "Consumer lag's slope against offered rate", subtitle: "messages a second the backlog grew over the step, its 95% interval dotted",
		x: xValue, xName: "offered rps", yName: "messages/s", height: 360}
	top := 0.0
	for _, name := range order {
		c := r.Capacity[name]
		ns := stepScales(c)
		if len(ns) == 0 {
			continue
		}
		steps := stepsAt(c, ns[0])
		if !slices.ContainsFunc(steps, func(st results.CapacityStep) bool { return st.LagSlope != 0 || st.LagSlopeHi != 0 }) {
			continue
		}
		col := colorOf(name, order)
		var mid, lo, hi []any
		u := [2]string{" rps", "/s"}
		for _, st := range steps {
			mid = append(mid, stepItem(st, st.LagSlope, u))
			lo = append(lo, map[string]any{"value": []float64{sig(st.RPS), sig(st.LagSlopeLo)}, "units": u, "tip": "95% interval, low"})
			hi = append(hi, map[string]any{"value": []float64{sig(st.RPS), sig(st.LagSlopeHi)}, "units": u, "tip": "95% interval, high"})
			top = max(top, st.RPS)
		}
		ch.series = append(ch.series,
			series{name: name, color: col, symbol: "circle", items: mid},
			series{name: "95% · " + name, color: col, dash: "dotted", width: 1, items: lo},
			series{name: "95% · " + name, color: col, dash: "dotted", width: 1, items: hi})
	}
	if len(ch.series) == 0 {
		return chart{}, false
	}
	if r.SLO != nil && r.SLO.LagGrowth > 0 {
		u := [2]string{" rps", "/s"}
		ch.series = append(ch.series, series{name: "SLO: " + g(100*r.SLO.LagGrowth) + "% of the rate", color: missRed, dash: "dashed", width: 1.5,
			items: []any{
				map[string]any{"value": []float64{0, 0}, "units": u},
				map[string]any{"value": []float64{sig(top), sig(r.SLO.LagGrowth * top)}, "units": u},
			}})
	}
	return ch, true
}

// allScales are the scales any pattern ran at, ascending.
func allScales(r *results.Results, order []string) []int {
	var ns []int
	for _, name := range order {
		for _, n := range stepScales(r.Capacity[name]) {
			if !slices.Contains(ns, n) {
				ns = append(ns, n)
			}
		}
	}
	slices.Sort(ns)
	return ns
}

// capacityBars: each pattern's capacity, a bar per scale, and the API's
// terms alone where they differ.
func capacityBars(r *results.Results, order []string) barChart {
	bc := barChart{id: "chart_cap_rps", title: "Capacity under the SLO", subtitle: "the highest offered rate whose step held the whole SLO", yName: "rps", cats: order, height: 360}
	ns := allScales(r, order)
	for i, n := range ns {
		s := barSeries{name: "capacity", color: scaleColors[i%len(scaleColors)]}
		if len(ns) > 1 {
			s.name = fmt.Sprintf("×%d", n)
		}
		for _, name := range order {
			c := r.Capacity[name]
			rps, held := capacityAt(c, n)
			s.bars = append(s.bars, capacityBar(rps, held, fmt.Sprintf("×%d: %s", n, capacityTip(c, n, rps))))
		}
		bc.series = append(bc.series, s)
	}
	api := barSeries{name: "API terms alone", color: apiAlone}
	differs := false
	for _, name := range order {
		c := r.Capacity[name]
		a := c.API
		if a.Limit != "" && (a.RPS != c.RPS || a.Limit != c.Limit) {
			differs = true
		}
		api.bars = append(api.bars, capacityBar(a.RPS, a.LowerRPS, a.DecidedBy))
	}
	if differs {
		if len(ns) > 1 {
			api.name = fmt.Sprintf("API terms alone ×%d", ns[0])
		}
		bc.series = append(bc.series, api)
		bc.subtitle += "; the API's terms alone (api_p99, drops) beside it"
	}
	return bc
}

func capacityTip(c *results.Capacity, n int, rps float64) string {
	if rps > 0 {
		return "capacity " + rate(rps) + " rps"
	}
	if first := stepScales(c); len(first) > 0 && first[0] == n {
		return "no capacity: " + c.DecidedBy
	}
	return "no capacity at this scale"
}

// capacityBar is a capacity's bar, or, without one, a grey bar at the
// rate that held, its label "≥".
func capacityBar(rps, held float64, tip string) map[string]any {
	if rps > 0 {
		return map[string]any{"value": sig(rps), "tip": tip}
	}
	return map[string]any{"value": sig(held), "tip": tip, "itemStyle": map[string]any{"color": noCapacity},
		"label": map[string]any{"show": true, "position": "top", "formatter": "≥ {c}", "color": "#666"}}
}

// cpuBars: each pattern's CPU-seconds per million reactions in the step
// at its capacity, a bar per scale.
func cpuBars(r *results.Results, order []string) barChart {
	bc := barChart{id: "chart_cap_cpu", title: "CPU-seconds per million reactions at the capacity",
		subtitle: "the system under test's CPU in the step at each capacity, per million accepted", yName: "CPU-s", cats: order, height: 360}
	ns := allScales(r, order)
	for i, n := range ns {
		s := barSeries{name: "at the capacity", color: scaleColors[i%len(scaleColors)]}
		if len(ns) > 1 {
			s.name = fmt.Sprintf("×%d", n)
		}
		for _, name := range order {
			c := r.Capacity[name]
			rps, held := capacityAt(c, n)
			at := rps
			if at == 0 {
				at = held
			}
			v := 0.0
			for _, st := range c.Steps {
				if st.Replicas == n && st.RPS == at {
					v = st.CPUSecondsPerMillion
				}
			}
			tip := fmt.Sprintf("×%d, the step at %s rps", n, rate(at))
			if rps > 0 {
				s.bars = append(s.bars, map[string]any{"value": sig(v), "tip": tip})
			} else {
				s.bars = append(s.bars, map[string]any{"value": sig(v), "tip": tip + " (no capacity: the highest that held)", "itemStyle": map[string]any{"color": noCapacity}})
			}
		}
		bc.series = append(bc.series, s)
	}
	return bc
}

// uslChart: the measured capacities by replicas, the USL fitted to them
// and the largest scale's prediction from the smaller; ok is false when
// no pattern was fitted.
func uslChart(r *results.Results, order []string) (chart, bool) {
	ch := chart{id: "chart_cap_usl", title: "Capacity by replicas: measured, fitted, predicted", x: xValue, xName: "replicas", yName: "rps", height: 380}
	u := [2]string{" replicas", " rps"}
	var subs []string
	for _, name := range order {
		c := r.Capacity[name]
		ns := scaleKeys(c)
		if c.USL == nil || len(ns) == 0 {
			continue
		}
		col := colorOf(name, order)
		var measured, fit []any
		for _, n := range ns {
			if rps := c.Scale[strconv.Itoa(n)]; rps > 0 {
				measured = append(measured, map[string]any{"value": []float64{float64(n), sig(rps)}, "units": u, "tip": "measured"})
			}
		}
		top := float64(slices.Max(ns))
		// Room on the right for the predictions' labels.
		ch.xMax = max(ch.xMax, math.Ceil(top+max(1, 0.4*top)))
		for x := 1.0; x <= min(top, 256)+1e-9; x += 0.25 {
			if y := c.USL.At(x); math.IsNaN(y) || math.IsInf(y, 0) {
				continue // a fit from elsewhere whose law has no value here
			}
			fit = append(fit, map[string]any{"value": []float64{x, sig(c.USL.At(x))}, "units": u, "tip": fmt.Sprintf("σ %.3f, κ %.4f", c.USL.Sigma, c.USL.Kappa)})
		}
		ch.series = append(ch.series,
			series{name: "measured · " + name, color: col, symbol: "circle", noLine: true, items: measured},
			series{name: "USL fit · " + name, color: col, dash: "dashed", width: 1.5, items: fit})
		if pr := c.Prediction; pr != nil {
			lc, word := hitGreen, fmt.Sprintf("%+.0f%%", 100*pr.Error)
			if pr.Miss {
				lc, word = missRed, fmt.Sprintf("MISS %+.0f%%", 100*pr.Error)
			}
			ch.series = append(ch.series, series{name: fmt.Sprintf("×%d predicted from %s · %s", pr.Replicas, scalesText(pr.FromScales), name), color: col, symbol: "diamond", noLine: true,
				items: []any{map[string]any{"value": []float64{float64(pr.Replicas), sig(pr.PredictedRPS)}, "units": u, "symbolSize": 13, "tip": predictionText(pr),
					"label": map[string]any{"show": true, "position": "right", "formatter": "predicted " + rate(pr.PredictedRPS) + ": " + word, "color": lc, "fontWeight": "bold"}}}})
			subs = append(subs, fmt.Sprintf("%s %s", name, word))
		}
	}
	if len(ch.series) == 0 {
		return chart{}, false
	}
	if len(subs) > 0 {
		ch.subtitle = "the largest scale predicted from the smaller, against measured: " + strings.Join(subs, ", ") + " (a miss: more than 20% off)"
	}
	return ch, true
}

// scaleColor is the color of the i-th scale of a pattern's chart: the
// pattern's own at the first, darker ones after.
func scaleColor(base string, i int) string {
	if i == 0 {
		return base
	}
	var r, gr, b int
	if _, err := fmt.Sscanf(base, "#%02x%02x%02x", &r, &gr, &b); err != nil {
		return base
	}
	f := math.Pow(0.68, float64(i))
	return fmt.Sprintf("#%02x%02x%02x", int(float64(r)*f), int(float64(gr)*f), int(float64(b)*f))
}

// stepItem is a step as a point of a chart against the offered rate:
// grey when bound, a triangle when it broke the SLO; its tooltip says
// its verdict.
func stepItem(st results.CapacityStep, y float64, units [2]string) map[string]any {
	tip := st.Verdict
	item := map[string]any{"value": []float64{sig(st.RPS), sig(y)}, "units": units}
	switch st.Verdict {
	case results.StepFail:
		tip = "fail: " + strings.Join(st.Broke, "; ")
		item["symbol"] = "triangle"
		item["symbolSize"] = 9
	case results.StepBound:
		tip = "bound: " + st.Validity + " (the machine set it)"
		item["itemStyle"] = map[string]any{"color": boundPoint}
	}
	item["tip"] = fmt.Sprintf("×%d · %s", st.Replicas, tip)
	return item
}
