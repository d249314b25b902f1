package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// boundArea is a run of consecutive bound seconds, shaded grey on the
// time charts.
//
// The patterns run one after another, so second 40 of sync and second 40
// of async are different moments: shading the union of their bound
// seconds would grey out seconds in which a pattern was measured fine. A
// chart of several patterns therefore shades, second by second, the set
// of its patterns that were bound then and names that set in the area's
// label ("bound: async, hybrid"), a deeper grey the more patterns it
// holds; seconds with the same set merge. A chart of one pattern shades
// only its own seconds, labelled with the cause.
type boundArea struct {
	from, to float64 // seconds from the attack's start
	label    string
	n        int // patterns bound in it: the shade deepens with each
}

// color is the area's grey: colour-neutral, so that it reads the same on
// every pattern's lines and does not pass for a fault window's red.
func (b boundArea) color() string {
	return fmt.Sprintf("rgba(80, 80, 80, %.2f)", min(0.12+0.08*float64(b.n-1), 0.32))
}

// boundAreas are the bound seconds of the patterns names as grey areas:
// on a chart of several patterns (overlay), labelled with the patterns
// bound in each; on a chart of one, with the cause. Results without
// validity (series.bound empty) have none.
func boundAreas(r *results.Results, names []string, overlay bool) []boundArea {
	n := 0
	for _, name := range names {
		n = max(n, len(r.Patterns[name].Series.Bound))
	}
	var out []boundArea
	var causes [][]string // per area, the causes seen, in order
	key := ""             // the set of patterns bound in the last second
	for i := range n {
		var who, why []string
		for _, name := range names {
			if b := r.Patterns[name].Series.Bound; i < len(b) && b[i] != "" {
				who, why = append(who, name), append(why, b[i])
			}
		}
		k := strings.Join(who, ", ")
		if k == "" {
			key = ""
			continue
		}
		if !overlay {
			k = "bound"
		}
		if k == key {
			last := len(out) - 1
			out[last].to = float64(i + 1)
			causes[last] = appendNew(causes[last], why...)
			continue
		}
		key = k
		out = append(out, boundArea{from: float64(i), to: float64(i + 1), label: "bound: " + k, n: len(who)})
		causes = append(causes, appendNew(nil, why...))
	}
	if !overlay {
		for i := range out {
			out[i].label = strings.Join(causes[i], ", ")
		}
	}
	return out
}

func appendNew(list []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// hasBound says whether any pattern of r had a bound second.
func hasBound(r *results.Results) bool {
	for _, p := range r.Patterns {
		for _, b := range p.Series.Bound {
			if b != "" {
				return true
			}
		}
	}
	return false
}

// boundNote explains the grey areas, under the first chart that has them.
const boundNote = "Grey: seconds the machine or the load generator set (bound), not the pattern. The patterns run one after another, so the same second of two patterns is not the same moment: on a chart of several patterns a grey area names the patterns whose second it was, a deeper grey where more were bound; a chart of one pattern shades only its own seconds."

// thresholds are the run's validity thresholds, the defaults filled in
// where the run did not record them.
func thresholds(r *results.Results) results.ValidityThresholds {
	th := r.Run.Validity
	if th.HostBusy == 0 {
		th.HostBusy = 0.9
	}
	if th.LateByMs == 0 {
		th.LateByMs = 1
	}
	if th.LateFraction == 0 {
		th.LateFraction = 0.01
	}
	if th.BoundFraction == 0 {
		th.BoundFraction = 0.05
	}
	return th
}

// hostCores is how many cores the validity verdicts judged the host by.
func hostCores(r *results.Results) int {
	if r.Run.Host.Cores > 0 {
		return r.Run.Host.Cores
	}
	return r.Run.Machine.CPUs
}

// machineSection: the host's busy cores and the generator's send lag per
// second, a line per pattern, against the lines where a second becomes
// bound; ok is false for results without them.
func (tl *timeline) machineSection() (section, bool) {
	th, cores := thresholds(tl.r), hostCores(tl.r)
	hc := tl.chart("chart_host_cpu", "Host CPU busy", "cores")
	hc.subtitle = "every process on the host, steal included; per second"
	if cores > 0 {
		busy := th.HostBusy * float64(cores)
		hc.hlines = []hline{{y: busy, label: fmt.Sprintf("machine-bound at %s cores (%.0f%% of %d)", sigText(busy), 100*th.HostBusy, cores)}}
		hc.yMax = float64(cores)
	}
	lc := tl.chart("chart_send_lag", "Load generator's send lag, p99 per second", "ms")
	lc.subtitle = "actual − intended send time; log scale"
	lc.yLog = true
	lc.hlines = []hline{{y: th.LateByMs, label: fmt.Sprintf("late: more than %s ms", sigText(th.LateByMs))}}
	for _, name := range tl.order {
		s, c := tl.r.Patterns[name].Series, colorOf(name, tl.order)
		if pts := minMax(s.T, s.HostCPU, MaxPoints, known); len(pts) > 0 {
			hc.series = append(hc.series, series{name: name, color: c, data: pts})
			hc.yMax = max(hc.yMax, maxOf(s.HostCPU))
		}
		if pts := minMax(s.T, s.SendLagP99, MaxPoints, positive); len(pts) > 0 {
			lc.series = append(lc.series, series{name: name, color: c, data: pts})
		}
	}
	sec := section{Title: "The machine", Cols: 2}
	notes := []string{"Did the pattern set the numbers, or the machine that measured it? The generator, the services and the broker share this host's cores."}
	if len(hc.series) > 0 {
		sec.Charts = append(sec.Charts, hc.render())
		notes = append(notes, fmt.Sprintf("Left: the host's busy cores; a second at or above %.0f%% of its %d cores is machine-bound.", 100*th.HostBusy, cores))
	} else if len(lc.series) > 0 {
		notes = append(notes, "The host's CPU was not measured (/proc/stat could not be read): no second could be judged machine-bound.")
	}
	if len(lc.series) > 0 {
		sec.Charts = append(sec.Charts, lc.render())
		note := fmt.Sprintf("Right: how late the generator sent; a second is generator-bound when more than %s%% of its sends left more than %s ms late",
			sigText(100*th.LateFraction), sigText(th.LateByMs))
		if th.LateFraction == 0.01 {
			note += ", so a p99 above the line is, roughly, such a second"
		}
		notes = append(notes, note+".")
	}
	if len(sec.Charts) == 0 {
		return section{}, false
	}
	sec.Cols = len(sec.Charts)
	if hasBound(tl.r) {
		notes = append(notes, boundNote)
	}
	sec.Note = strings.Join(notes, " ")
	return sec, true
}

// sigText formats v with up to 3 significant digits.
func sigText(v float64) string { return fmt.Sprintf("%.3g", v) }
