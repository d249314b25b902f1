package capacity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// ErrInterrupted is returned by Run when its context ended mid-search; the
// steps done are in the results it wrote, marked partial.
var ErrInterrupted = errors.New("capacity search interrupted")

// Defaults of [StepOptions]: each step holds its rate for at least
// DefaultStepMin and DefaultStepRequests requests, whichever is longer,
// after a warm-up, so that its p99 rests on at least 100 requests above it.
const (
	DefaultStepMin      = 20 * time.Second
	DefaultStepRequests = 10000
	DefaultStepWarmup   = 5 * time.Second
	DefaultStepDrain    = 10 * time.Second
	DefaultBudget       = 15 * time.Minute
)

// StepOptions say how long each step lasts. The zero value of a field
// means its default.
type StepOptions struct {
	Min      time.Duration // at least this long
	Requests int64         // and at least this many requests
	Warmup   time.Duration // unrecorded, before it; < 0: none
	Drain    time.Duration // the most it waits, after, for the backlog
}

func (s StepOptions) withDefaults() StepOptions {
	if s.Min <= 0 {
		s.Min = DefaultStepMin
	}
	if s.Requests <= 0 {
		s.Requests = DefaultStepRequests
	}
	if s.Warmup == 0 {
		s.Warmup = DefaultStepWarmup
	}
	s.Warmup = max(s.Warmup, 0)
	if s.Drain <= 0 {
		s.Drain = DefaultStepDrain
	}
	return s
}

// Length is how long a step at rps holds it: max(Min, Requests/rps),
// in whole seconds.
func (s StepOptions) Length(rps float64) time.Duration {
	need := time.Duration(math.Ceil(float64(s.Requests)/max(rps, 1))) * time.Second
	return max(s.Min, need).Round(time.Second)
}

// Options configure [Run].
type Options struct {
	Profile     *profiles.Profile
	ProfileFile string
	ProfileYAML []byte
	Patterns    []pattern.Pattern // nil: the profile's
	SLO         profiles.SLO      // the zero value: the profile's
	Step        StepOptions
	Search      SearchOptions // Start, MaxRate, Precision; Fits and Progress are Run's
	// Scales are the replicas (sync: notification replicas behind nginx;
	// async: notification processes in the consumer group, partitions at
	// least their consumers) searched, each; nil: 1 alone.
	Scales []int
	// PeakRPS, PeakFor: plan for a peak of PeakRPS for PeakFor (0: none).
	PeakRPS float64
	PeakFor time.Duration
	// Budget bounds the whole search: no step starts that would not end
	// within it. 0: DefaultBudget; < 0: none.
	Budget time.Duration
	// OutRoot: the run folder goes in OutRoot/<time>-capacity-<profile>,
	// each step's in its steps/; OutRoot/../latest points at it.
	OutRoot string
	// Harness is what every step's run takes (the executable, the broker
	// options, the calibration, the version); Run sets the rest.
	Harness  harness.RunOptions
	Progress io.Writer // a line per step; nil for none
	Logf     func(format string, args ...any)
	// StepFunc runs one step; nil: a real run of the harness, fresh
	// services for each. Tests give a fake.
	StepFunc func(ctx context.Context, req StepRequest) (results.CapacityStep, error)
}

// StepRequest is one step to run.
type StepRequest struct {
	Pattern  pattern.Pattern
	Replicas int
	RPS      float64
	Scaled   bool // a --scale search: sync calls its replicas through nginx even at 1
}

// Run searches every pattern's capacity (at every scale), writing the run
// folder's results.json after each step; it returns the results and the
// folder. When ctx ends it keeps the steps done, writes them marked
// partial, and returns ErrInterrupted.
func Run(ctx context.Context, o Options) (*results.Results, string, error) {
	e, err := newEngine(o)
	if err != nil {
		return nil, "", err
	}
	defer e.close()
	runErr := e.searchAll(ctx)
	e.plan()
	e.write()
	return e.res, e.dir, runErr
}

// engine is one capacity run.
type engine struct {
	o        Options
	dir      string
	res      *results.Results
	cache    map[string]results.CapacityStep // by pattern, replicas and rate
	deadline time.Time                       // zero: no budget
	started  bool                            // results.json was written: latest points here
	real     *realSteps                      // nil with a StepFunc
}

func newEngine(o Options) (*engine, error) {
	p := o.Profile
	if len(o.Patterns) == 0 {
		o.Patterns = p.Patterns
	}
	if o.SLO == (profiles.SLO{}) {
		o.SLO = p.SLO
	}
	if len(o.Scales) == 0 {
		o.Scales = []int{1}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	o.Step = o.Step.withDefaults()
	if o.Budget == 0 {
		o.Budget = DefaultBudget
	}
	started := time.Now()
	id := started.Format("20060102-150405") + "-capacity-" + p.Name
	e := &engine{o: o, dir: filepath.Join(o.OutRoot, id), cache: map[string]results.CapacityStep{}}
	if o.Budget > 0 {
		e.deadline = started.Add(o.Budget)
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "steps"), 0o755); err != nil {
		return nil, err
	}
	slo := o.SLO
	e.res = &results.Results{
		Schema: results.SchemaVersion, Order: []string{}, Patterns: map[string]*results.Pattern{}, Capacity: map[string]*results.Capacity{},
		Run: results.RunInfo{ID: id, Profile: p.Name, Description: "Capacity under the SLO (" + slo.String() + ") of " + p.Name + "'s services: " + p.Description,
			ProfileFile: o.ProfileFile, ProfileYAML: string(o.ProfileYAML), Started: started, Repeat: 1, Version: o.Harness.Version, Warnings: []string{}},
		SLO: &results.CapacitySLO{APIP99Ms: ms(slo.APIP99), Drops: slo.Drops, NotifyP99Ms: ms(slo.NotifyP99), LagGrowth: slo.LagGrowth,
			StepS: o.Step.Min.Seconds(), StepRequests: o.Step.Requests, WarmupS: o.Step.Warmup.Seconds()},
	}
	if o.StepFunc == nil {
		r, err := upReal(context.Background(), e)
		if err != nil {
			os.RemoveAll(e.dir)
			return nil, err
		}
		e.real = r
	}
	return e, nil
}

func (e *engine) close() {
	if e.real != nil {
		e.real.close()
	}
	if !e.started {
		os.RemoveAll(e.dir)
	}
}

// searchAll runs each pattern's search at each scale, then the API terms'
// search at the first scale of those that use Kafka (sync's API capacity
// is its whole one: its API terms are what break).
func (e *engine) searchAll(ctx context.Context) error {
	left := len(e.o.Patterns) * len(e.o.Scales)
	for _, pt := range e.o.Patterns {
		if pt.UsesKafka() {
			left++
		}
	}
	for _, pt := range e.o.Patterns {
		c := &results.Capacity{Steps: []results.CapacityStep{}}
		e.res.Capacity[pt.String()] = c
		for i, n := range e.o.Scales {
			out := e.search(ctx, pt, n, All, left)
			left--
			if i == 0 {
				c.RPS, c.DecidedBy, c.Limit, c.LowerRPS, c.UpperRPS, c.MachineLimitRPS = out.RPS, out.DecidedBy, out.Limit, out.LowerRPS, out.UpperRPS, out.MachineLimitRPS
				c.API = out.CapacityBound
				c.CPUSecondsPerMillion = e.cached(pt, n, out.LowerRPS).CPUSecondsPerMillion
			}
			if len(e.o.Scales) > 1 {
				if c.Scale == nil {
					c.Scale = map[string]float64{}
				}
				c.Scale[strconv.Itoa(n)] = out.RPS
			}
			if err := e.stopped(ctx, out); err != nil {
				return err
			}
		}
		if pt.UsesKafka() && c.Limit != results.LimitMachine {
			out := e.search(ctx, pt, e.o.Scales[0], API, left)
			left--
			c.API = out.CapacityBound
			if err := e.stopped(ctx, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// stopped says whether the whole run ends after a search's outcome.
func (e *engine) stopped(ctx context.Context, out Outcome) error {
	switch out.Limit {
	case results.LimitInterrupted:
		e.res.Run.Partial, e.res.Run.PartialReason = true, out.DecidedBy
		return ErrInterrupted
	case results.LimitFailed:
		e.res.Run.Partial, e.res.Run.PartialReason = true, out.DecidedBy
		return out.Err
	}
	return ctx.Err()
}

// search is one search: pt at n replicas, held to terms.
func (e *engine) search(ctx context.Context, pt pattern.Pattern, n int, terms Terms, left int) Outcome {
	so := e.o.Search
	so.Fits = e.fits(pt, n, left)
	label := fmt.Sprintf("%s ×%d", pt, n)
	if terms == API {
		label += " (API terms)"
	}
	so.Progress = func(phase string, st results.CapacityStep, v string, broke []string) {
		e.progress(label, phase, st, v, broke)
	}
	return Search(ctx, so, func(ctx context.Context, rps float64) (results.CapacityStep, error) {
		return e.step(ctx, StepRequest{Pattern: pt, Replicas: n, RPS: rps, Scaled: len(e.o.Scales) > 1})
	}, func(st results.CapacityStep) (string, []string) {
		return Judge(e.o.SLO, st, terms)
	})
}

// fits gives a search its share of the budget left: twice an equal share
// of what the searches still to run have, so that a search that needs
// more can take it from those that need less, but never all of it.
func (e *engine) fits(pt pattern.Pattern, n, left int) func(float64) bool {
	if e.deadline.IsZero() {
		return nil
	}
	share := time.Until(e.deadline) * 2 / time.Duration(left+1)
	if left <= 1 {
		share = time.Until(e.deadline)
	}
	slot := time.Now().Add(share)
	return func(rps float64) bool {
		if _, ok := e.cache[cacheKey(pt, n, rps)]; ok {
			return true
		}
		return !time.Now().Add(e.estimate(pt, rps)).After(slot)
	}
}

// estimate is how long a step at rps takes, services and warm-up too.
func (e *engine) estimate(pt pattern.Pattern, rps float64) time.Duration {
	d := e.o.Step.Warmup + e.o.Step.Length(rps) + 6*time.Second
	if pt.UsesKafka() {
		d += e.o.Step.Drain / 2
	}
	if e.o.StepFunc != nil {
		return 0 // a fake takes no time
	}
	return d
}

func cacheKey(pt pattern.Pattern, n int, rps float64) string {
	return fmt.Sprintf("%s/%d/%g", pt, n, rps)
}

func (e *engine) cached(pt pattern.Pattern, n int, rps float64) results.CapacityStep {
	return e.cache[cacheKey(pt, n, rps)]
}

// step runs one step, or returns it from the cache (the API terms' search
// goes over the rates the whole SLO's search already ran), records it and
// writes the results. A bound step is not taken from the cache: asked
// again, it is measured again (the search's retry).
func (e *engine) step(ctx context.Context, req StepRequest) (results.CapacityStep, error) {
	key := cacheKey(req.Pattern, req.Replicas, req.RPS)
	if st, ok := e.cache[key]; ok && st.Verdict != results.StepBound {
		return st, nil
	}
	run := e.o.StepFunc
	if run == nil {
		run = e.real.step
	}
	st, err := run(ctx, req)
	if err != nil {
		return st, err
	}
	st.Verdict, st.Broke = Judge(e.o.SLO, st, All)
	e.cache[key] = st
	c := e.res.Capacity[req.Pattern.String()]
	c.Steps = append(c.Steps, st)
	e.write()
	return st, nil
}

// progress prints a step's line.
func (e *engine) progress(label, phase string, st results.CapacityStep, v string, broke []string) {
	if e.o.Progress == nil {
		return
	}
	lag := "-"
	if st.LagSlope != 0 || st.LagSlopeHi != 0 {
		lag = fmt.Sprintf("%+.0f/s", st.LagSlope)
	}
	why := ""
	switch v {
	case results.StepFail:
		why = ": " + broke[0]
	case results.StepBound:
		why = ": " + st.Validity
	}
	fmt.Fprintf(e.o.Progress, "capacity %-22s %-6s %6.0f rps %4.0f s  api p99 %7.1f ms  drops %6.3f%%  notify p99 %8.1f ms  lag %8s  %s%s\n",
		label, phase, st.RPS, st.DurationS, st.APIP99Ms, 100*st.Drops, st.NotifyP99Ms, lag, v, why)
}

// write writes results.json and, the first time, points latest at the
// run folder.
func (e *engine) write() {
	e.res.Run.Finished = time.Now()
	if err := e.res.Write(e.dir); err != nil {
		e.o.Logf("writing results: %v", err)
		return
	}
	if e.started {
		return
	}
	e.started = true
	latest := filepath.Join(filepath.Dir(e.o.OutRoot), "latest")
	os.Remove(latest)
	if rel, err := filepath.Rel(filepath.Dir(latest), e.dir); err == nil {
		os.Symlink(rel, latest)
	}
}

// scalesOf returns the scales of c in order, and their capacities.
func scalesOf(c *results.Capacity) (ns []int, rps []float64) {
	for k := range c.Scale {
		if n, err := strconv.Atoi(k); err == nil {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	for _, n := range ns {
		rps = append(rps, c.Scale[strconv.Itoa(n)])
	}
	return ns, rps
}
