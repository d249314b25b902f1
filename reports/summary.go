package reports

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/commbench/commbench/results"
)

// direction says which way a metric is better.
type direction int

const (
	neutral direction = iota // no best: a count of what was asked
	lower
	higher
)

// metric is one row of the summary table.
type metric struct {
	group string // starts a group of rows when it differs from the row before
	label string
	dir   direction
	// value is the metric of p; ok false: it does not apply (no broker,
	// no such process).
	value  func(p *results.Pattern) (v float64, ok bool)
	format func(v float64, p *results.Pattern) string
	// missing is a cell's text where the value does not apply; nil: "—".
	missing func(p *results.Pattern) string
	// class marks a cell whatever the row's best (a pattern that is not
	// ok); nil or "": nothing.
	class func(p *results.Pattern) string
	// categorical: the value is a kind, not an amount, 0 the good one; the
	// compare table says "changed" rather than by how much.
	categorical bool
}

func always(f func(s *results.Summary) float64) func(*results.Pattern) (float64, bool) {
	return func(p *results.Pattern) (float64, bool) { return f(&p.Summary), true }
}

func fmtCount(v float64, _ *results.Pattern) string { return count(int64(v)) }
func fmtRate(v float64, _ *results.Pattern) string  { return rate(v) }
func fmtMs(v float64, _ *results.Pattern) string    { return ms(v) }
func fmtOfSent(v float64, p *results.Pattern) string {
	return pct(v, float64(p.Summary.Requests))
}

// The summary table's groups of rows.
const (
	groupValidity = "Validity: did the pattern set these numbers, or the machine?"
	groupLoad     = "Load"
	groupAPI      = "API latency, ms (from the intended send time)"
	groupNotify   = "Time-to-notify, ms"
	groupDrops    = "Drops, % of sent"
	groupDelivery = "Delivery"
	groupCPU      = "CPU-seconds per 1,000 accepted reactions"
)

// shown says which rows that only some results have a table shows.
type shown struct {
	validity      bool // some pattern's validity was judged (issue 12's fields are there)
	gaps          bool // some pattern had ledger sample gaps
	neverNotified bool // some pattern had reactions whose author was never notified
}

func shownIn(rs ...*results.Results) shown {
	var sh shown
	for _, r := range rs {
		for _, p := range r.Patterns {
			s := &p.Summary
			sh.validity = sh.validity || judged(s)
			sh.gaps = sh.gaps || s.SampleGaps > 0
			sh.neverNotified = sh.neverNotified || s.NeverNotified > 0
		}
	}
	return sh
}

// metrics are the summary table's rows for the processes in procs.
func metrics(procs []string, sh shown) []metric {
	var m []metric
	if sh.validity {
		m = append(m, validityMetrics(sh)...)
	}
	m = append(m, loadMetrics()...)
	m = append(m, latencyMetrics(groupAPI, false, func(s *results.Summary) results.Percentiles { return s.API })...)
	m = append(m, latencyMetrics(groupNotify, true, func(s *results.Summary) results.Percentiles { return s.Notify })...)
	m = append(m, metric{group: groupDrops, label: "all", dir: lower, format: fmtOfSent,
		value: always(func(s *results.Summary) float64 { return float64(s.Drops.Total) })})
	for _, class := range results.DropClasses {
		m = append(m, metric{group: groupDrops, label: dropLabel(class), dir: lower, format: fmtOfSent,
			value: always(func(s *results.Summary) float64 { return float64(dropsOf(s.Drops, class)) })})
	}
	m = append(m, deliveryMetrics(sh)...)
	return append(m, cpuMetrics(procs)...)
}

func loadMetrics() []metric {
	return []metric{
		{group: groupLoad, label: "requests sent", format: fmtCount, value: always(func(s *results.Summary) float64 { return float64(s.Requests) })},
		{group: groupLoad, label: "offered rps", format: fmtRate, value: always(func(s *results.Summary) float64 { return s.OfferedRPS })},
		{group: groupLoad, label: "achieved rps", dir: higher, format: fmtRate, value: always(func(s *results.Summary) float64 { return s.AchievedRPS })},
		{group: groupLoad, label: "accepted", dir: higher, value: always(func(s *results.Summary) float64 { return float64(s.Accepted) }),
			format: func(v float64, p *results.Pattern) string {
				return count(int64(v)) + " (" + pct(v, float64(p.Summary.Requests)) + ")"
			}},
		{group: groupLoad, label: "goodput rps", dir: higher, format: fmtRate, value: always(func(s *results.Summary) float64 { return s.GoodputRPS })},
		{group: groupLoad, label: "accepted via sync / async path", value: always(func(s *results.Summary) float64 { return float64(s.AcceptedSync) }),
			format: func(v float64, p *results.Pattern) string {
				s := p.Summary
				if s.Accepted == 0 {
					return "—"
				}
				return pct(float64(s.AcceptedSync), float64(s.Accepted)) + " / " + pct(float64(s.AcceptedAsync), float64(s.Accepted))
			}},
	}
}

// latencyMetrics are a latency's percentiles; time-to-notify (notify)
// has no p90 and p99.9, and applies only to patterns that delivered.
func latencyMetrics(group string, notify bool, get func(s *results.Summary) results.Percentiles) []metric {
	pick := []struct {
		label string
		f     func(p results.Percentiles) float64
	}{
		{"p50", func(p results.Percentiles) float64 { return p.P50 }},
		{"p90", func(p results.Percentiles) float64 { return p.P90 }},
		{"p99", func(p results.Percentiles) float64 { return p.P99 }},
		{"p99.9", func(p results.Percentiles) float64 { return p.P999 }},
		{"max", func(p results.Percentiles) float64 { return p.Max }},
	}
	var ms []metric
	for _, k := range pick {
		if notify && (k.label == "p90" || k.label == "p99.9") {
			continue
		}
		ms = append(ms, metric{group: group, label: k.label, dir: lower, format: fmtMs,
			value: func(p *results.Pattern) (float64, bool) {
				if notify && p.Summary.Delivered == 0 {
					return 0, false
				}
				return k.f(get(&p.Summary)), true
			}})
	}
	return ms
}

// deliveryMetrics: what became of the accepted reactions. The ledger's
// counts are unknown where its final read failed.
func deliveryMetrics(sh shown) []metric {
	m := []metric{
		ledgerMetric("lost", func(s *results.Summary) int64 { return s.Lost }),
		ledgerMetric("duplicated", func(s *results.Summary) int64 { return s.Duplicated }),
		ledgerMetric("dead-lettered", func(s *results.Summary) int64 { return s.DeadLettered }),
	}
	if sh.neverNotified {
		nn := ledgerMetric("never notified (lost or dead-lettered)", func(s *results.Summary) int64 { return s.NeverNotified })
		known := nn.value
		nn.value = func(p *results.Pattern) (float64, bool) {
			v, _ := known(p)
			return v, judged(&p.Summary) || p.Summary.NeverNotified > 0
		}
		m = append(m, nn)
	}
	return append(m,
		metric{group: groupDelivery, label: "indeterminate (client timed out)", dir: lower, format: fmtCount, value: always(func(s *results.Summary) float64 { return float64(s.Indeterminate) })},
		metric{group: groupDelivery, label: "drain time", dir: lower,
			value: always(func(s *results.Summary) float64 {
				if !s.Drained {
					return math.Inf(1)
				}
				return s.DrainS
			}),
			format: func(v float64, p *results.Pattern) string {
				if math.IsInf(v, 1) {
					return "not drained (" + seconds(p.Summary.DrainS) + ")"
				}
				return seconds(v)
			}},
		metric{group: groupDelivery, label: "peak consumer lag", dir: lower, format: fmtCount,
			value: func(p *results.Pattern) (float64, bool) {
				return float64(p.Summary.PeakLag), len(p.Series.Lag) > 0
			}},
	)
}

// ledgerMetric is a count from the ledger's final read: "unknown" (+Inf,
// never the best) where that read failed.
func ledgerMetric(label string, f func(s *results.Summary) int64) metric {
	return metric{group: groupDelivery, label: label, dir: lower,
		value: always(func(s *results.Summary) float64 {
			if s.LostUnknown {
				return math.Inf(1)
			}
			return float64(f(s))
		}),
		format: func(v float64, _ *results.Pattern) string {
			if math.IsInf(v, 1) {
				return "unknown"
			}
			return count(int64(v))
		}}
}

// cpuMetrics: CPU per 1,000 by process. A process whose CPU the run could
// not read (an external broker) says "not measured", never 0, and the
// total says it leaves it out.
func cpuMetrics(procs []string) []metric {
	var m []metric
	for _, proc := range append([]string{"total"}, procs...) {
		m = append(m, metric{group: groupCPU, label: proc, dir: lower,
			value: func(p *results.Pattern) (float64, bool) {
				if slices.Contains(p.Summary.CPUNotMeasured, proc) {
					return 0, false
				}
				v, ok := p.Summary.CPUSecondsPer1k[proc]
				return v, ok
			},
			format: func(v float64, p *results.Pattern) string {
				if proc == "total" && len(p.Summary.CPUNotMeasured) > 0 {
					return cpu(v) + " (without " + strings.Join(p.Summary.CPUNotMeasured, ", ") + ")"
				}
				return cpu(v)
			},
			missing: func(p *results.Pattern) string {
				if slices.Contains(p.Summary.CPUNotMeasured, proc) {
					return "not measured"
				}
				return "—"
			}})
	}
	return m
}

// cellOf is m's cell for p (nil: the pattern is not in the run), best
// marking it the row's best.
func cellOf(m metric, p *results.Pattern, v float64, ok, best bool) cell {
	if p == nil {
		return cell{Text: "—", Class: "na"}
	}
	if !ok {
		c := cell{Text: "—", Class: "na"}
		if m.missing != nil {
			c.Text = m.missing(p)
		}
		return c
	}
	c := cell{Text: m.format(v, p)}
	if best {
		c.Class = "best"
	}
	if m.class != nil {
		if class := m.class(p); class != "" {
			c.Class = class
		}
	}
	return c
}

// processes are the processes named in the patterns' CPU numbers and
// series, in a fixed order: the services first, then the others by name.
func processes(r *results.Results) []string {
	fixed := []string{"reaction", "notification", "broker", "generator"}
	seen := map[string]bool{}
	for _, p := range r.Patterns {
		for k := range p.Summary.CPUSecondsPer1k {
			seen[k] = true
		}
		for k := range p.Series.CPU {
			seen[k] = true
		}
		for _, k := range p.Summary.CPUNotMeasured {
			seen[k] = true
		}
	}
	delete(seen, "total")
	var out, rest []string
	for _, k := range fixed {
		if seen[k] {
			out = append(out, k)
		}
	}
	for k := range seen {
		if !slices.Contains(fixed, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

func dropLabel(class string) string {
	switch class {
	case "http_429":
		return "429 rate limited"
	case "http_503":
		return "503 overloaded"
	case "http_5xx":
		return "other 5xx"
	case "refused":
		return "connection refused"
	case "reset":
		return "connection reset"
	}
	return class
}

func dropsOf(d results.Drops, class string) int64 {
	switch class {
	case "timeout":
		return d.Timeout
	case "refused":
		return d.Refused
	case "reset":
		return d.Reset
	case "http_429":
		return d.HTTP429
	case "http_503":
		return d.HTTP503
	case "http_5xx":
		return d.HTTP5xx
	}
	return d.Other
}

// table is a summary table as the page template draws it.
type table struct {
	Heads    []head
	SubHeads []string // compare: A, B, Δ under each head
	Rows     []row
}

type head struct {
	Name  string
	Color string
	Span  int // columns under it (compare: a run, b run, delta)
}

type row struct {
	Group string // a group's title row: no label or cells
	Label string
	Cells []cell
}

type cell struct {
	Text  string
	Class string // best, better, worse, na, delta
}

// summaryTable is one run's table: a column per pattern, the best value
// in each row marked (when the patterns differ).
func summaryTable(r *results.Results, order []string) table {
	var t table
	for _, name := range order {
		t.Heads = append(t.Heads, head{Name: name, Color: colorOf(name, order), Span: 1})
	}
	group := ""
	for _, m := range metrics(processes(r), shownIn(r)) {
		if m.group != group {
			group = m.group
			t.Rows = append(t.Rows, row{Group: group})
		}
		vals := make([]float64, len(order))
		oks := make([]bool, len(order))
		for i, name := range order {
			vals[i], oks[i] = m.value(r.Patterns[name])
		}
		best := bestOf(m.dir, vals, oks)
		rw := row{Label: m.label}
		for i, name := range order {
			rw.Cells = append(rw.Cells, cellOf(m, r.Patterns[name], vals[i], oks[i], best[i]))
		}
		t.Rows = append(t.Rows, rw)
	}
	return t
}

// bestOf marks the best of the values that apply; nothing when the
// metric has no direction, fewer than two values apply or all are equal.
func bestOf(dir direction, vals []float64, oks []bool) []bool {
	best := make([]bool, len(vals))
	if dir == neutral {
		return best
	}
	var b float64
	n, first := 0, true
	for i, v := range vals {
		if !oks[i] {
			continue
		}
		n++
		if first || (dir == lower && v < b) || (dir == higher && v > b) {
			b, first = v, false
		}
	}
	if n < 2 {
		return best
	}
	all := true
	for i, v := range vals {
		if oks[i] && v != b {
			all = false
		}
	}
	if all {
		return best
	}
	for i, v := range vals {
		best[i] = oks[i] && v == b
	}
	return best
}

// minMarked is the smallest relative change, in percent, that the compare
// table marks better or worse: below it, run-to-run noise.
const minMarked = 1.0

// delta formats b against a for the compare table: the relative change,
// or the absolute one from 0, marked better or worse by the metric's
// direction when it is at least minMarked.
func delta(dir direction, a, b float64) cell {
	if a == b || (math.IsInf(a, 1) && math.IsInf(b, 1)) {
		return cell{Text: "=", Class: "delta"}
	}
	var text string
	rel := math.Inf(1) // the relative change, where there is one
	switch {
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		text = "changed"
	case a == 0:
		text = "+" + strconv.FormatFloat(sig(b), 'g', -1, 64) + " (from 0)"
	default:
		rel = 100 * (b - a) / math.Abs(a)
		sign := "+"
		if rel < 0 {
			sign = ""
		}
		text = sign + strconv.FormatFloat(rel, 'f', 1, 64) + "%"
		if math.Abs(rel) < 0.05 {
			text = "≈"
		}
	}
	class := "delta"
	switch {
	case math.Abs(rel) < minMarked:
	case dir == lower && b < a, dir == higher && b > a:
		class = "delta better"
	case dir == lower && b > a, dir == higher && b < a:
		class = "delta worse"
	}
	return cell{Text: text, Class: class}
}
