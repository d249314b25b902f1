package claims

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// Thresholds the rules share. A drop ratio is drops over requests sent in
// the seconds looked at.
const (
	// Failed is the drop ratio above which a pattern failed its callers.
	Failed = 0.01
	// Clean is the drop ratio at or below which it did not.
	Clean = 0.001
	// RestartSlack is added after a fault's end: a process started again
	// needs a moment before it answers, and answers in flight land late.
	RestartSlack = 2.0
)

// run is what the rules read: the results and the profile as it ran, and
// what the rule being evaluated has read of them (judge.go).
type run struct {
	r    *results.Results
	prof *profiles.Profile // as it ran; nil when run.profile_yaml does not parse
	read reads
}

// pattern returns the results of pattern name ("sync"): its own key, or
// else the first key of that pattern (a variant such as sync.r1, or
// sync.2 of a repeat); nil when the run has none. The verdict is decided
// from them (judge).
func (in *run) pattern(name string) (string, *results.Pattern) {
	k, _ := in.lookup(name)
	if k == "" {
		return "", nil
	}
	return k, in.get(k)
}

// lookup is pattern without recording the read.
func (in *run) lookup(name string) (string, *results.Pattern) {
	if p, ok := in.r.Patterns[name]; ok {
		return name, p
	}
	for _, k := range in.r.Keys() {
		if patternOf(k) == name {
			return k, in.r.Patterns[k]
		}
	}
	return "", nil
}

// patternOf is the pattern a results key stands for: "sync.r1.2" is sync.
// A malformed key still names its pattern, the part before the first ".".
func patternOf(key string) string {
	k, _ := results.ParseKey(key)
	return string(k.Pattern)
}

// faults are the fault windows of p that fired (those of the run when p
// records none) and satisfy keep.
func (in *run) faults(p *results.Pattern, keep func(results.FaultWindow) bool) []results.FaultWindow {
	src := p.Faults
	if len(src) == 0 {
		src = in.r.Run.Faults
	}
	var out []results.FaultWindow
	for _, f := range src {
		if f.Error == "" && f.EndS > f.StartS && keep(f) {
			out = append(out, f)
		}
	}
	return out
}

func target(t string, kinds ...string) func(results.FaultWindow) bool {
	return func(f results.FaultWindow) bool {
		return f.Target == t && (len(kinds) == 0 || slices.Contains(kinds, f.Kind))
	}
}

// seconds are the indices of s's seconds that end inside any of ws, each
// window extended by slack seconds: second i ends at s.T[i] and is inside
// [start, end] when start < T[i] <= end+slack.
func seconds(s results.Series, ws []results.FaultWindow, slack float64) []int {
	var out []int
	for i, t := range s.T {
		for _, w := range ws {
			if t > w.StartS && t <= w.EndS+slack {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// tally is the requests sent and dropped in some seconds of a series.
type tally struct {
	sent, drops float64
}

func (t tally) ratio() float64 {
	if t.sent <= 0 {
		return 0
	}
	return t.drops / t.sent
}

func count(s results.Series, idx []int) tally {
	var t tally
	for _, i := range idx {
		if i < len(s.AchievedRPS) {
			t.sent += s.AchievedRPS[i]
		}
		t.drops += float64(dropsAt(s, i))
	}
	return t
}

func dropsAt(s results.Series, i int) int64 {
	var n int64
	for _, v := range s.Drops {
		if i < len(v) {
			n += v[i]
		}
	}
	return n
}

// surge finds the peak and the base of s's offered rate over the attack,
// leaving out seconds in any of skip: the peak seconds are those at or
// above 90% of the highest rate, the base those at or below 110% of the
// lowest non-zero one. ok is false when the highest rate is under twice
// the lowest (no surge) or either set is empty.
func surge(s results.Series, skip []results.FaultWindow) (peak, base []int, peakRPS, baseRPS float64, ok bool) {
	lo, hi := math.Inf(1), 0.0
	for i, t := range s.T {
		if t > s.AttackEndS || i >= len(s.OfferedRPS) || s.OfferedRPS[i] <= 0 {
			continue
		}
		lo, hi = min(lo, s.OfferedRPS[i]), max(hi, s.OfferedRPS[i])
	}
	if hi == 0 || hi < 2*lo {
		return nil, nil, hi, lo, false
	}
	skipped := seconds(s, skip, 0)
	for i, t := range s.T {
		if t > s.AttackEndS || i >= len(s.OfferedRPS) || slices.Contains(skipped, i) {
			continue
		}
		switch v := s.OfferedRPS[i]; {
		case v >= 0.9*hi:
			peak = append(peak, i)
		case v > 0 && v <= 1.1*lo:
			base = append(base, i)
		}
	}
	return peak, base, hi, lo, len(peak) > 0 && len(base) > 0
}

// median of v at the indices idx, leaving out non-positive values (a
// second without answers); 0 when none is left.
func median(v []float64, idx []int) float64 {
	var xs []float64
	for _, i := range idx {
		if i < len(v) && v[i] > 0 {
			xs = append(xs, v[i])
		}
	}
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// knobs is what one pattern key ran with.
type knobs struct {
	replicas int
	balancer string // "nginx" or "none"
	groups   int
}

// knobsOf returns the knobs pattern key ran with: those its summary
// records (replicas, balancer, groups), or else, for results from before
// the summary had them, those of the profile as it ran (run.profile_yaml)
// with the key's variant applied, as the run applied it. ok is false for
// a key whose variant the profile does not name, or any variant when the
// profile does not parse; a repeat (sync.2, sync.r1.2) counts as its first
// run.
func (in *run) knobsOf(key string) (knobs, bool) {
	// A run that records them in the summary says best.
	if p := in.r.Patterns[key]; p != nil && p.Summary.Replicas > 0 {
		s := p.Summary
		k := knobs{replicas: s.Replicas, balancer: s.Balancer, groups: 1 + len(s.Groups)}
		if k.balancer == "" {
			k.balancer = "none"
		}
		return k, true
	}
	k, _ := results.ParseKey(key)
	if in.prof == nil {
		// One notification process, called directly, in one group.
		return knobs{replicas: 1, balancer: string(profiles.BalancerNone), groups: 1}, k.Variant == ""
	}
	var v profiles.Variant
	if k.Variant != "" {
		i := slices.IndexFunc(in.prof.Variants, func(v profiles.Variant) bool { return v.Name == k.Variant })
		if i < 0 {
			return knobs{}, false
		}
		v = in.prof.Variants[i]
	}
	s := in.prof.Apply(v).Services
	return knobs{
		replicas: max(s.Notification.Replicas, 1),
		balancer: string(s.Notification.LB()),
		groups:   max(len(s.Kafka.Groups), 1),
	}, true
}

// parseProfile is the profile as it ran, from run.profile_yaml; nil when
// it does not parse (a run from an older commbench, say).
func parseProfile(ri results.RunInfo) *profiles.Profile {
	p, err := profiles.Parse(ri.ProfileFile, []byte(ri.ProfileYAML))
	if err != nil {
		return nil
	}
	return p
}

// ms formats milliseconds with the precision their size deserves.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// pct formats a ratio as a percentage.
func pct(ratio float64) string {
	switch v := 100 * ratio; {
	case v == 0:
		return "0%"
	case v < 0.1:
		return fmt.Sprintf("%.3f%%", v)
	case v < 10:
		return fmt.Sprintf("%.1f%%", v)
	default:
		return fmt.Sprintf("%.0f%%", v)
	}
}

// round keeps numbers readable in results.json: two decimals.
func round(v float64) float64 { return math.Round(v*100) / 100 }

// window describes fault windows for a sentence: "notification restart 40–50 s".
func window(ws []results.FaultWindow) string {
	var parts []string
	for _, w := range ws {
		parts = append(parts, fmt.Sprintf("%s %s %s–%s s", w.Target, w.Kind, tenths(w.StartS), tenths(w.EndS)))
	}
	return strings.Join(parts, ", ")
}

func span(ws []results.FaultWindow) float64 {
	var s float64
	for _, w := range ws {
		s += w.EndS - w.StartS
	}
	return s
}

// tenths formats seconds to a tenth, without a trailing ".0".
func tenths(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }
