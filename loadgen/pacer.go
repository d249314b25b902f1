package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Stage is one piece of a piecewise-linear arrival rate: for For, the rate
// goes linearly from From to To hits per second. From == To is a constant
// stage; a zero rate is a pause in the load.
//
// loadgen has its own Stage so that it does not depend on the profiles
// package; the caller converts.
type Stage struct {
	For      time.Duration
	From, To float64 // hits per second
}

// StagePacer is a [vegeta.Pacer] whose arrival rate follows a list of
// stages. Build one with [NewStagePacer]; the zero value sends nothing.
//
// Within a stage that started at t₀ with rate a and ends after D at rate c,
// the rate s seconds into the stage is
//
//	r(s) = a + b·s,  b = (c − a)/D
//
// and the hits due over the stage so far are its integral
//
//	H(s) = a·s + b·s²/2
//
// The hits due by elapsed time t are the hits of every earlier stage plus
// H of the current one: the integral of the rate from 0 to t. The n-th hit
// (counting from 1) is due at the time the integral reaches n. Pace finds
// the stage in which the integral reaches n (stages with rate 0 throughout
// add nothing and are skipped) and solves H(s) = x for the remainder x:
//
//	s = 2x / (a + √(a² + 2bx))
//
// which is the root of b·s²/2 + a·s − x = 0 in the form that neither
// cancels when b is small nor divides by zero when b = 0 (then s = x/a) or
// a = 0 (then s = √(2x/b)).
//
// The whole run sends exactly [StagePacer.Total] hits, the floor of the
// integral over all stages, the last one no later than the end of the last
// stage. The count is exact: integer rates over whole nanoseconds integrate
// without rounding error up to 2⁵³ hits.
type StagePacer struct {
	segs  []segment
	total uint64
	dur   time.Duration
}

// segment is a stage with its start time and the hits due before it.
type segment struct {
	Stage
	start time.Duration // elapsed time at which the stage starts
	hits0 float64       // integral of the rate before the stage
	hits1 float64       // integral of the rate at the end of the stage
}

// StagePacer satisfies the vegeta.Pacer interface.
var _ vegeta.Pacer = StagePacer{}

// Errors returned by NewStagePacer.
var (
	ErrStageDuration = errors.New("stage duration must be > 0")
	ErrStageRate     = errors.New("stage rate must be a finite number >= 0")
	ErrTooLong       = errors.New("stages add up to more than 2⁵³ hits or 292 years")
)

// maxHits is the most hits a StagePacer counts exactly in a float64.
const maxHits = 1 << 53

// NewStagePacer returns a pacer that runs through stages in order. Every
// stage must last more than 0 and have finite rates >= 0.
func NewStagePacer(stages ...Stage) (StagePacer, error) {
	p := StagePacer{segs: make([]segment, len(stages))}
	var hits float64
	for i, st := range stages {
		switch {
		case st.For <= 0:
			return StagePacer{}, fmt.Errorf("stage %d: %w, got %s", i, ErrStageDuration, st.For)
		case !validRate(st.From) || !validRate(st.To):
			return StagePacer{}, fmt.Errorf("stage %d: %w, got %g to %g", i, ErrStageRate, st.From, st.To)
		case p.dur > math.MaxInt64-st.For:
			return StagePacer{}, fmt.Errorf("stage %d: %w", i, ErrTooLong)
		}
		next := hits + stageHits(st.For, st.From, st.To)
		if next > maxHits {
			return StagePacer{}, fmt.Errorf("stage %d: %w", i, ErrTooLong)
		}
		p.segs[i] = segment{Stage: st, start: p.dur, hits0: hits, hits1: next}
		p.dur += st.For
		hits = next
	}
	p.total = floorHits(hits)
	return p, nil
}

func validRate(r float64) bool { return r >= 0 && !math.IsInf(r, 1) } // NaN fails r >= 0

// stageHits is the integral of a rate going linearly from from to to hits
// per second over d: d·(from+to)/2. It is computed as ns·(from+to)/2e9, so
// that integer rates over whole nanoseconds give exact results.
func stageHits(d time.Duration, from, to float64) float64 {
	return float64(d) * (from + to) / 2e9
}

// floorHits is the number of whole hits in an integral. The tiny allowance
// keeps a sum of fractional rates that should be whole (0.1+0.2…) from
// losing its last hit to rounding.
func floorHits(h float64) uint64 { return uint64(math.Floor(h + 1e-9)) }

// Total returns the exact number of hits over all stages: the floor of the
// integral of the rate.
func (p StagePacer) Total() uint64 { return p.total }

// Duration returns the length of all stages together.
func (p StagePacer) Duration() time.Duration { return p.dur }

// Pace returns how long to wait from elapsed until the hit after hits is
// due, 0 when it is already due (the attacker is behind), and stop once all
// Total hits have been sent.
//
// Pace does not stop at the end of the last stage while hits are still
// owed: a generator that fell behind sends them at once, late, so that the
// offered load is the profile's and the lateness is measured, not hidden.
// Bound the overrun with the attacker's duration or context if need be.
func (p StagePacer) Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool) {
	if hits >= p.total {
		return 0, true
	}
	if due := p.Due(hits + 1); due > elapsed {
		return due - elapsed, false
	}
	return 0, false
}

// Due returns the elapsed time at which the n-th hit (counting from 1) is
// due: the time at which the integral of the rate reaches n. Due(0) is 0;
// for n > Total it returns the end of the last stage.
func (p StagePacer) Due(n uint64) time.Duration {
	if n == 0 {
		return 0
	}
	if n > p.total {
		return p.dur
	}
	x := float64(n)
	// The first stage whose end integral reaches x; zero-rate stages share
	// their end integral with the stage before and are never chosen.
	lo, hi := 0, len(p.segs)-1
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.segs[mid].hits1 < x {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	sg := &p.segs[lo]
	if x > sg.hits1 { // only by the rounding allowance of floorHits
		return sg.start + sg.For
	}
	x -= sg.hits0
	a := sg.From
	b := (sg.To - sg.From) / sg.For.Seconds()
	s := 2 * x / (a + math.Sqrt(math.Max(0, a*a+2*b*x)))
	d := time.Duration(math.Round(s * 1e9))
	d = min(max(d, 0), sg.For)
	return sg.start + d
}

// Rate returns the arrival rate in hits per second at elapsed; 0 before the
// start and after the end of the last stage.
func (p StagePacer) Rate(elapsed time.Duration) float64 {
	if elapsed < 0 || elapsed >= p.dur {
		return 0
	}
	sg := p.segmentAt(elapsed)
	f := float64(elapsed-sg.start) / float64(sg.For)
	return sg.From + (sg.To-sg.From)*f
}

// Hits returns how many hits are due by elapsed: the floor of the integral
// of the rate from 0 to elapsed, Total from the end of the last stage on.
func (p StagePacer) Hits(elapsed time.Duration) uint64 {
	switch {
	case elapsed <= 0 || len(p.segs) == 0:
		return 0
	case elapsed >= p.dur:
		return p.total
	}
	sg := p.segmentAt(elapsed)
	d := elapsed - sg.start
	to := sg.From + (sg.To-sg.From)*float64(d)/float64(sg.For)
	return min(floorHits(sg.hits0+stageHits(d, sg.From, to)), p.total)
}

// segmentAt is the last stage that starts at or before elapsed, which must
// be within the stages.
func (p StagePacer) segmentAt(elapsed time.Duration) *segment {
	lo, hi := 0, len(p.segs)-1
	for lo < hi {
		mid := int(uint(lo+hi+1) >> 1)
		if p.segs[mid].start <= elapsed {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return &p.segs[lo]
}

// String describes the stages and the hits they add up to:
//
//	Stages{500 hits/s for 20s, 500→5000 hits/s for 5s; 23750 hits in 25s}
func (p StagePacer) String() string {
	var b strings.Builder
	b.WriteString("Stages{")
	for i, sg := range p.segs {
		if i > 0 {
			b.WriteString(", ")
		}
		if sg.From == sg.To {
			fmt.Fprintf(&b, "%g hits/s for %s", sg.From, sg.For)
		} else {
			fmt.Fprintf(&b, "%g→%g hits/s for %s", sg.From, sg.To, sg.For)
		}
	}
	if len(p.segs) > 0 {
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "%d hits in %s}", p.total, p.dur)
	return b.String()
}
