package claims

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/validity"
)

// A rule decides from patterns, and from some or all of their seconds.
// What it reads is recorded as it reads, by the accessors every rule goes
// through, so that judge can tell afterwards whether the machine, not the
// pattern, set those numbers:
//
//   - in.pattern and needs (by pattern name) and in.get (by key) record a
//     pattern the verdict is decided from, with all its seconds (attack
//     and drain: a summary's figures span both);
//   - in.window narrows a recorded pattern to the seconds the rule read
//     (a surge's peak and base, a fault's window), for rules that read
//     no whole-run figure of it;
//   - in.aside and in.getAside record a pattern quoted in the evidence
//     only: its bound seconds or failed reconciliation are said, not
//     decided on.
//
// A rule that forgets to record is judged against every pattern of the
// run, so forgetting errs on the side of "inconclusive".

// reads is what one rule read.
type reads struct {
	keys  []string         // decided from, in the order first read
	secs  map[string][]int // narrowed windows by key; absent: all seconds
	aside []string         // quoted only
	// settled is how the verdict came out without the bound seconds
	// among secs (decide); nil when there were none.
	settled *settled
	// worseOnly: the verdict is "holds" from a rule whose every term the
	// machine's or the generator's contention can only make worse (see
	// rule.worseOnly), so bound seconds in a pattern read whole cannot
	// have made it hold.
	worseOnly bool
}

// get returns the results of pattern key and records them as decided
// from; nil when the run has no such key.
func (in *run) get(key string) *results.Pattern {
	p := in.r.Patterns[key]
	if p != nil && !slices.Contains(in.read.keys, key) {
		in.read.keys = append(in.read.keys, key)
	}
	return p
}

// getAside returns the results of pattern key and records them as quoted
// only.
func (in *run) getAside(key string) *results.Pattern {
	p := in.r.Patterns[key]
	if p != nil && !slices.Contains(in.read.aside, key) {
		in.read.aside = append(in.read.aside, key)
	}
	return p
}

// aside is in.pattern for a pattern quoted in the evidence only.
func (in *run) aside(name string) (string, *results.Pattern) {
	k, _ := in.lookup(name)
	if k == "" {
		return "", nil
	}
	return k, in.getAside(k)
}

// window narrows what the verdict read of key to the seconds idx (added
// to any narrowed before). Call it only when the rule reads nothing of
// key beyond those seconds.
func (in *run) window(key string, idx ...[]int) {
	if in.read.secs == nil {
		in.read.secs = map[string][]int{}
	}
	w := in.read.secs[key]
	if w == nil {
		w = []int{}
	}
	for _, x := range idx {
		for _, i := range x {
			if !slices.Contains(w, i) {
				w = append(w, i)
			}
		}
	}
	slices.Sort(w)
	in.read.secs[key] = w
}

// judge turns a verdict decided from contended data into Inconclusive:
// when the run was partial, when a pattern it was decided from is not ok
// (summary.validity other than "ok"; empty means a run from before
// validity was recorded, taken as ok) or does not know what it lost
// (summary.lost_unknown), or when that pattern's seconds the rule read
// include bound ones (series.bound). Its evidence then says why, and what
// the numbers would have said. A pattern quoted only gets a note. "Not
// exercised" stays: nothing was decided.
//
// Bound seconds count differently by what the rule read. A rule that read
// some seconds (in.window) decided from each of them, so its verdict stands
// only when decide found it the same without the bound seconds among them
// (and with their latencies less their send lag), enough seconds left
// (settle.go); the evidence then says which were bound and that they
// change nothing, and otherwise what flips. A rule that read a pattern whole (its
// summary) decided from figures over all its sends: they stand when the
// pattern is "ok" (at most run.validity.bound_fraction of its attack
// seconds bound) AND the sends the bound seconds put at risk (atRisk) are
// at most TailShare of its requests, too few to set even its p99; the
// bound seconds are then said in the evidence. Otherwise, and for a run
// that recorded no validity, the bound seconds make it inconclusive.
func (in *run) judge(v verdict) verdict {
	if v.verdict == NotExercised {
		return v
	}
	keys := in.read.keys
	if len(keys) == 0 {
		keys = in.r.Keys() // the rule recorded nothing: every pattern counts
	}
	var why, within, settledIn []string
	bound := 0
	if in.r.Run.Partial {
		s := "the run was partial"
		if r := in.r.Run.PartialReason; r != "" {
			s += " (" + strings.TrimRight(r, ".") + ")"
		}
		why = append(why, s)
	}
	for _, k := range keys {
		c := in.contended(k)
		if c.why != "" {
			why = append(why, c.why)
			bound += c.bound
		} else if c.within != "" {
			within = append(within, c.within)
		}
		if c.settled != "" {
			settledIn = append(settledIn, c.settled)
		}
	}
	st := in.read.settled
	switch {
	case st != nil && st.stands():
		// The figures to quote are those the machine did not set.
		v.evidence, v.numbers = st.without.evidence, st.without.numbers
	case st != nil:
		why = append(why, st.flips())
	}
	var notes []string
	for _, k := range in.read.aside {
		if slices.Contains(keys, k) {
			continue
		}
		if c := in.contended(k); c.why != "" {
			notes = append(notes, c.why)
		} else if c.within != "" {
			notes = append(notes, c.within)
		}
	}
	if len(notes) > 0 {
		v.evidence += " Quoted, not decided from: " + strings.Join(notes, "; ") + "."
	}
	if len(within) > 0 {
		v.evidence += fmt.Sprintf(" Bound seconds: %s; the pattern is ok (at most %g%% of its attack seconds bound) and so few sends cannot set its whole-run figures, so they stand as the pattern's.",
			strings.Join(within, "; "), math.Round(in.boundFraction()*1000)/10)
	}
	if len(settledIn) > 0 {
		v.evidence += " Bound seconds: " + strings.Join(settledIn, "; ") + "."
		if st != nil {
			v.evidence += " " + st.standsText()
		}
		if in.read.worseOnly {
			v.evidence += " Every term of this verdict is one that a slowed machine or a late generator can only make worse (more drops, losses, backlog, a longer drain), so it holds with them too."
		}
	}
	v.evidence += in.lossNote(append(slices.Clone(keys), in.read.aside...))
	if len(why) == 0 {
		return v
	}
	if v.numbers == nil {
		v.numbers = map[string]float64{}
	}
	v.numbers["bound_s"] = float64(bound)
	v.evidence = fmt.Sprintf("Inconclusive: %s. Read as they are, the numbers say %q: %s", strings.Join(why, "; "), v.verdict, v.evidence)
	if st != nil && st.without.verdict != v.verdict {
		v.evidence += fmt.Sprintf(" Without the bound seconds, %q: %s", st.without.verdict, st.without.evidence)
	}
	v.verdict = Inconclusive
	return v
}

// boundFraction is the run's run.validity.bound_fraction, or the default.
func (in *run) boundFraction() float64 {
	if f := in.r.Run.Validity.BoundFraction; f > 0 {
		return f
	}
	return validity.DefaultBoundFraction
}

// contention is what judge needs to know of one pattern a rule read.
type contention struct {
	why    string // why it cannot decide a verdict; "" when it can
	bound  int    // bound seconds among those the rule read
	within string // bound seconds that do not stop it (whole-run read, validity ok)
	// settled: bound seconds among those read (in.window) that decide
	// found to change nothing.
	settled string
}

// contended says whether pattern key can decide a verdict.
func (in *run) contended(key string) contention {
	p := in.r.Patterns[key]
	if p == nil {
		return contention{}
	}
	s := p.Summary
	var why []string
	idx, narrowed := in.read.secs[key]
	worseOnly := !narrowed && in.read.worseOnly
	if !narrowed {
		idx = make([]int, len(p.Series.Bound))
		for i := range idx {
			idx[i] = i
		}
	}
	said, n := boundText(p.Series.Bound, idx)
	// A verdict read from some seconds, none of them bound or standing
	// without their bound ones (settle), is not the pattern's whole-run
	// figures: the pattern's being not ok overall (too many bound seconds
	// elsewhere, or these) does not stop it; it is said.
	settledOK := narrowed && (n == 0 || in.read.settled != nil && in.read.settled.stands())
	notOK := s.Validity != "" && s.Validity != results.ValidityOK
	if notOK && !settledOK && !worseOnly {
		r := s.ValidityReason
		if r == "" {
			r = fmt.Sprintf("%d of its attack seconds were bound", s.BoundS)
		}
		why = append(why, fmt.Sprintf("%s is %s (%s)", key, s.Validity, strings.TrimRight(r, ".")))
	}
	if s.LostUnknown {
		why = append(why, key+"'s final ledger read failed, so what it lost is not known")
	}
	c := contention{}
	if notOK && settledOK && n == 0 {
		c.settled = fmt.Sprintf("none in the %d seconds this verdict reads, though %s is %s over its whole attack (%d s bound: its whole-run figures are not the pattern's, these seconds are)", len(idx), key, s.Validity, s.BoundS)
	}
	if n > 0 {
		of := fmt.Sprintf("its %d seconds", len(idx))
		if narrowed {
			of = fmt.Sprintf("the %d seconds this verdict reads", len(idx))
		}
		text := fmt.Sprintf("%s was %s of %s", key, said, of)
		if narrowed {
			text += " (" + boundAt(p.Series, idx) + lagText(p.Series, idx) + ")"
		}
		risk := atRisk(p.Series, idx)
		switch {
		case worseOnly:
			c.settled = text
			if notOK {
				c.settled += fmt.Sprintf(" (%s is %s over its whole attack, %d s bound)", key, s.Validity, s.BoundS)
			}
		case settledOK:
			c.settled = text
			if notOK {
				c.settled += fmt.Sprintf(" (%s is %s over its whole attack, %d s bound: its whole-run figures are not the pattern's, these seconds are)", key, s.Validity, s.BoundS)
			}
		case !narrowed && s.Validity == results.ValidityOK && float64(risk) <= TailShare*float64(max(s.Requests, 1)):
			c.within = fmt.Sprintf("%s (%d of its %d sends at risk, %s)", text, risk, s.Requests, pct(float64(risk)/float64(max(s.Requests, 1))))
		case !narrowed && s.Validity == results.ValidityOK:
			why = append(why, fmt.Sprintf("%s, with %d of its %d sends at risk (%s, more than the %s that could not move a whole-run p99)",
				text, risk, s.Requests, pct(float64(risk)/float64(max(s.Requests, 1))), pct(TailShare)))
			c.bound = n
		default:
			why = append(why, text)
			c.bound = n
		}
	}
	if c.bound == 0 && notOK && !settledOK && !worseOnly {
		c.bound = s.BoundS // numbers.bound_s must not read 0 beside "generator-bound for 12 s"
	}
	c.why = strings.Join(why, "; ")
	return c
}

// TailShare is the most a whole-run figure may rest on sends made in bound
// seconds: 0.1% of a pattern's requests, a tenth of the 1% above its p99,
// so they cannot set the p99 alone: they move any percentile by at most
// 0.1 percentile point, and any fraction of the requests (drops) by at
// most 0.1 point.
const TailShare = 0.001

// atRisk counts the sends of the seconds idx that the machine may have set:
// every send of a machine-bound second (the host starved every process),
// the late sends of a generator-bound one (sent more than late_by after
// their time; the rest left on time), or all its sends when the series
// does not record late sends.
func atRisk(s results.Series, idx []int) int64 {
	var n int64
	for _, i := range idx {
		if i >= len(s.Bound) || s.Bound[i] == "" {
			continue
		}
		switch {
		case s.Bound[i] == results.ValidityGeneratorBound && i < len(s.LateSends):
			n += s.LateSends[i]
		case i < len(s.OfferedRPS):
			n += int64(math.Ceil(s.OfferedRPS[i]))
		}
	}
	return n
}

// boundText says how many of the seconds idx were bound, by kind
// ("machine-bound in 1 and generator-bound in 2"), and counts them.
func boundText(bound []string, idx []int) (string, int) {
	byKind := map[string]int{}
	n := 0
	for _, i := range idx {
		if i < len(bound) && bound[i] != "" {
			byKind[bound[i]]++
			n++
		}
	}
	if n == 0 {
		return "", 0
	}
	var kinds []string
	for _, k := range []string{results.ValidityMachineBound, results.ValidityGeneratorBound} {
		if byKind[k] > 0 {
			kinds = append(kinds, fmt.Sprintf("%s in %d", k, byKind[k]))
			delete(byKind, k)
		}
	}
	other := 0
	for _, c := range byKind {
		other += c
	}
	if other > 0 {
		kinds = append(kinds, fmt.Sprintf("bound in %d", other))
	}
	return strings.Join(kinds, " and "), n
}

// lossNote says, for a verdict that read or quoted patterns, which of them
// lost accepted reactions: a loss is never left out of a claim's evidence,
// whatever the claim is about (broker-spof's hybrid, say, which it quotes
// for its drops). "" when none lost any.
func (in *run) lossNote(keys []string) string {
	var lost []string
	seen := map[string]bool{}
	for _, k := range keys {
		p := in.r.Patterns[k]
		if seen[k] || p == nil || p.Summary.Lost == 0 {
			continue
		}
		seen[k] = true
		lost = append(lost, fmt.Sprintf("%s lost %d accepted reaction(s)", k, p.Summary.Lost))
	}
	if len(lost) == 0 {
		return ""
	}
	return " Loss: " + strings.Join(lost, "; ") + " (answered 201/202, then neither delivered nor dead-lettered; the run's warnings name the ids and the faults)."
}

// lostText says what a pattern lost, "lost 3", or that it is not known.
func lostText(s results.Summary) string {
	if s.LostUnknown {
		return "lost an unknown number (the final ledger read failed)"
	}
	return fmt.Sprintf("lost %d", s.Lost)
}
