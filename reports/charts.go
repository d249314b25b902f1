package reports

import (
	"cmp"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/commbench/commbench/results"
)

// assetsHost is where go-echarts would point its <script> tags. The page
// never uses them (it inlines the library), and a relative host keeps any
// that slipped through off the network.
const assetsHost = "assets/"

// Colors of the patterns, the same on every chart of every page.
var patternColors = map[string]string{
	"sync":   "#3b6fd4",
	"async":  "#1e9e5a",
	"hybrid": "#e8710a",
}

// otherColors are for patterns without a fixed color, in order.
var otherColors = []string{"#8e44ad", "#c0392b", "#16a2b8", "#7f8c8d"}

// Colors of the processes (CPU) and of the drop classes.
var (
	processColors = map[string]string{
		"reaction": "#3b6fd4", "notification": "#1e9e5a", "broker": "#8e44ad", "generator": "#95a5a6",
	}
	dropColors = map[string]string{
		"timeout": "#c0392b", "refused": "#8e44ad", "reset": "#e67e22", "http_429": "#f1c40f",
		"http_503": "#e8710a", "http_5xx": "#d35400", "other": "#7f8c8d",
	}
	pathColors = map[string]string{"sync": "#3b6fd4", "async": "#1e9e5a"}
)

func colorOf(pattern string, order []string) string {
	if c, ok := patternColors[pattern]; ok {
		return c
	}
	i := 0
	for _, p := range order {
		if p == pattern {
			break
		}
		if _, ok := patternColors[p]; !ok {
			i++
		}
	}
	return otherColors[i%len(otherColors)]
}

// xKind is what a chart's x axis shows.
type xKind int

const (
	xTime       xKind = iota // seconds from the attack's start
	xPercentile              // 1/(1-p) on a log axis, labelled as percentiles
	xValue                   // a value axis named xName (a capacity run's offered rate, replicas)
)

// chart is one chart of a page, before go-echarts renders it.
type chart struct {
	id       string // stable: the golden files and the page's scripts name it
	title    string
	subtitle string
	x        xKind
	xName    string  // xValue's axis name and unit
	xMax     float64 // xValue's axis maximum; 0: automatic
	yName    string
	yLog     bool
	yMax     float64 // 0: automatic; small multiples share one
	stacked  bool
	height   int // px; 0: 340
	series   []series
	faults   []results.FaultWindow // shaded on time charts
	bound    []boundArea           // bound seconds, shaded grey on time charts
	drainAt  float64               // a line where the drain begins; 0: none
	hlines   []hline               // thresholds across a time or value chart
	vlines   []vline               // marks up a value chart at an x (a capacity, a machine limit)
}

// vline marks x on a value chart with its label at the top.
type vline struct {
	x     float64
	label string
	color string
}

// hline is a threshold drawn across a chart at y, with its label at the
// line's start, above it or below it.
type hline struct {
	y     float64
	label string
	below bool
}

// series is one line of a chart.
type series struct {
	name  string
	color string
	dash  string  // solid, dashed, dotted
	width float32 // 0: 2
	data  []point
	// gapped, when set, is drawn instead of data: [x, y] pairs with y
	// nil where nothing was measured, which breaks the line there rather
	// than join its neighbours across the hole.
	gapped [][2]any
	// items, when set, are drawn instead of data: points of a value
	// chart, each {"value": [x, y]} with its own style and the fields
	// its tooltip shows ("tip").
	items []any
	// symbol draws each point with it ("circle", "diamond"); "": none.
	symbol string
	noLine bool // points alone
}

// Funcs of the axis labels and tooltips, in JavaScript.
const (
	percentileLabel = `function (v) { if (v <= 1) return '0%'; var d = Math.max(0, Math.round(Math.log10(v)) - 2); return (100 - 100 / v).toFixed(d) + '%'; }`
	percentileTip   = `function (ps) { if (!ps.length) return ''; var v = ps[0].value[0]; var s = 'p ' + (v <= 1 ? '0' : (100 - 100 / v).toPrecision(6).replace(/0+$/, '').replace(/\.$/, '')) + '%'; ps.forEach(function (p) { s += '<br/>' + p.marker + p.seriesName + ': <b>' + p.value[1] + ' ms</b>'; }); return s; }`
	timeTip         = `function (ps) { if (!ps.length) return ''; var s = 't = ' + ps[0].axisValue + ' s'; ps.forEach(function (p) { s += '<br/>' + p.marker + p.seriesName + ': <b>' + (Array.isArray(p.value) ? p.value[1] : p.value) + '</b>'; }); return s; }`
	msLabel         = `function (v) { return v + ' ms'; }`
	// itemTip is a value chart's tooltip: the point's series, its x and y
	// with their units, and what its item says of it.
	itemTip = `function (p) { var v = Array.isArray(p.value) ? p.value : [p.name, p.value]; var d = p.data || {}; var u = d.units || ['', '']; var s = p.marker + p.seriesName + '<br/>' + v[0] + u[0] + ': <b>' + v[1] + u[1] + '</b>'; if (d.tip) s += '<br/>' + d.tip; return s; }`
)

// render turns c into go-echarts' element and script.
func (c chart) render() renderedChart {
	height := c.height
	if height == 0 {
		height = 340
	}
	line := charts.NewLine()
	bottom := "12"
	if c.x == xValue {
		bottom = "28" // room for the axis's name below it
	}
	line.SetGlobalOptions(append(frame(c.id, c.title, c.subtitle, height, bottom),
		charts.WithYAxisOpts(c.yAxis()),
		charts.WithXAxisOpts(c.xAxis()),
		charts.WithTooltipOpts(c.tooltip()),
	)...)
	for i, s := range c.series {
		line.AddSeries(s.name, nil, charts.WithSeriesOpts(c.seriesOpts(i, s)))
	}
	snip := line.RenderSnippet()
	return renderedChart{
		ID:      c.id,
		Element: template.HTML(snip.Element),
		Script:  template.HTML(safeScript(snip.Script)),
	}
}

// frame is what every chart of a page shares: its size, title, legend
// and grid, no animation.
func frame(id, title, subtitle string, height int, bottom string) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{
			ChartID: id, Width: "100%", Height: fmt.Sprintf("%dpx", height), AssetsHost: assetsHost,
		}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{
			Title: title, Subtitle: subtitle,
			TitleStyle:    &opts.TextStyle{FontSize: 15},
			SubtitleStyle: &opts.TextStyle{FontSize: 11, Color: "#666"},
		}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Type: "scroll", Top: "38", Left: "center"}),
		charts.WithGridOpts(opts.Grid{Top: "78", Left: "12", Right: "28", Bottom: bottom, ContainLabel: opts.Bool(true)}),
	}
}

// barChart is a chart of bars, a group of them per category (a pattern),
// a bar per series (a scale).
type barChart struct {
	id       string
	title    string
	subtitle string
	yName    string
	height   int // px; 0: 340
	cats     []string
	series   []barSeries
}

// barSeries is one bar of each category, each {"value": v} with its
// own style where it has one (a pattern without a capacity, greyed) and
// what its tooltip says ("tip").
type barSeries struct {
	name  string
	color string
	bars  []map[string]any
}

// barTip is a bar's tooltip: its category, series and value, and what
// its item says of it.
const barTip = `function (p) { var s = p.marker + p.name + ' · ' + p.seriesName + ': <b>' + p.value + '</b>'; if (p.data && p.data.tip) s += '<br/>' + p.data.tip; return s; }`

func (c barChart) render() renderedChart {
	height := c.height
	if height == 0 {
		height = 340
	}
	split := &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#eee"}}
	bar := charts.NewBar()
	bar.SetXAxis(c.cats)
	bar.SetGlobalOptions(append(frame(c.id, c.title, c.subtitle, height, "12"),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: c.yName, SplitLine: split}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: c.cats}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item", Formatter: opts.FuncOpts(barTip)}),
	)...)
	for _, s := range c.series {
		bar.AddSeries(s.name, nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
			ss.Data = s.bars
			ss.Color = s.color
			ss.Label = &opts.Label{Show: opts.Bool(true), Position: "top", Color: "#333", FontSize: 11}
		}))
	}
	snip := bar.RenderSnippet()
	return renderedChart{ID: c.id, Element: template.HTML(snip.Element), Script: template.HTML(safeScript(snip.Script))}
}

// safeScript keeps a "</" inside the script's strings (a pattern's or a
// fault's name, say) from ending the <script> element early.
func safeScript(s string) string {
	open := strings.Index(s, ">") + 1
	end := strings.LastIndex(s, "</script>")
	if open <= 0 || end < open {
		return s
	}
	return s[:open] + strings.ReplaceAll(s[open:end], "</", `<\/`) + s[end:]
}

func (c chart) xAxis() opts.XAxis {
	split := &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#eee"}}
	if c.x == xPercentile {
		return opts.XAxis{
			Type: "log", Name: "percentile", NameLocation: "middle", NameGap: 26,
			Min: 1, Max: spectrumTop, SplitLine: split,
			AxisLabel: &opts.AxisLabel{Formatter: opts.FuncOpts(percentileLabel)},
		}
	}
	if c.x == xValue {
		x := opts.XAxis{Type: "value", Name: c.xName, NameLocation: "middle", NameGap: 26, Min: 0, SplitLine: split}
		if c.xMax > 0 {
			x.Max = c.xMax
		}
		return x
	}
	if c.stacked {
		// ECharts stacks along x when both axes are "value": a stack is
		// drawn on a category axis of its series' shared x values.
		return opts.XAxis{Type: "category", Name: "s", Data: c.categories(), SplitLine: split,
			AxisLabel: &opts.AxisLabel{HideOverlap: opts.Bool(true)}}
	}
	return opts.XAxis{Type: "value", Name: "s", Min: 0, Max: "dataMax", SplitLine: split}
}

// categories are the x values of a stacked chart's series (all share
// them), as strings.
func (c chart) categories() []string {
	if len(c.series) == 0 {
		return []string{}
	}
	cs := make([]string, len(c.series[0].data))
	for i, p := range c.series[0].data {
		cs[i] = strconv.FormatFloat(p[0], 'f', -1, 64)
	}
	return cs
}

// xAt is where x falls on c's x axis: x itself on a value axis, the index
// of the first category at or after x on a category axis.
func (c chart) xAt(x float64) any {
	if !c.stacked {
		return secs(x)
	}
	if len(c.series) == 0 {
		return 0
	}
	d := c.series[0].data
	i, _ := slices.BinarySearchFunc(d, x, func(p point, x float64) int {
		return cmp.Compare(p[0], x)
	})
	return min(i, max(len(d)-1, 0))
}

func (c chart) yAxis() opts.YAxis {
	y := opts.YAxis{Type: "value", Name: c.yName, SplitLine: &opts.SplitLine{Show: opts.Bool(true), LineStyle: &opts.LineStyle{Color: "#eee"}}}
	if c.yLog {
		y.Type = "log"
	}
	if c.yMax > 0 {
		y.Max = sig(c.yMax)
	}
	return y
}

func (c chart) tooltip() opts.Tooltip {
	t := opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}
	if c.x == xValue {
		return opts.Tooltip{Show: opts.Bool(true), Trigger: "item", Formatter: opts.FuncOpts(itemTip)}
	}
	if c.x == xPercentile {
		t.Formatter = opts.FuncOpts(percentileTip)
	} else {
		t.Formatter = opts.FuncOpts(timeTip)
	}
	return t
}

func (c chart) seriesOpts(i int, s series) func(*charts.SingleSeries) {
	return func(ss *charts.SingleSeries) {
		if c.stacked {
			ys := make([]float64, len(s.data))
			for i, p := range s.data {
				ys[i] = p[1]
			}
			ss.Data = ys
		} else {
			ss.Data = s.data
			if s.data == nil {
				ss.Data = []point{}
			}
			if s.gapped != nil {
				ss.Data = s.gapped
			}
			if s.items != nil {
				ss.Data = s.items
			}
		}
		ss.ShowSymbol = opts.Bool(false)
		ss.Symbol = "none"
		if s.symbol != "" {
			ss.ShowSymbol, ss.Symbol, ss.SymbolSize = opts.Bool(true), s.symbol, 7
		}
		ss.Color = s.color
		width := s.width
		if width == 0 {
			width = 2
		}
		ss.LineStyle = &opts.LineStyle{Color: s.color, Width: width, Type: s.dash}
		if s.noLine {
			ss.LineStyle.Opacity = opts.Float(0)
		}
		if c.stacked {
			ss.Stack = "total"
			ss.AreaStyle = &opts.AreaStyle{Color: s.color, Opacity: opts.Float(0.55)}
			ss.LineStyle.Width = 1
		}
		if i == 0 && (c.x == xTime || c.x == xValue) {
			ss.MarkAreas, ss.MarkLines = c.marks()
		}
	}
}

// marks are the bound seconds and the fault windows, shaded, the drain's
// start and the thresholds: on the first series of a time chart, so that
// each is drawn once.
func (c chart) marks() (*opts.MarkAreas, *opts.MarkLines) {
	var areas *opts.MarkAreas
	if len(c.faults) > 0 || len(c.bound) > 0 {
		areas = &opts.MarkAreas{MarkAreaStyle: opts.MarkAreaStyle{
			ItemStyle: &opts.ItemStyle{Color: "rgba(214, 39, 40, 0.13)"},
			Label:     &opts.Label{Show: opts.Bool(true), Position: "insideTop", Color: "#a52a2a", FontSize: 11},
		}}
		// Grey first, so that a fault window is drawn over it.
		for _, b := range c.bound {
			areas.Data = append(areas.Data, []map[string]any{
				{"name": b.label, "xAxis": c.xAt(b.from), "itemStyle": map[string]any{"color": boundGrey},
					"label": map[string]any{"show": b.to-b.from >= c.labelSpan(), "position": "insideBottom",
						"offset": []int{0, -13 * b.row}, "color": b.labelColor, "fontSize": 10}},
				{"xAxis": c.xAt(b.to)},
			})
		}
		for _, f := range c.faults {
			areas.Data = append(areas.Data, []map[string]any{
				{"name": f.Target + " " + f.Kind, "xAxis": c.xAt(f.StartS)},
				{"xAxis": c.xAt(f.EndS)},
			})
		}
	}
	if c.drainAt <= 0 && len(c.hlines) == 0 && len(c.vlines) == 0 {
		return areas, nil
	}
	lines := &opts.MarkLines{
		MarkLineStyle: opts.MarkLineStyle{
			Symbol:    []string{"none", "none"},
			LineStyle: &opts.LineStyle{Color: "#999", Type: "dashed", Width: 1},
			Label:     &opts.Label{Show: opts.Bool(true), Formatter: "drain", Position: "insideEndTop", Color: "#777"},
		},
	}
	if c.drainAt > 0 {
		lines.Data = append(lines.Data, map[string]any{"name": "drain", "xAxis": c.xAt(c.drainAt)})
	}
	for _, h := range c.hlines {
		pos := "insideStartTop"
		if h.below {
			pos = "insideStartBottom"
		}
		lines.Data = append(lines.Data, map[string]any{
			"name": h.label, "yAxis": sig(h.y),
			"lineStyle": map[string]any{"color": "#a31d12", "type": "dashed", "width": 1.5},
			"label":     map[string]any{"formatter": h.label, "position": pos, "color": "#a31d12"},
		})
	}
	for _, v := range c.vlines {
		lines.Data = append(lines.Data, map[string]any{
			"name": v.label, "xAxis": sig(v.x),
			"lineStyle": map[string]any{"color": v.color, "type": "dashed", "width": 1.5},
			"label":     map[string]any{"formatter": v.label, "position": "insideEndTop", "color": v.color},
		})
	}
	return areas, lines
}

// labelSpan is the narrowest grey area that gets its label, in seconds:
// narrower ones would print their labels over each other.
func (c chart) labelSpan() float64 {
	last := 0.0
	for _, s := range c.series {
		if n := len(s.data); n > 0 {
			last = max(last, s.data[n-1][0])
		}
	}
	return max(3, last/30)
}

// renderedChart is a chart as the page template places it.
type renderedChart struct {
	ID      string
	Element template.HTML
	Script  template.HTML
}
