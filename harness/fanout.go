package harness

import (
	"context"
	"fmt"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"

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

// groupProcName is a group's name in pids() and cpu_s_per_1k.
func groupProcName(name string) string { return "group-" + name }

// fanGroups are the profile's groups after the first.
func (r *patternRun) fanGroups() []string {
	if !r.async() || len(r.p.Services.Kafka.Groups) < 2 {
		return nil
	}
	return r.p.Services.Kafka.Groups[1:]
}

// startGroups starts a process per extra group; args gives a notification
// process's arguments for its listen address and group id.
func (r *patternRun) startGroups(ctx context.Context, args func(listen, group string) []string) error {
	for _, name := range r.fanGroups() {
		addr, err := freePort()
		if err != nil {
			return err
		}
		g := &fanGroup{name: name, group: fmt.Sprintf("commbench.%s.%s.%s", r.runID, r.key, name), url: "http://" + addr}
		g.proc, err = startProc(ctx, groupProcName(name)+"-"+r.key, addr, r.o.Exe, args(addr, g.group), r.dir)
		if err != nil {
			return err
		}
		r.groups = append(r.groups, g)
	}
	return nil
}

// sampleGroups reads every extra group's lag; -1 where it could not be
// read.
func (r *patternRun) sampleGroups(ctx context.Context) map[string]int64 {
	if len(r.groups) == 0 || r.client == nil {
		return nil
	}
	lags := make(map[string]int64, len(r.groups))
	for _, g := range r.groups {
		lags[g.name] = -1
		if l, _, err := r.client.Lag(ctx, g.group, r.topic); err == nil {
			lags[g.name] = l
		}
	}
	return lags
}

// groupsDrained reports whether every extra group's last lag was 0.
// Called with r.mu held.
func (r *patternRun) groupsDrained() bool {
	for _, g := range r.groups {
		lag := r.series.LagByGroup[g.name]
		if len(lag) == 0 || lag[len(lag)-1] != 0 {
			return false
		}
	}
	return true
}

// summarizeGroups reconciles each extra group's ledger against the
// accepted ids.
func (r *patternRun) summarizeGroups(ctx context.Context, accepted wire.Ranges) ([]results.GroupSummary, error) {
	var (
		out  []results.GroupSummary
		errs []string
	)
	for _, g := range r.groups {
		s := results.GroupSummary{Name: g.name}
		r.mu.Lock()
		s.PeakLag = g.peakLag
		r.mu.Unlock()
		snap, err := fetchLedger(ctx, g.url)
		if err != nil {
			errs = append(errs, fmt.Sprintf("group %s: %v", g.name, err))
			out = append(out, s)
			continue
		}
		s.Delivered = int64(accepted.Minus(accepted.Minus(snap.DeliveredIDs)).Count())
		s.Lost = int64(accepted.Minus(snap.DeliveredIDs.Union(snap.DeadLetteredIDs)).Count())
		s.Duplicated = snap.Duplicates
		if h, err := hdrhistogram.Decode([]byte(snap.NotifyHist)); err == nil {
			s.Notify = percentiles(h)
		}
		out = append(out, s)
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("read the ledgers of the fan-out groups: %s", strings.Join(errs, "; "))
	}
	return out, nil
}
