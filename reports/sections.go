package reports

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// timeSections are the report's charts, every pattern on the same axes:
// overlaid where lines stay readable, side by side on one shared scale
// where each pattern has a stack of its own.
func timeSections(r *results.Results, order []string) ([]section, error) {
	tl := newTimeline(r, order)
	out := []section{tl.rateSection()}
	if m, ok := tl.machineSection(); ok {
		out = append(out, m)
	}
	out = append(out, tl.latencySection())
	spectra, err := spectrumCharts(r, order, "", nil, "")
	if err != nil {
		return nil, err
	}
	out = append(out, section{Title: "Percentile spectrum (whole run)", Cols: 2, Charts: spectra,
		Note: "HdrHistogram style: x is the percentile on a 1/(1−p) scale, so the tail gets the room. API latency from the intended send time (solid) and from the actual send (dotted): the gap is coordinated omission."})
	out = append(out, tl.dropsSection())
	if lag, ok := tl.lagSection(); ok {
		out = append(out, lag)
	}
	return append(out, tl.cpuSection()), nil
}

// timeline is what the charts over time share: the patterns in order, the
// fault windows to shade and where the drain begins.
type timeline struct {
	r       *results.Results
	order   []string
	faults  []results.FaultWindow
	drain   float64 // the latest attack end
	longest int     // seconds in the longest series
	// bound are the bound seconds of all the patterns, for the charts
	// that overlay them; boundOf those of each pattern, for its own.
	bound   []boundArea
	boundOf map[string][]boundArea
}

func newTimeline(r *results.Results, order []string) *timeline {
	tl := &timeline{r: r, order: order, faults: faultWindows(r), bound: boundAreas(r, order, true), boundOf: map[string][]boundArea{}}
	for _, name := range order {
		tl.boundOf[name] = boundAreas(r, []string{name}, false)
		s := r.Patterns[name].Series
		tl.drain = max(tl.drain, s.AttackEndS)
		tl.longest = max(tl.longest, len(s.T))
	}
	return tl
}

// chart is an empty chart over time of all the patterns, with the faults,
// the bound seconds and the drain marked.
func (tl *timeline) chart(id, title, yName string) chart {
	return chart{id: id, title: title, x: xTime, yName: yName, faults: tl.faults, bound: tl.bound, drainAt: tl.drain}
}

// chartOf is an empty chart over time of the pattern name alone: only its
// own bound seconds are shaded.
func (tl *timeline) chartOf(name, id, title, yName string) chart {
	c := tl.chart(id, title, yName)
	c.bound = tl.boundOf[name]
	return c
}

// rateSection: offered, achieved and accepted, and hybrid's paths.
func (tl *timeline) rateSection() section {
	r, order := tl.r, tl.order
	note := ""
	if tl.longest > MaxPoints {
		note = fmt.Sprintf("Downsampled to at most %d points a series: lines keep each bucket's lowest and highest second, stacks its mean.", MaxPoints)
	}
	if hasBound(r) {
		note = strings.TrimSpace(note + " Grey areas are bound seconds, which the machine or the load generator set: see The machine, below.")
	}
	rc := tl.chart("chart_rate", "Offered vs achieved rate", "requests/s")
	rc.subtitle = "achieved: sent by the generator; accepted: answered 201/202"
	if first := r.Patterns[order[0]].Series; len(first.OfferedRPS) > 0 {
		rc.series = append(rc.series, series{name: "offered", color: "#444", dash: "dashed", width: 1.5,
			data: minMax(first.T, first.OfferedRPS, MaxPoints, known)})
	}
	for _, name := range order {
		s, c := r.Patterns[name].Series, colorOf(name, order)
		rc.series = append(rc.series,
			series{name: "achieved · " + name, color: c, data: minMax(s.T, s.AchievedRPS, MaxPoints, known)},
			series{name: "accepted · " + name, color: c, dash: "dotted", width: 1.5, data: minMax(s.T, s.AcceptedRPS, MaxPoints, known)})
	}
	rate := section{Title: "Rate", Note: note, Cols: 1, Charts: []renderedChart{rc.render()}}

	// Hybrid's paths.
	for _, name := range order {
		s := r.Patterns[name].Series
		if name != "hybrid" && (sum(s.PathSync) == 0 || sum(s.PathAsync) == 0) {
			continue
		}
		hc := tl.chartOf(name, "chart_paths_"+jsID(name), name+": accepted per second by path", "accepted/s")
		hc.stacked = true
		sm := r.Patterns[name].Summary
		hc.subtitle = fmt.Sprintf("sync path %s, async path (Kafka) %s of %s accepted", pct(float64(sm.AcceptedSync), float64(sm.Accepted)), pct(float64(sm.AcceptedAsync), float64(sm.Accepted)), count(sm.Accepted))
		pts := means(s.T, MaxPoints, floats(s.PathSync), floats(s.PathAsync))
		hc.series = []series{{name: "sync path", color: pathColors["sync"], data: pts[0]}, {name: "async path", color: pathColors["async"], data: pts[1]}}
		rate.Charts = append(rate.Charts, hc.render())
		rate.Cols = 2
	}
	return rate
}

// latencySection: API latency and time-to-notify per second.
func (tl *timeline) latencySection() section {
	lc := tl.chart("chart_api_latency", "API latency per second", "ms")
	lc.subtitle = "p99 solid, p50 dashed, max dotted; from the intended send time; log scale"
	lc.yLog = true
	nc := tl.chart("chart_notify_latency", "Time-to-notify per second", "ms")
	nc.subtitle = "p99 solid, p50 dashed; delivered_at − sent_at of the deliveries in each second; log scale"
	nc.yLog = true
	for _, name := range tl.order {
		s, c := tl.r.Patterns[name].Series, colorOf(name, tl.order)
		lc.series = append(lc.series,
			series{name: "p99 · " + name, color: c, data: minMax(s.T, s.APIP99, MaxPoints, positive)},
			series{name: "p50 · " + name, color: c, dash: "dashed", width: 1.5, data: minMax(s.T, s.APIP50, MaxPoints, positive)},
			series{name: "max · " + name, color: c, dash: "dotted", width: 1, data: minMax(s.T, s.APIMax, MaxPoints, positive)})
		nc.series = append(nc.series,
			series{name: "p99 · " + name, color: c, data: minMax(s.T, s.NotifyP99, MaxPoints, positive)},
			series{name: "p50 · " + name, color: c, dash: "dashed", width: 1.5, data: minMax(s.T, s.NotifyP50, MaxPoints, positive)})
	}
	return section{Title: "Latency over time", Cols: 1, Charts: []renderedChart{lc.render(), nc.render()}}
}

// dropsSection: drops by class, a stack per pattern, one scale.
func (tl *timeline) dropsSection() section {
	r, order := tl.r, tl.order
	classes := []string{}
	for _, class := range results.DropClasses {
		for _, name := range order {
			if sum(r.Patterns[name].Series.Drops[class]) > 0 {
				classes = append(classes, class)
				break
			}
		}
	}
	drops := section{Title: "Drops per second by class", Cols: min(len(order), 3)}
	if len(classes) == 0 {
		drops.Note = "No request was dropped in this run."
	}
	var dropCharts []chart
	top := 0.0
	for _, name := range order {
		s := r.Patterns[name].Series
		dc := tl.chartOf(name, "chart_drops_"+jsID(name), name+": drops per second", "drops/s")
		dc.stacked = true
		dc.height = 300
		var vs [][]float64
		for _, class := range classes {
			vs = append(vs, floats(s.Drops[class]))
		}
		if len(classes) == 0 {
			vs = append(vs, make([]float64, len(s.T)))
		}
		pts := means(s.T, MaxPoints, vs...)
		for i, class := range classes {
			dc.series = append(dc.series, series{name: dropLabel(class), color: dropColors[class], data: pts[i]})
		}
		if len(classes) == 0 {
			dc.series = []series{{name: "drops", color: "#7f8c8d", data: pts[0]}}
		}
		top = max(top, stackTop(pts))
		dropCharts = append(dropCharts, dc)
	}
	for _, dc := range dropCharts {
		dc.yMax = niceCeil(top)
		drops.Charts = append(drops.Charts, dc.render())
	}
	return drops
}

// lagSection: consumer lag, from the broker; ok is false when no pattern
// has a consumer group.
func (tl *timeline) lagSection() (section, bool) {
	gc := tl.chart("chart_lag", "Consumer lag", "messages")
	gc.subtitle = "log-end offset − committed offset, summed over partitions, read from the broker"
	for _, name := range tl.order {
		s := tl.r.Patterns[name].Series
		if len(s.Lag) == 0 {
			continue
		}
		gc.series = append(gc.series, series{name: name, color: colorOf(name, tl.order), data: minMax(s.T, floats(s.Lag), MaxPoints, known)})
	}
	if len(gc.series) == 0 {
		return section{}, false
	}
	return section{Title: "Consumer lag", Cols: 1, Charts: []renderedChart{gc.render()},
		Note: "Patterns without a consumer group (sync) have no lag and no line."}, true
}

// cpuSection: CPU by process, a stack per pattern, one scale.
func (tl *timeline) cpuSection() section {
	procs := processes(tl.r)
	cpuSec := section{Title: "CPU per process", Cols: min(len(tl.order), 3),
		Note: "Cores used in each second, from /proc, by process of the run (the generator included)."}
	var cpuCharts []chart
	top := 0.0
	for _, name := range tl.order {
		s := tl.r.Patterns[name].Series
		cc := tl.chartOf(name, "chart_cpu_"+jsID(name), name+": CPU", "cores")
		cc.stacked = true
		cc.height = 300
		var vs [][]float64
		var have []string
		for _, proc := range procs {
			if v, ok := s.CPU[proc]; ok {
				vs = append(vs, v)
				have = append(have, proc)
			}
		}
		pts := means(s.T, MaxPoints, vs...)
		for i, proc := range have {
			cc.series = append(cc.series, series{name: proc, color: processColor(proc), data: pts[i]})
		}
		top = max(top, stackTop(pts))
		cpuCharts = append(cpuCharts, cc)
	}
	for _, cc := range cpuCharts {
		cc.yMax = niceCeil(top)
		cpuSec.Charts = append(cpuSec.Charts, cc.render())
	}
	return cpuSec
}

// spectrumCharts are the API and time-to-notify spectra of r's patterns;
// on a comparison, those of b too (dashed), with the runs' labels.
func spectrumCharts(r *results.Results, order []string, labelA string, b *results.Results, labelB string) ([]renderedChart, error) {
	idPrefix := "chart_spectrum_"
	if b != nil {
		idPrefix = "chart_compare_spectrum_"
	}
	ac := chart{id: idPrefix + "api", title: "API latency by percentile", x: xPercentile, yName: "ms", yLog: true}
	nc := chart{id: idPrefix + "notify", title: "Time-to-notify by percentile", x: xPercentile, yName: "ms", yLog: true}
	if b != nil {
		ac.subtitle = labelA + " solid, " + labelB + " dashed; from the intended send time"
		nc.subtitle = labelA + " solid, " + labelB + " dashed"
	} else {
		ac.subtitle = "from the intended send time (solid) and the actual send (dotted)"
	}
	type run struct {
		r     *results.Results
		label string
		dash  string
	}
	runs := []run{{r, labelA, ""}}
	if b != nil {
		runs = append(runs, run{b, labelB, "dashed"})
	}
	for _, name := range order {
		c := colorOf(name, order)
		for _, rn := range runs {
			p, ok := rn.r.Patterns[name]
			if !ok {
				continue
			}
			suffix := name
			if rn.label != "" {
				suffix = name + " · " + rn.label
			}
			api, err := spectrum(p.Histograms.API)
			if err != nil {
				return nil, fmt.Errorf("%s: API %w", name, err)
			}
			notify, err := spectrum(p.Histograms.Notify)
			if err != nil {
				return nil, fmt.Errorf("%s: time-to-notify %w", name, err)
			}
			ac.series = append(ac.series, series{name: suffix, color: c, dash: rn.dash, data: api})
			if b == nil {
				unc, err := spectrum(p.Histograms.APIUncorrected)
				if err != nil {
					return nil, fmt.Errorf("%s: uncorrected API %w", name, err)
				}
				if len(unc) > 0 {
					ac.series = append(ac.series, series{name: "uncorrected · " + name, color: c, dash: "dotted", width: 1.5, data: unc})
				}
			}
			if len(notify) > 0 {
				nc.series = append(nc.series, series{name: suffix, color: c, dash: rn.dash, data: notify})
			}
		}
	}
	return []renderedChart{ac.render(), nc.render()}, nil
}

// faultWindows are the fault windows of the run and of its patterns, each
// once; faults that did not fire are left out.
func faultWindows(r *results.Results) []results.FaultWindow {
	var out []results.FaultWindow
	addAll := func(fs []results.FaultWindow) {
		for _, f := range fs {
			if f.Error != "" || f.EndS <= f.StartS {
				continue
			}
			dup := slices.ContainsFunc(out, func(g results.FaultWindow) bool {
				return g.Target == f.Target && g.Kind == f.Kind && math.Abs(g.StartS-f.StartS) < 0.5 && math.Abs(g.EndS-f.EndS) < 0.5
			})
			if !dup {
				out = append(out, f)
			}
		}
	}
	addAll(r.Run.Faults)
	for _, name := range r.Keys() {
		addAll(r.Patterns[name].Faults)
	}
	return out
}

func processColor(proc string) string {
	if c, ok := processColors[proc]; ok {
		return c
	}
	return "#16a2b8"
}

// jsID makes name safe in a chart id (a JavaScript identifier).
func jsID(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// stackTop is the highest point of the stacked series pts (all on the
// same x values).
func stackTop(pts [][]point) float64 {
	top := 0.0
	if len(pts) == 0 {
		return 0
	}
	for i := range pts[0] {
		s := 0.0
		for _, p := range pts {
			if i < len(p) {
				s += p[i][1]
			}
		}
		top = max(top, s)
	}
	return top
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, for a shared
// axis's maximum; 0 (automatic) when v is 0.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*e {
			return m * e
		}
	}
	return 10 * e
}
