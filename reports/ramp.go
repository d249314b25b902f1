package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"io"

	"github.com/commbench/commbench/results"
)

// WriteRampFile writes the page of calibration ramps (commbench calibrate
// --ramp, and the Vegeta CLI's beside it) to path, atomically.
func WriteRampFile(path string, ramps []results.Ramp) error {
	var buf bytes.Buffer
	if err := WriteRamp(&buf, ramps); err != nil {
		return err
	}
	return writeFile(path, buf.Bytes())
}

// WriteRamp writes the page of calibration ramps to w: a header per ramp
// (what held on time, the CPU per request at the top), the ratio of the
// CPU per request of the first ramp to each other's, and charts of each
// second: rate, send lag, the generator's CPU, workers and connections.
func WriteRamp(w io.Writer, ramps []results.Ramp) error {
	if len(ramps) == 0 {
		return fmt.Errorf("ramp page: no ramp")
	}
	p := &page{
		Title:   fmt.Sprintf("commbench · calibration ramp 0 → %s rps", rate(ramps[0].MaxRate)),
		Library: template.JS(echartsJS),
		Notice:  echartsNotice,
		Version: EChartsVersion,
	}
	order := make([]string, len(ramps))
	for i, r := range ramps {
		order[i] = rampLabel(r)
	}
	for i, r := range ramps {
		h := header{Profile: order[i], Description: fmt.Sprintf("0 → %s rps over %s against a null endpoint answering after %s ms",
			rate(r.MaxRate), seconds(r.DurationS), ms(r.EndpointDelayMs))}
		h.Facts = append(h.Facts,
			[2]string{"held on time up to", rate(r.HeldRPS) + " rps (every second to there: ≥ 99% achieved, ≤ 1% of sends over 1 ms late)"},
			[2]string{"seconds over 1% late", fmt.Sprintf("%d of %d", r.LateSeconds, len(r.Seconds))},
			[2]string{"CPU per request", fmt.Sprintf("%.1f µs at ≥ %s rps", r.CPUUsPerReqAtMax, rate(0.9*r.MaxRate))},
			[2]string{"when", r.At.UTC().Format("2006-01-02 15:04 UTC")})
		if i > 0 && r.CPUUsPerReqAtMax > 0 {
			h.Facts = append(h.Facts, [2]string{"CPU per request, " + order[0] + " / " + order[i],
				fmt.Sprintf("%.2f× (%.1f / %.1f µs)", ramps[0].CPUUsPerReqAtMax/r.CPUUsPerReqAtMax, ramps[0].CPUUsPerReqAtMax, r.CPUUsPerReqAtMax)})
		}
		p.Runs = append(p.Runs, h)
	}
	c := rampCharts(ramps, order)
	sec := section{Title: "Each second", Cols: 2,
		Note: "Offered: the schedule's hits due in the second; sent and late by the generator's own clock; achieved: accepted answers that came in the second. CPU: the generator's process alone (the endpoint is another)."}
	for _, ch := range c {
		sec.Charts = append(sec.Charts, ch.render())
	}
	p.Sections = []section{sec}
	return pageTemplate.Execute(w, p)
}

func rampLabel(r results.Ramp) string {
	if r.Client != "" {
		return r.Tool + " (" + r.Client + ")"
	}
	return r.Tool
}

// rampCharts are the ramp page's charts, one line per ramp and measure.
func rampCharts(ramps []results.Ramp, order []string) []chart {
	rates := chart{id: "ramp-rate", title: "Rate", yName: "rps", x: xTime}
	lag := chart{id: "ramp-lag", title: "Send lag", subtitle: "actual minus intended send time", yName: "ms", x: xTime,
		hlines: []hline{{y: 1, label: "late: 1 ms"}}}
	cpu := chart{id: "ramp-cpu", title: "Generator CPU", yName: "cores", x: xTime}
	conc := chart{id: "ramp-workers", title: "Workers and connections", yName: "count", x: xTime}
	for i, r := range ramps {
		color := colorOf(order[i], order)
		pick := func(f func(results.RampSecond) float64) []point {
			ps := make([]point, len(r.Seconds))
			for j, s := range r.Seconds {
				ps[j] = point{s.T, sig(f(s))}
			}
			return ps
		}
		name := order[i]
		rates.series = append(rates.series,
			series{name: name + " offered", color: color, dash: "dotted", data: pick(func(s results.RampSecond) float64 { return s.OfferedRPS })},
			series{name: name + " achieved", color: color, data: pick(func(s results.RampSecond) float64 { return s.AchievedRPS })})
		lag.series = append(lag.series,
			series{name: name + " p99", color: color, data: pick(func(s results.RampSecond) float64 { return s.SendLagP99Ms })},
			series{name: name + " max", color: color, dash: "dashed", data: pick(func(s results.RampSecond) float64 { return s.SendLagMaxMs })})
		cpu.series = append(cpu.series,
			series{name: name, color: color, data: pick(func(s results.RampSecond) float64 { return s.CPUCores })})
		conc.series = append(conc.series,
			series{name: name + " workers", color: color, data: pick(func(s results.RampSecond) float64 { return float64(s.Workers) })},
			series{name: name + " conns", color: color, dash: "dashed", data: pick(func(s results.RampSecond) float64 { return float64(s.Conns) })})
	}
	return []chart{rates, lag, cpu, conc}
}
