package reports

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/commbench/commbench/results"
)

// hopColors are the hops', in results.HopNames order.
var hopColors = [5]string{"#5b8def", "#f1c40f", "#8e44ad", "#e8710a", "#1e9e5a"}

// hopsTip lists a bar's hops and their sum, which is not the percentile of
// time-to-notify.
const hopsTip = `function (ps) { if (!ps.length) return ''; var s = ps[0].axisValue, t = 0; ps.forEach(function (p) { t += p.value; s += '<br/>' + p.marker + p.seriesName + ': <b>' + p.value + ' ms</b>'; }); return s + '<br/>sum of the hops: <b>' + t.toFixed(3) + ' ms</b>'; }`

// hopsSection splits time-to-notify into hops: a stacked bar per pattern
// of the hops' p50, and one of their p99. ok is false when no pattern was
// traced (a results.json from before tracing).
func hopsSection(r *results.Results, order []string) (section, bool) {
	var traced []string
	for _, name := range order {
		if r.Patterns[name].Summary.Traced > 0 {
			traced = append(traced, name)
		}
	}
	if len(traced) == 0 {
		return section{}, false
	}
	p50 := func(h *results.HopPercentiles) float64 { return h.P50 }
	p99 := func(h *results.HopPercentiles) float64 { return h.P99 }
	note := "Each reaction carries a W3C traceparent and its hop stamps through HTTP and Kafka headers; the notification service's ledger splits each first delivery's time-to-notify into hops: " +
		"api (the network into the reaction service), handoff (validation, store; hybrid's failed sync try), queue (the wire for sync; produce, ack and time in Kafka for async), " +
		"processing (dedup, retries, waiting for a provider slot), provider (the successful call). " +
		"A stack adds up the hops' percentiles, which is not the percentile of their sum: time-to-notify's own is in each subtitle. " +
		"Async's produce and ack are in its queue hop: the stamp travels in the message, before the ack."
	var untraced []string
	for _, name := range traced {
		s := r.Patterns[name].Summary
		if s.Delivered > s.Traced {
			untraced = append(untraced, fmt.Sprintf("%s %s", name, count(s.Delivered-s.Traced)))
		}
	}
	if len(untraced) > 0 {
		note += " Deliveries without hop stamps, not in the stacks: " + strings.Join(untraced, ", ") + "."
	}
	return section{
		Title: "Time-to-notify by hop",
		Note:  note,
		Cols:  2,
		Charts: []renderedChart{
			hopsChart(r, traced, "chart_hops_p50", "Hops at p50", "p50", p50, func(s results.Summary) float64 { return s.Notify.P50 }),
			hopsChart(r, traced, "chart_hops_p99", "Hops at p99", "p99", p99, func(s results.Summary) float64 { return s.Notify.P99 }),
		},
	}, true
}

// hopsChart is one stacked bar chart: a bar per pattern, a segment per hop.
func hopsChart(r *results.Results, names []string, id, title, q string, pick func(*results.HopPercentiles) float64, total func(results.Summary) float64) renderedChart {
	var totals []string
	for _, name := range names {
		totals = append(totals, name+" "+ms(total(r.Patterns[name].Summary))+" ms")
	}
	bar := charts.NewBar()
	bar.SetGlobalOptions(
		charts.WithInitializationOpts(opts.Initialization{ChartID: id, Width: "100%", Height: "340px", AssetsHost: assetsHost}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{
			Title: title, Subtitle: "time-to-notify " + q + ": " + strings.Join(totals, " · "),
			TitleStyle:    &opts.TextStyle{FontSize: 15},
			SubtitleStyle: &opts.TextStyle{FontSize: 11, Color: "#666"},
		}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "38", Left: "center"}),
		charts.WithGridOpts(opts.Grid{Top: "78", Left: "12", Right: "28", Bottom: "12", ContainLabel: opts.Bool(true)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "ms", SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#eee"}}}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: names}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis", Formatter: opts.FuncOpts(hopsTip)}),
	)
	bar.SetXAxis(names)
	for i := range results.HopNames {
		vs := make([]float64, len(names))
		for j, name := range names {
			h := r.Patterns[name].Summary.Hops
			vs[j] = math.Round(pick(h.All()[i])*1000) / 1000
		}
		color := hopColors[i]
		bar.AddSeries(results.HopNames[i], nil, func(ss *charts.SingleSeries) {
			ss.Data = vs
			ss.Stack = "hops"
			ss.Color = color
			ss.BarWidth = "45%"
		})
	}
	snip := bar.RenderSnippet()
	return renderedChart{ID: id, Element: template.HTML(snip.Element), Script: template.HTML(safeScript(snip.Script))}
}
