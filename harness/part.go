package harness

import (
	"context"
	"time"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// A part is one optional feature of a pattern's run, in a file of its own:
// a chain of relays (chain.go), fan-out groups (fanout.go), replicas behind
// a balancer (replicas.go), faults (faults.go). The pattern's lifecycle
// (run.go, services.go, measure.go) knows none of them by name: it makes
// the parts the profile asks for (parts), starts them in order between the
// notification and the reaction service, and stops them in reverse order
// after the reaction service.
//
// A part's constructor does what must be ready before any service starts
// (a topic, a proxy, a journal) and registers its undoing with
// patternRun.atEnd. The hooks below it may add are optional, each one
// small interface: meter, sampler, drainer, summarizer, readier, attacker.
type part interface {
	// start starts the part's processes, after the notification service
	// and the parts before it, before the reaction service. It may point
	// the reaction service elsewhere (patternRun.callURL, reactionArgs).
	start(ctx context.Context) error
	// stop stops what start started; it is called even when start failed
	// midway.
	stop()
}

// meter names the part's processes whose CPU and memory are sampled.
type meter interface{ procs(m map[string]int) }

// sampler reads the part's second, concurrently with the other parts and
// the ledger: a hop that hangs must not hold up the rest. It returns how
// to record what it read, called with patternRun.mu held; nil for nothing.
type sampler interface {
	sample(ctx context.Context) func(t *tick)
}

// drainer holds the drain until the part's own backlog is gone. Called
// with patternRun.mu held.
type drainer interface{ drained() bool }

// summarizer fills the part's fields of the summary once the drain ended.
type summarizer interface {
	summarize(ctx context.Context, s *results.Summary, rc reconciled) error
}

// readier readies the part just before the attack, after the warmup: the
// warmup's counts are not the run's.
type readier interface {
	ready(ctx context.Context) error
}

// attacker acts during the attack: during runs from the attack's start
// until ctx ends; after runs once the attack ended, before the drain.
type attacker interface {
	during(ctx context.Context, start time.Time)
	after()
}

// tick is one sampled second, as a sampler's record sees it.
type tick struct {
	series *results.Series
	sec    loadgen.Second
	lag    int64 // the notification group's lag, -1 when not read
}

// reconciled is what the run knows once the drain ended.
type reconciled struct {
	totals   loadgen.Totals
	accepted wire.Ranges
	each     []int64 // each notification replica's delivered ids
}

// partKind is a part the run can have: new makes it for a pattern's run,
// or returns nil when the profile does not ask for it; check refuses,
// before any load, a planned run the part cannot serve (nil for none).
type partKind struct {
	new   func(r *patternRun) (part, error)
	check func(o RunOptions, pl plannedRun) error
}

// partKinds are the kinds, in the order their parts start: the reaction
// service calls the last one that set callURL.
var partKinds = []partKind{
	{new: newFanout},
	{new: newScaleOut, check: checkBalancer},
	{new: newChain, check: checkChain},
	{new: newFaults},
}

// parts makes the parts of r's run.
func parts(r *patternRun) ([]part, error) {
	var out []part
	for _, k := range partKinds {
		p, err := k.new(r)
		if err != nil {
			return out, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// each returns the parts that have the hook T.
func each[T any](ps []part) []T {
	var out []T
	for _, p := range ps {
		if t, ok := p.(T); ok {
			out = append(out, t)
		}
	}
	return out
}
