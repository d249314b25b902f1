package reports

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/validity"
)

// boundArea is a run of consecutive bound seconds of one pattern, shaded
// grey on the time charts.
//
// The patterns run one after another, so second 40 of sync and second 40
// of async are different moments: shading the union of their bound
// seconds would grey out seconds in which a pattern was measured fine. A
// chart of several patterns therefore shades each pattern's bound seconds
// apart, in the same colour-neutral grey, with a label naming the pattern
// in its colour, each pattern's labels on a row of their own; where the
// areas of several patterns overlap the grey deepens. A chart of one
// pattern shades only its own seconds, labelled with the cause.
type boundArea struct {
	from, to   float64 // seconds from the attack's start
	label      string
	labelColor string
	row        int // the label's row, from the bottom: the pattern's place in the chart
}

// boundGrey is the bound seconds' shade: colour-neutral, so that it reads
// the same under every pattern's lines and does not pass for a fault
// window's red; translucent, so that overlapping areas deepen.
const boundGrey = "rgba(80, 80, 80, 0.12)"

// boundAreas are the bound seconds of the patterns names as grey areas:
// on a chart of several patterns (overlay), labelled with the pattern; on
// a chart of one, with the cause. Results without validity (series.bound
// empty) have none.
func boundAreas(r *results.Results, names []string, overlay bool) []boundArea {
	var out []boundArea
	for k, name := range names {
		bound := r.Patterns[name].Series.Bound
		for i := 0; i < len(bound); {
			if bound[i] == "" {
				i++
				continue
			}
			var causes []string
			j := i
			for ; j < len(bound) && bound[j] != ""; j++ {
				if !slices.Contains(causes, bound[j]) {
					causes = append(causes, bound[j])
				}
			}
			a := boundArea{from: float64(i), to: float64(j), label: strings.Join(causes, ", "), labelColor: "#555"}
			if overlay {
				a.label, a.labelColor, a.row = name+" bound", colorOf(name, r.Keys()), k
			}
			out = append(out, a)
			i = j
		}
	}
	return out
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
const boundNote = "Grey: seconds the machine or the load generator set (bound), not the pattern. The patterns run one after another, so the same second of two patterns is not the same moment: on a chart of several patterns each pattern's bound seconds are shaded apart and labelled with its name where there is room, the grey deepening where they overlap; a chart of one pattern shades only its own seconds, labelled with the cause."

// thresholds are the run's validity thresholds, the defaults filled in
// where the run did not record them.
func thresholds(r *results.Results) results.ValidityThresholds {
	th := r.Run.Validity
	if th.HostBusy == 0 {
		th.HostBusy = validity.DefaultHostBusy
	}
	if th.LateByMs == 0 {
		th.LateByMs = float64(validity.DefaultLateBy) / float64(time.Millisecond)
	}
	if th.LateFraction == 0 {
		th.LateFraction = validity.DefaultLateFraction
	}
	if th.BoundFraction == 0 {
		th.BoundFraction = validity.DefaultBoundFraction
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
		hc.hlines = []hline{{y: busy, label: "machine-bound", below: true}}
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
	notes := []string{"The generator, the services and the broker share this host's cores: a second in which the host was saturated or the generator sent late measures the machine, not the pattern."}
	if len(hc.series) > 0 {
		sec.Charts = append(sec.Charts, hc.render())
		notes = append(notes, fmt.Sprintf("Host CPU: a second at or above %.0f%% of its %d cores is machine-bound.", 100*th.HostBusy, cores))
	} else if len(lc.series) > 0 {
		notes = append(notes, "The host's CPU was not measured (/proc/stat could not be read): no second could be judged machine-bound.")
	}
	if len(lc.series) > 0 {
		sec.Charts = append(sec.Charts, lc.render())
		note := fmt.Sprintf("Send lag: a second is generator-bound when more than %s%% of its sends left more than %s ms late",
			sigText(100*th.LateFraction), sigText(th.LateByMs))
		if th.LateFraction == 0.01 {
			note += "; a p99 above the line is, roughly, such a second"
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
