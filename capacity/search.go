package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/commbench/commbench/results"
)

// Defaults of [SearchOptions].
const (
	DefaultStart     = 200.0
	DefaultMaxRate   = 20000.0
	DefaultPrecision = 0.05
	// MinRate is the lowest rate the search halves down to when its
	// first step already breaks the SLO.
	MinRate = 10.0
)

// SearchOptions configure [Search]. The zero value of a field means its
// default.
type SearchOptions struct {
	// Start is the first rate tried, requests a second.
	Start float64
	// MaxRate: the doubling stops here; every step up to it held.
	MaxRate float64
	// Precision: the bisection stops once the lowest failing rate is
	// within this fraction above the highest passing one, so that the
	// capacity found is within it below the true one.
	Precision float64
	// Fits, when set, says whether a step at rps still fits the time
	// budget; the search stops before a step that does not.
	Fits func(rps float64) bool
	// Progress, when set, is told of each step as it is judged.
	Progress func(phase string, st results.CapacityStep, verdict string, broke []string)
	// BoundRetries: a bound step is measured again up to this many times
	// before the search ends on it (a second of the hypervisor's steal is
	// the machine's, not the rate's); negative means never, 0 the default.
	BoundRetries int
}

// DefaultBoundRetries: a bound step is measured once more.
const DefaultBoundRetries = 1

func (o SearchOptions) withDefaults() SearchOptions {
	if o.Start <= 0 {
		o.Start = DefaultStart
	}
	if o.MaxRate <= 0 {
		o.MaxRate = DefaultMaxRate
	}
	o.MaxRate = max(o.MaxRate, o.Start)
	if o.Precision <= 0 {
		o.Precision = DefaultPrecision
	}
	switch {
	case o.BoundRetries == 0:
		o.BoundRetries = DefaultBoundRetries
	case o.BoundRetries < 0:
		o.BoundRetries = 0
	}
	return o
}

// Measure runs one step at rps and returns its numbers. An error ends the
// search; ctx's own error means it was interrupted.
type Measure func(ctx context.Context, rps float64) (results.CapacityStep, error)

// JudgeFunc judges a step: "pass", "fail" with the terms it broke, or
// "bound".
type JudgeFunc func(results.CapacityStep) (verdict string, broke []string)

// Outcome is what a search found.
type Outcome struct {
	results.CapacityBound
	// MachineLimitRPS: the bound step's rate, with Limit "machine".
	MachineLimitRPS float64
	// Err is the error that stopped a failed or interrupted search.
	Err error
}

// Search finds the highest rate whose step passes judge: it doubles the
// rate from o.Start until a step fails (halving instead when the first
// fails), then bisects between the highest pass and the lowest failure
// until they are within o.Precision. A bound step ends the search: the
// machine is the limit at its rate, and there is no capacity.
func Search(ctx context.Context, o SearchOptions, measure Measure, judge JudgeFunc) Outcome {
	o = o.withDefaults()
	s := &search{o: o, measure: measure, judge: judge}
	var out Outcome
	// Double from the start until a step fails; halve when the first does.
	for rate, phase := o.Start, "double"; ; {
		v, stop := s.step(ctx, phase, rate, &out)
		if stop {
			return out
		}
		switch {
		case v == results.StepPass && s.hi == 0 && rate*2 > o.MaxRate+0.5:
			if rate < o.MaxRate {
				rate = o.MaxRate
				continue
			}
			out.Limit = results.LimitMaxRate
			out.DecidedBy = fmt.Sprintf("every step held, up to the highest rate allowed, %s rps (--max-rate)", num(rate))
			return s.finish(out)
		case v == results.StepPass && s.hi == 0:
			rate *= 2
			continue
		case s.lo == 0 && rate/2 >= MinRate:
			rate, phase = math.Round(rate/2), "halve"
			continue
		}
		break
	}
	// Bisect.
	for s.lo > 0 && s.hi > s.lo*(1+o.Precision) {
		mid := math.Round((s.lo + s.hi) / 2)
		if mid <= s.lo || mid >= s.hi {
			break
		}
		if _, stop := s.step(ctx, "bisect", mid, &out); stop {
			return out
		}
	}
	out.Limit = results.LimitSLO
	if s.lo == 0 {
		out.DecidedBy = fmt.Sprintf("broke the SLO at the lowest rate tried, %s rps: %s", num(s.hi), s.hiBroke)
	} else {
		out.DecidedBy = s.hiBroke
	}
	return s.finish(out)
}

type search struct {
	o       SearchOptions
	measure Measure
	judge   JudgeFunc
	lo, hi  float64 // highest pass, lowest failure; 0 for none yet
	hiBroke string
}

// step measures and judges one rate; stop says the search ends here, out
// then being its outcome.
func (s *search) step(ctx context.Context, phase string, rate float64, out *Outcome) (verdict string, stop bool) {
	if s.o.Fits != nil && !s.o.Fits(rate) {
		out.Limit = results.LimitBudget
		out.DecidedBy = fmt.Sprintf("the time budget ran out before the step at %s rps", num(rate))
		*out = s.finish(*out)
		return "", true
	}
	st, v, broke, err := s.measureJudged(ctx, phase, rate)
	if err != nil {
		out.Err, out.Limit = err, results.LimitFailed
		out.DecidedBy = fmt.Sprintf("the step at %s rps failed: %v", num(rate), err)
		if ctx.Err() != nil || errors.Is(err, context.Canceled) {
			out.Limit = results.LimitInterrupted
			out.DecidedBy = fmt.Sprintf("interrupted during the step at %s rps", num(rate))
		}
		*out = s.finish(*out)
		return "", true
	}
	switch v {
	case results.StepBound:
		out.Limit, out.MachineLimitRPS = results.LimitMachine, rate
		out.DecidedBy = fmt.Sprintf("the machine is the limit at %s rps: the step's numbers were %s, not the pattern's", num(rate), st.Validity)
		*out = s.finish(*out)
		return v, true
	case results.StepPass:
		s.lo = max(s.lo, rate)
	default:
		if s.hi == 0 || rate < s.hi {
			s.hi = rate
			if len(broke) > 0 {
				s.hiBroke = broke[0]
			}
		}
	}
	return v, false
}

// measureJudged measures and judges the step at rate, again while it is
// bound and retries are left (each attempt is told to Progress: every
// step is in the run's record).
func (s *search) measureJudged(ctx context.Context, phase string, rate float64) (st results.CapacityStep, v string, broke []string, err error) {
	for try := 0; ; try++ {
		st, err = s.measure(ctx, rate)
		if err != nil {
			return st, "", nil, err
		}
		v, broke = s.judge(st)
		if s.o.Progress != nil {
			s.o.Progress(phase, st, v, broke)
		}
		if v != results.StepBound || try >= s.o.BoundRetries {
			return st, v, broke, nil
		}
		phase = "again"
	}
}

// finish fills in the bounds; the capacity only when the SLO decided it.
func (s *search) finish(out Outcome) Outcome {
	out.LowerRPS, out.UpperRPS = s.lo, s.hi
	if out.Limit == results.LimitSLO {
		out.RPS = s.lo
	}
	return out
}
