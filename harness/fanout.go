package harness

import (
	"context"
	"fmt"
	"strings"

	"github.com/commbench/commbench/hdrcodec"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// Fan-out: M consumer groups read the same reactions topic (async and
// hybrid), as when several services react to one event. The first group
// is the notification service (its replicas, its ledger reconciled as
// always); each other group is one more `commbench serve notification
// --group <run>.<key>.<name>` process with its own simulated provider and
// ledger, reconciled against the same accepted ids. The claim under test:
// the producer (the reaction service's API latency) does not pay for M.

// fanGroup is one more consumer group and its process.
type fanGroup struct {
	name  string // as the profile names it: analytics
	group string // the Kafka group id
	proc  *Proc
	url   string

	peakLag int64 // guarded by patternRun.mu
}

// fanout is a pattern's consumer groups besides the notification
// service's.
type fanout struct {
	r      *patternRun
	groups []*fanGroup
}

var (
	_ part       = (*fanout)(nil)
	_ meter      = (*fanout)(nil)
	_ readier    = (*fanout)(nil)
	_ sampler    = (*fanout)(nil)
	_ drainer    = (*fanout)(nil)
	_ summarizer = (*fanout)(nil)
)

// groupProcName is a group's name in pids() and cpu_s_per_1k.
func groupProcName(name string) string { return "group-" + name }

// newFanout makes the fan-out a profile with more than one group in
// services.kafka.groups asks for, for a pattern that uses Kafka, on
// services this run starts.
func newFanout(r *patternRun) (part, error) {
	if !r.async() || len(r.p.Services.Kafka.Groups) < 2 || r.o.Targets != nil {
		return nil, nil
	}
	return &fanout{r: r}, nil
}

// start starts a notification process per extra group.
func (f *fanout) start(ctx context.Context) error {
	r := f.r
	for _, name := range r.p.Services.Kafka.Groups[1:] {
		addr, err := freePort()
		if err != nil {
			return err
		}
		g := &fanGroup{name: name, group: fmt.Sprintf("commbench.%s.%s.%s", r.runID, r.key, name), url: "http://" + addr}
		g.proc, err = startProc(ctx, groupProcName(name)+"-"+r.key, addr, r.o.Exe, r.notificationArgs(addr, g.group), r.dir)
		if err != nil {
			return err
		}
		f.groups = append(f.groups, g)
	}
	return nil
}

func (f *fanout) stop() {
	for _, g := range f.groups {
		if err := g.proc.Stop(Grace); err != nil {
			f.r.o.Logf("%s: %v", f.r.key, err)
		}
	}
}

func (f *fanout) procs(m map[string]int) {
	for _, g := range f.groups {
		m[groupProcName(g.name)] = g.proc.PID()
	}
}

// ready resets every group's ledger: the warmup's deliveries are not the
// run's.
func (f *fanout) ready(ctx context.Context) error {
	for _, g := range f.groups {
		if err := doJSON(ctx, "POST", g.url+wire.PathLedgerReset, nil, nil); err != nil {
			return fmt.Errorf("reset the ledger after the warmup: %w", err)
		}
	}
	return nil
}

// sample reads every extra group's lag (-1 where it could not be read) and
// records it beside the notification group's.
func (f *fanout) sample(ctx context.Context) func(*tick) {
	r := f.r
	if r.client == nil {
		return nil
	}
	lags := make(map[string]int64, len(f.groups))
	for _, g := range f.groups {
		lags[g.name] = -1
		if l, _, err := r.client.Lag(ctx, g.group, r.topic); err == nil {
			lags[g.name] = l
		}
	}
	return func(t *tick) {
		s := t.series
		if s.LagByGroup == nil {
			s.LagByGroup = map[string][]int64{}
		}
		first := r.p.Services.Kafka.Groups[0]
		s.LagByGroup[first] = append(s.LagByGroup[first], t.lag)
		for _, g := range f.groups {
			s.LagByGroup[g.name] = append(s.LagByGroup[g.name], lags[g.name])
			g.peakLag = max(g.peakLag, lags[g.name])
		}
	}
}

// drained reports whether every extra group's last lag was 0.
func (f *fanout) drained() bool {
	for _, g := range f.groups {
		lag := f.r.series.LagByGroup[g.name]
		if len(lag) == 0 || lag[len(lag)-1] != 0 {
			return false
		}
	}
	return true
}

// summarize reconciles each extra group's ledger against the accepted
// ids.
func (f *fanout) summarize(ctx context.Context, sum *results.Summary, rc reconciled) error {
	var errs []string
	for _, g := range f.groups {
		s := results.GroupSummary{Name: g.name}
		f.r.mu.Lock()
		s.PeakLag = g.peakLag
		f.r.mu.Unlock()
		snap, err := fetchLedger(ctx, g.url)
		if err != nil {
			errs = append(errs, fmt.Sprintf("group %s: %v", g.name, err))
			sum.Groups = append(sum.Groups, s)
			continue
		}
		accepted := rc.accepted
		s.Delivered = int64(accepted.Minus(accepted.Minus(snap.DeliveredIDs)).Count())
		s.Lost = int64(accepted.Minus(snap.DeliveredIDs.Union(snap.DeadLetteredIDs)).Count())
		s.Duplicated = snap.Duplicates
		if h, err := hdrcodec.Decode([]byte(snap.NotifyHist)); err == nil {
			s.Notify = percentiles(h)
		}
		sum.Groups = append(sum.Groups, s)
	}
	if len(errs) > 0 {
		return fmt.Errorf("read the ledgers of the fan-out groups: %s", strings.Join(errs, "; "))
	}
	return nil
}
