package profiles

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/commbench/commbench/pattern"
)

// Plan is what a profile will do to each pattern, for `commbench run
// --dry-run` and for the run's own bookkeeping.
type Plan struct {
	Profile     string
	Description string
	Patterns    []pattern.Pattern
	Warmup      Warmup
	// WarmupRequests is the warmup's requests, not recorded.
	WarmupRequests uint64
	Stages         []PlannedStage
	// Duration is the length of all stages, the warmup and drain excluded.
	Duration time.Duration
	// Requests is the exact number of requests the stages send to each
	// pattern: the floor of the integral of the rate, as loadgen's pacer
	// sends them.
	Requests uint64
	Faults   []Fault
	Chain    Chain
	// Drain is the longest wait for the backlog after the stages.
	Drain time.Duration
	// Variants are the profile's variants; each runs its patterns.
	Variants []Variant
	// Runs are the pattern runs, keyed as in results.json: the patterns,
	// or pattern.variant for each variant.
	Runs []string
}

// PlannedStage is a stage with its place in time and its requests.
type PlannedStage struct {
	Stage
	Start, End time.Duration // from the start of the first stage
	// Requests are those due within the stage: the whole requests of the
	// integral up to End minus those up to Start, so that the stages' counts
	// add up to the plan's Requests exactly.
	Requests uint64
}

// Plan lays out p's stages in time and counts their requests.
func (p *Profile) Plan() Plan {
	pl := Plan{
		Profile:        p.Name,
		Description:    p.Description,
		Patterns:       p.Patterns,
		Warmup:         p.Warmup,
		WarmupRequests: floorHits(stageHits(p.Warmup.For.Std(), p.Warmup.Rate, p.Warmup.Rate)),
		Stages:         make([]PlannedStage, len(p.Stages)),
		Faults:         p.Faults,
		Drain:          p.Drain.Timeout.Std(),
		Variants:       p.Variants,
		Chain:          p.Services.Chain,
	}
	for _, v := range p.Variants {
		for _, pt := range p.Patterns {
			if v.Runs(pt) {
				pl.Runs = append(pl.Runs, string(pt)+"."+v.Name)
			}
		}
	}
	if len(p.Variants) == 0 {
		for _, pt := range p.Patterns {
			pl.Runs = append(pl.Runs, string(pt))
		}
	}
	var hits float64
	for i, st := range p.Stages {
		start, before := pl.Duration, floorHits(hits)
		pl.Duration += st.For.Std()
		hits += stageHits(st.For.Std(), st.Rate, st.To)
		pl.Stages[i] = PlannedStage{Stage: st, Start: start, End: pl.Duration, Requests: floorHits(hits) - before}
	}
	pl.Requests = floorHits(hits)
	return pl
}

// String renders the plan as a table:
//
//	stage  time         rate (rps)   requests
//	1      0s–20s       500          10,000
//	2      20s–25s      500 → 5000   13,750
func (pl Plan) String() string {
	var b strings.Builder
	patterns := make([]string, len(pl.Patterns))
	for i, p := range pl.Patterns {
		patterns[i] = string(p)
	}
	fmt.Fprintf(&b, "profile %s: %s, one after another, fresh services for each\n", pl.Profile, strings.Join(patterns, ", "))
	if pl.Description != "" {
		fmt.Fprintf(&b, "  %s\n", pl.Description)
	}
	if pl.Warmup.For > 0 && pl.Warmup.Rate > 0 {
		fmt.Fprintf(&b, "warmup: %s at %s rps, %s requests, not recorded\n", pl.Warmup.For, rate(pl.Warmup.Rate), thousands(pl.WarmupRequests))
	} else {
		fmt.Fprintf(&b, "warmup: none\n")
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\ttime\trate (rps)\trequests")
	for i, st := range pl.Stages {
		r := rate(st.Rate)
		if st.To != st.Rate {
			r += " → " + rate(st.To)
		}
		fmt.Fprintf(tw, "%d\t%s–%s\t%s\t%s\n", i+1, st.Start, st.End, r, thousands(st.Requests))
	}
	fmt.Fprintf(tw, "total\t%s\t\t%s\n", pl.Duration, thousands(pl.Requests))
	tw.Flush()
	if c := pl.Chain; c.Depth > 2 {
		hops := make([]string, c.Depth)
		for i := range hops {
			hops[i] = string(rune('A' + i))
		}
		breaker := "no circuit breakers"
		if c.Breaker {
			breaker = fmt.Sprintf("a circuit breaker on every sync hop (opens after %d failures, for %s)", c.TripFailures, c.OpenFor)
		}
		fmt.Fprintf(&b, "\nchain: %s (reaction, %d relays, notification); %s\n", strings.Join(hops, " → "), c.Relays(), breaker)
	}
	if len(pl.Faults) > 0 {
		b.WriteString("\nfaults:\n")
		faults := slices.Clone(pl.Faults)
		slices.SortStableFunc(faults, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, f := range faults {
			fmt.Fprintf(tw, "  %s–%s\t%s %s%s\n", f.At, f.At+f.For, f.Target, f.Kind, faultDetail(f))
		}
		tw.Flush()
	}
	if len(pl.Variants) > 0 {
		b.WriteString("\nvariants:\n")
		for _, v := range pl.Variants {
			var knobs []string
			if v.Replicas > 0 {
				knobs = append(knobs, fmt.Sprintf("replicas %d", v.Replicas))
			}
			if v.Balancer != "" {
				knobs = append(knobs, "balancer "+string(v.Balancer))
			}
			if len(v.Groups) > 0 {
				knobs = append(knobs, "groups "+strings.Join(v.Groups, ", "))
			}
			if v.Breaker != nil {
				knobs = append(knobs, fmt.Sprintf("breaker %t", *v.Breaker))
			}
			if len(knobs) == 0 {
				knobs = []string{"the profile's knobs"}
			}
			fmt.Fprintf(&b, "  %s: %s\n", v.Name, strings.Join(knobs, "; "))
		}
		fmt.Fprintf(&b, "runs: %s\n", strings.Join(pl.Runs, ", "))
	}
	fmt.Fprintf(&b, "\ndrain: up to %s after the stages\n", pl.Drain)
	n := uint64(len(pl.Runs))
	fmt.Fprintf(&b, "per pattern: %s, %s requests; all patterns: %s recorded requests\n",
		pl.Duration, thousands(pl.Requests), thousands(n*pl.Requests))
	return b.String()
}

func faultDetail(f Fault) string {
	var d []string
	switch f.Kind {
	case KindSlowdown:
		d = append(d, "×"+rate(f.Factor))
	case KindLatency:
		d = append(d, "+"+f.Delay.String())
	}
	if f.Target == TargetNetwork {
		d = append(d, "on "+string(f.Link))
	}
	if len(d) == 0 {
		return ""
	}
	return " " + strings.Join(d, " ")
}

func rate(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }

// thousands writes n with commas: 247,500.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
