// Package validity decides whether a pattern's numbers were set by the
// pattern or by the machine that measured it. Everything of a run shares
// one machine: a second in which the host's CPU was saturated, or in which
// the load generator sent late, measures the machine, not the pattern.
// Such a second is "bound"; a pattern with too many bound seconds is not
// ok, and no claim or gate may decide from it.
package validity

import (
	"fmt"
	"strconv"
	"time"
)

// Verdict is a pattern's (or a second's) validity.
type Verdict string

const (
	// OK: the machine had headroom and the generator kept its schedule.
	OK Verdict = "ok"
	// MachineBound: the host's CPU was busy at or above Thresholds.HostBusy
	// of its cores.
	MachineBound Verdict = "machine-bound"
	// GeneratorBound: more than Thresholds.LateFraction of the sends went
	// out more than Thresholds.LateBy after their intended time.
	GeneratorBound Verdict = "generator-bound"
)

// The defaults of [Thresholds], as documented in docs/results.md and
// accepted by a profile's validity section.
const (
	DefaultHostBusy      = 0.90
	DefaultLateBy        = time.Millisecond
	DefaultLateFraction  = 0.01
	DefaultBoundFraction = 0.05
	// MinLate is the fewest late sends that make a second generator-bound:
	// two late sends of a 125-request second are 1.6%, and the timer's
	// noise, not a generator that fell behind.
	MinLate = 5
)

// Thresholds say when a second is bound and when a pattern is not ok. The
// zero value of a field means its default.
type Thresholds struct {
	// HostBusy: a second is machine-bound when the host's busy cores are
	// at least this fraction of its cores.
	HostBusy float64
	// LateBy: a send later than this after its intended time is late.
	LateBy time.Duration
	// LateFraction: a second is generator-bound when more than this
	// fraction of its sends were late (and at least MinLate of them).
	LateFraction float64
	// BoundFraction: a pattern is not ok when more than this fraction of
	// its attack seconds were bound.
	BoundFraction float64
}

// WithDefaults fills the zero fields with the defaults.
func (th Thresholds) WithDefaults() Thresholds {
	if th.HostBusy == 0 {
		th.HostBusy = DefaultHostBusy
	}
	if th.LateBy == 0 {
		th.LateBy = DefaultLateBy
	}
	if th.LateFraction == 0 {
		th.LateFraction = DefaultLateFraction
	}
	if th.BoundFraction == 0 {
		th.BoundFraction = DefaultBoundFraction
	}
	return th
}

// Second is what one second of a run says about the machine.
type Second struct {
	// HostCores is how many cores of the host were busy, on average; a
	// negative value means it was not measured.
	HostCores float64
	Sent      int64 // requests sent
	Late      int64 // sent more than LateBy after their intended time
}

// Of says whether one second was bound, and by what: the machine first,
// because a saturated host also makes the generator late.
func (th Thresholds) Of(s Second, cores int) Verdict {
	th = th.WithDefaults()
	if cores > 0 && s.HostCores >= 0 && s.HostCores >= th.HostBusy*float64(cores) {
		return MachineBound
	}
	if s.Sent > 0 && s.Late >= MinLate && float64(s.Late) > th.LateFraction*float64(s.Sent) {
		return GeneratorBound
	}
	return OK
}

// Judgement is a pattern's validity over its attack seconds.
type Judgement struct {
	Verdict Verdict
	// BoundS counts the bound seconds; MachineS and GeneratorS split them
	// by cause.
	BoundS, MachineS, GeneratorS int
	// Seconds is how many attack seconds were judged.
	Seconds int
	// Bound holds, per second, the second's verdict ("" for ok), for the
	// report to shade.
	Bound []string
	// Reason says why a pattern is not ok, in a sentence; empty when ok.
	Reason string
}

// Judge judges a pattern from its attack seconds on a host of cores.
func (th Thresholds) Judge(secs []Second, cores int) Judgement {
	vs := make([]Verdict, len(secs))
	for i, s := range secs {
		vs[i] = th.Of(s, cores)
	}
	return th.JudgeVerdicts(vs, cores)
}

// JudgeVerdicts judges a pattern from its attack seconds' verdicts, as Of
// gave them second by second ("" counts as OK).
func (th Thresholds) JudgeVerdicts(vs []Verdict, cores int) Judgement {
	th = th.WithDefaults()
	j := Judgement{Verdict: OK, Seconds: len(vs), Bound: make([]string, len(vs))}
	for i, v := range vs {
		switch v {
		case MachineBound:
			j.MachineS++
			j.Bound[i] = string(v)
		case GeneratorBound:
			j.GeneratorS++
			j.Bound[i] = string(v)
		}
	}
	j.BoundS = j.MachineS + j.GeneratorS
	if len(vs) == 0 || float64(j.BoundS) <= th.BoundFraction*float64(len(vs)) {
		return j
	}
	if j.MachineS >= j.GeneratorS {
		j.Verdict = MachineBound
		j.Reason = fmt.Sprintf("the machine, not the pattern, set these numbers for %d s: the host's CPU was at least %.0f%% busy (of %d cores)", j.MachineS, th.HostBusy*100, cores)
	} else {
		j.Verdict = GeneratorBound
		j.Reason = fmt.Sprintf("the load generator fell behind for %d s: more than %.0f%% of its sends left more than %s ms late", j.GeneratorS, th.LateFraction*100, strconv.FormatFloat(float64(th.LateBy)/float64(time.Millisecond), 'f', -1, 64))
	}
	if j.MachineS > 0 && j.GeneratorS > 0 {
		j.Reason += fmt.Sprintf(" (and %d s %s)", min(j.MachineS, j.GeneratorS), map[bool]string{true: "generator-bound", false: "machine-bound"}[j.Verdict == MachineBound])
	}
	return j
}
