package reports

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// chainColors are the hops', A first: D, where the faults land, is red.
var chainColors = []string{"#3b6fd4", "#8e44ad", "#e8710a", "#c0392b", "#16a2b8", "#7f8c8d", "#1e9e5a", "#f1c40f"}

// hopTable is a chain pattern's hops, one row each.
type hopTable struct {
	Heads []string
	Rows  [][]cell
}

// chainSections show how far a fault at the end of a chain travelled: for
// each chain pattern (summary.chain), its hops' errors and p99 per second
// (async: and each hop's consumer lag), and a table of the hops. The first
// section carries the title and the note; ok is false when no pattern ran
// a chain, and the page is then as it was before chains.
func chainSections(r *results.Results, order []string) ([]section, bool) {
	var keys []string
	for _, name := range order {
		if len(r.Patterns[name].Summary.Chain) > 0 {
			keys = append(keys, name)
		}
	}
	if len(keys) == 0 {
		return nil, false
	}
	faults := faultWindows(r)
	drain := 0.0
	for _, name := range order {
		drain = max(drain, r.Patterns[name].Series.AttackEndS)
	}
	var out []section
	for _, key := range keys {
		p := r.Patterns[key]
		names := hopNames(p)
		bound := boundAreas(r, []string{key}, false)
		timeChart := func(id, title, yName string) chart {
			return chart{id: id + jsID(key), title: key + ": " + title, x: xTime, yName: yName, faults: faults, bound: bound, drainAt: drain}
		}
		ec := timeChart("chart_chain_errors_", "errors per hop per second", "errors/s")
		ec.subtitle = "A: requests dropped; later hops: calls failed, breaker rejections included"
		pc := timeChart("chart_chain_p99_", "p99 per hop per second", "ms")
		pc.subtitle = "of the calls each hop finished, all downstream included (none: no point); A: API p99; log scale"
		pc.yLog = true
		gc := timeChart("chart_chain_lag_", "consumer lag into each hop", "messages")
		gc.subtitle = "the lag of the consumer group reading into the hop, from the broker"
		for i, h := range names {
			hs := p.Series.Chain[h]
			if hs == nil {
				continue
			}
			c := chainColors[i%len(chainColors)]
			// A failure that travels gives every hop the same line: each
			// hop's is thinner than the one before, so that all show.
			w := float32(max(4-i, 1))
			// A second in which a hop finished no call, or could not be
			// read (a paused D, and loadgen then records 0), is a hole in
			// its lines, not a 0 nor a line across.
			idle := func(j int) bool {
				return j >= len(hs.Calls) || hs.Calls[j] == 0 && (j >= len(hs.Errors) || hs.Errors[j] == 0)
			}
			if s, ok := gapSeries(h, c, w, p.Series.T, floats(hs.Errors), known, idle); ok {
				ec.series = append(ec.series, s)
			}
			// A log axis draws no 0 either.
			if s, ok := gapSeries(h, c, w, p.Series.T, hs.P99, positive, idle); ok {
				pc.series = append(pc.series, s)
			}
			if s, ok := gapSeries(h, c, w, p.Series.T, floats(hs.Lag), known, func(int) bool { return false }); ok {
				gc.series = append(gc.series, s)
			}
		}
		s := section{Heading: key + " · " + chainKind(key, p), Cols: 2, Hops: hopsTable(p)}
		for _, c := range []chart{ec, pc, gc} {
			if len(c.series) > 0 {
				s.Charts = append(s.Charts, c.render())
			}
		}
		s.Cols = max(min(len(s.Charts), 3), 1)
		out = append(out, s)
	}
	out[0].Title = "Chain"
	out[0].Note = chainNote(hopNames(r.Patterns[keys[0]]))
	return out, true
}

// gapSeries is the line of v over t, with a hole where hole(i) or !keep(v[i]);
// ok is false when nothing is left to draw. A series longer than MaxPoints
// is downsampled as the other charts' are, holes bridged.
func gapSeries(name, color string, width float32, t, v []float64, keep func(float64) bool, hole func(i int) bool) (series, bool) {
	s := series{name: name, color: color, width: width}
	n := min(len(t), len(v))
	if n > MaxPoints {
		s.data = minMax(t, v, MaxPoints, keep)
		return s, len(s.data) > 0
	}
	s.gapped = make([][2]any, 0, n)
	drawn := false
	for i := range n {
		if hole(i) || !keep(v[i]) {
			s.gapped = append(s.gapped, [2]any{secs(t[i]), nil})
			continue
		}
		s.gapped = append(s.gapped, [2]any{secs(t[i]), sig(v[i])})
		drawn = true
	}
	return s, drawn
}

// hopNames are p's chain hops in order, A first.
func hopNames(p *results.Pattern) []string {
	var names []string
	for _, h := range p.Summary.Chain {
		names = append(names, h.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(p.Series.Chain)) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	return names
}

// chainNote says what the hops are and how to read the charts.
func chainNote(names []string) string {
	if len(names) < 2 {
		return "A reaction crosses a chain of services, A the reaction service first."
	}
	first, last := names[0], names[len(names)-1]
	relays := ""
	switch mid := names[1 : len(names)-1]; len(mid) {
	case 0:
	case 1:
		relays = mid[0] + " is a relay, "
	default:
		relays = strings.Join(mid[:len(mid)-1], ", ") + " and " + mid[len(mid)-1] + " are relays, "
	}
	return fmt.Sprintf("A reaction crosses a chain of services: %s is the reaction service (its calls, errors and latency are the load generator's requests, drops and API latency), %s"+
		"%s the notification service that calls the provider. Sync, each hop calls the next over HTTP; async, each hop is a Kafka consumer group producing to the next hop's topic. "+
		"The faults hit %s: read each chart from %s back to %s to see how far the errors and the waiting travelled. A hop's latency includes everything downstream of it.",
		first, relays, last, last, last, first)
}

// chainKind describes how a chain pattern's hops call each other.
func chainKind(key string, p *results.Pattern) string {
	pat := patternOf(key)
	switch {
	case pat == "async":
		return "async: each hop a Kafka consumer group"
	case p.Summary.ChainBreaker:
		return pat + ": HTTP, a circuit breaker on every hop"
	}
	return pat + ": HTTP, no circuit breakers"
}

// hopsTable is p's hops: calls, errors, breaker rejections and trips,
// latency and, async, the peak lag into each.
func hopsTable(p *results.Pattern) *hopTable {
	t := &hopTable{Heads: []string{"hop", "service", "calls", "errors", "rejected", "breaker opened", "p50 ms", "p99 ms", "max ms", "peak lag"}}
	na := cell{Text: "—", Class: "na"}
	lag := false
	for _, hs := range p.Series.Chain {
		lag = lag || len(hs.Lag) > 0
	}
	for i, h := range p.Summary.Chain {
		errs := count(h.Errors)
		if h.Errors > 0 {
			errs += " (" + pct(float64(h.Errors), float64(h.Calls)) + ")"
		}
		rw := []cell{{Text: h.Name}, {Text: h.Service}, {Text: count(h.Calls)}, {Text: errs}}
		// Every sync hop of a chain with breakers has one, A's included
		// (D calls the provider: no breaker).
		if (p.Summary.ChainBreaker && h.Service != "notification") || h.Rejected > 0 || h.Opened > 0 {
			rw = append(rw, cell{Text: count(h.Rejected)}, cell{Text: count(h.Opened)})
		} else {
			rw = append(rw, na, na)
		}
		rw = append(rw, cell{Text: ms(h.Latency.P50)}, cell{Text: ms(h.Latency.P99)}, cell{Text: ms(h.Latency.Max)})
		if lag && i > 0 {
			rw = append(rw, cell{Text: count(h.PeakLag)})
		} else {
			rw = append(rw, na)
		}
		t.Rows = append(t.Rows, rw)
	}
	return t
}

// patternOf is the pattern a results key stands for: "sync.nocb" is sync.
// A malformed key still names its pattern, the part before the first ".".
func patternOf(key string) string {
	k, _ := results.ParseKey(key)
	return string(k.Pattern)
}
