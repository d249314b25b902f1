package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// hlogs are a pattern's interval logs: the API latency, corrected and not,
// and time-to-notify.
type hlogs struct{ api, apiUnc, notify *os.File }

func (r *patternRun) createHlogs() (*hlogs, error) {
	var h hlogs
	for _, x := range []struct {
		f    **os.File
		name string
	}{{&h.api, "-api.hlog"}, {&h.apiUnc, "-api-uncorrected.hlog"}, {&h.notify, "-notify.hlog"}} {
		f, err := os.Create(filepath.Join(r.dir, r.key+x.name))
		if err != nil {
			h.close()
			return nil, err
		}
		*x.f = f
	}
	return &h, nil
}

func (h *hlogs) close() {
	for _, f := range []*os.File{h.api, h.apiUnc, h.notify} {
		if f != nil {
			f.Close()
		}
	}
}

// measure runs the recorded attack with its parts and samplers, then the
// drain, then reconciles.
func (r *patternRun) measure(ctx context.Context, firstID uint64) (*results.Pattern, error) {
	o, p := r.o, r.p
	pacer, err := loadgen.NewStagePacer(o.Shard.Stages(profileStages(p))...)
	if err != nil {
		return nil, err
	}
	logs, err := r.createHlogs()
	if err != nil {
		return nil, err
	}
	defer logs.close()
	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due, LateTolerance: r.thresholds().LateBy, APILog: logs.api, APIUncorrectedLog: logs.apiUnc})
	r.notify = hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	r.meter = newCPUMeter()
	r.series = results.Series{Drops: map[string][]int64{}, CPU: map[string][]float64{}, RSSMB: map[string][]float64{}}
	r.meter.sample(r.pids(), 0) // the baseline

	if err := r.waitStart(ctx); err != nil {
		return nil, err
	}
	for _, pt := range each[readier](r.parts) {
		if err := pt.ready(ctx); err != nil {
			return nil, err
		}
	}
	o.Logf("%s: attack, %s", r.label, pacer)
	r.host = newHostMeter() // the baseline: the host's CPU counts from here
	start := time.Now()
	notifyHlog, err := results.NewIntervalLog(logs.notify, start)
	if err != nil {
		return nil, err
	}
	sctx, stopSampler := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { r.sampler(sctx, start, rec, pacer, notifyHlog) })
	actx, stopParts := context.WithCancel(ctx)
	attackers := each[attacker](r.parts)
	for _, pt := range attackers {
		wg.Go(func() { pt.during(actx, start) })
	}
	attackErr := loadgen.Attack(ctx, r.attackOptions(pacer, firstID), rec)
	attackEnd := time.Since(start)
	stopParts()
	for _, pt := range attackers {
		pt.after()
	}

	// The drain: until the backlog is gone or the timeout passes.
	drained, drainS := false, 0.0
	if attackErr == nil && ctx.Err() == nil {
		o.Logf("%s: drain (at most %v)", r.label, p.Drain.Timeout)
		drained = r.drain(ctx, rec, p.Drain.Timeout.Std())
		drainS = (time.Since(start) - attackEnd).Seconds()
	}
	stopSampler()
	wg.Wait()

	pat, err := r.reconcile(ctx, rec, pacer, attackEnd, drained, drainS)
	if err != nil {
		return pat, err
	}
	if attackErr != nil {
		return pat, attackErr
	}
	return pat, ctx.Err()
}

// reconcile reads the whole ledger and the parts' ends, and summarizes.
func (r *patternRun) reconcile(ctx context.Context, rec *loadgen.Recorder, pacer loadgen.StagePacer, attackEnd time.Duration, drained bool, drainS float64) (*results.Pattern, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	snap, perReplica, lerr := fetchLedgers(rctx, r.ledgerURLs())
	pat := r.summarize(rec, pacer, attackEnd, drained, drainS, r.o.Shard.Restrict(snap))
	if lerr != nil && r.o.Shard.OwnsLedger() {
		pat.Summary.LostUnknown = true // not 0: not known
	}
	rc := reconciled{totals: rec.Totals(), accepted: rec.AcceptedIDs(), each: perReplica}
	for _, pt := range each[summarizer](r.parts) {
		if err := pt.summarize(rctx, &pat.Summary, rc); err != nil && lerr == nil {
			lerr = err
		}
	}
	if lerr != nil {
		return pat, fmt.Errorf("read the ledger: %w", lerr)
	}
	return pat, nil
}

// drain waits until the backlog is gone, as the system under test says;
// it reports whether it drained.
func (r *patternRun) drain(ctx context.Context, rec *loadgen.Recorder, timeout time.Duration) bool {
	return r.sys.drain(ctx, r, rec, timeout)
}

// drainOwn waits until the backlog is gone: lag 0 (async), every accepted
// reaction delivered or dead-lettered, and every part drained; or until
// timeout.
func (r *patternRun) drainOwn(ctx context.Context, rec *loadgen.Recorder, timeout time.Duration) bool {
	accepted := rec.Totals().Accepted
	ids := rec.AcceptedIDs()
	drainers := each[drainer](r.parts)
	// The ledger and the lag are read here, every 100 ms, not from the
	// once-a-second sampler: the drain is timed to 100 ms.
	return pollUntil(ctx, timeout, 100*time.Millisecond, func() bool {
		if !r.backlogGone(ctx, accepted) || !r.everyIDSettled(ctx, ids) {
			return false
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, pt := range drainers {
			if !pt.drained() {
				return false
			}
		}
		return true
	})
}

// backlogGone reports whether every accepted reaction was delivered or
// dead-lettered and, for a pattern that uses Kafka, the group's lag is 0.
func (r *patternRun) backlogGone(ctx context.Context, accepted int64) bool {
	qctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := fetchCounts(qctx, r.ledgerURLs())
	if err != nil || c.Delivered+c.DeadLettered < accepted {
		return false
	}
	if r.async() {
		lag, _, err := r.client.Lag(qctx, r.group, r.dTopic)
		return err == nil && lag == 0
	}
	return true
}

// everyIDSettled reports whether every accepted id is delivered or
// dead-lettered, from the whole ledger. backlogGone's counts are not
// enough: delivered counts the deliveries whose caller saw a drop too
// (a hybrid sync call past its budget, a produce whose ack came late), so
// they can reach the accepted count while an accepted reaction is still
// being retried, and a drain that ended there reported it lost. Read only
// once the counts and the lag say done: one ledger read when nothing is
// missing, one a poll while an accepted id is (until it comes or the
// drain times out).
func (r *patternRun) everyIDSettled(ctx context.Context, accepted wire.Ranges) bool {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	snap, _, err := fetchLedgers(qctx, r.ledgerURLs())
	if err != nil {
		return false
	}
	return len(accepted.Minus(snap.DeliveredIDs.Union(snap.DeadLetteredIDs))) == 0
}

// pollUntil calls done every interval until it reports true (then true),
// or until timeout passes or ctx ends (then false).
func pollUntil(ctx context.Context, timeout, every time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if done() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

// errNotOwner: a shard that does not own the ledger does not sample it.
var errNotOwner = errors.New("the ledger is sampled by shard 0")
