package harness

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// Scale-out: the notification service runs as K processes (replicas).
// Each keeps its own ledger, so what the run reads from "the ledger" is
// the merge of K: counts summed, histograms merged, delivered ids united.
// A reaction delivered by two replicas (a consumer-group rebalance that
// handed a message on before its offset was committed) is in two ledgers
// and neither counts it as a duplicate: the merge does.

// scaleOut is the notification service as several replicas, or behind a
// balancer: the balancer (nginx, lb.go) when the pattern calls the
// replicas over HTTP, and the replicas' share of the deliveries in the
// summary. The replicas themselves are the notification service's
// (services.go): with one or many, the run reads the merge of their
// ledgers.
type scaleOut struct {
	r     *patternRun
	nginx bool
	lb    *Proc
}

var (
	_ part       = (*scaleOut)(nil)
	_ meter      = (*scaleOut)(nil)
	_ summarizer = (*scaleOut)(nil)
)

// newScaleOut makes the scale-out a profile with services.notification
// replicas > 1 or balancer nginx asks for, on services this run starts.
// Async reaches the replicas through the consumer group: no balancer.
func newScaleOut(r *patternRun) (part, error) {
	n := r.p.Services.Notification
	nginx := n.LB() == profiles.BalancerNginx && r.pattern.HasSyncPath()
	if r.o.Targets != nil || (max(1, n.Replicas) == 1 && !nginx) {
		return nil, nil
	}
	return &scaleOut{r: r, nginx: nginx}, nil
}

// start starts the balancer in front of the replicas, if the pattern
// calls them over HTTP, and points the reaction service at it.
func (so *scaleOut) start(ctx context.Context) error {
	if !so.nginx {
		return nil
	}
	r := so.r
	ups := make([]string, len(r.replicas))
	for i, pr := range r.replicas {
		ups[i] = pr.Addr
	}
	var err error
	if so.lb, err = startNginx(ctx, "lb-"+r.key, r.dir, ups); err != nil {
		return fmt.Errorf("load balancer: %w", err)
	}
	r.callURL = "http://" + so.lb.Addr
	return nil
}

func (so *scaleOut) stop() {
	if so.lb == nil {
		return
	}
	if err := so.lb.Stop(Grace); err != nil {
		so.r.o.Logf("%s: %v", so.r.key, err)
	}
}

// procs meters the balancer: nginx's worker does the proxying; its master
// only supervises.
func (so *scaleOut) procs(m map[string]int) {
	if so.lb == nil {
		return
	}
	m["lb"] = 0
	if w := nginxWorkers(so.lb.PID()); len(w) > 0 {
		m["lb"] = w[0]
	}
}

// summarize says how many replicas there were, what each delivered, and
// what balanced them.
func (so *scaleOut) summarize(_ context.Context, s *results.Summary, rc reconciled) error {
	s.Replicas = len(so.r.replicas)
	s.ReplicaDelivered = rc.each
	s.Balancer = string(profiles.BalancerNone)
	if so.lb != nil {
		s.Balancer = string(profiles.BalancerNginx)
	}
	return nil
}

// checkBalancer refuses, before any load, a run that needs nginx on a
// machine without it.
func checkBalancer(o RunOptions, pl plannedRun) error {
	if o.Targets != nil || !pl.pattern.HasSyncPath() || pl.profile.Services.Notification.LB() != profiles.BalancerNginx {
		return nil
	}
	if _, err := FindNginx(); err != nil {
		return fmt.Errorf("%s: services.notification.balancer is nginx: %w", o.ProfileFile, err)
	}
	return nil
}

// replicaName is the name of replica i (0-based) in pids() and the
// summary's cpu_s_per_1k: "notification" for the first, as with one
// replica, then "notification-2", "notification-3", ...
func replicaName(i int) string {
	if i == 0 {
		return "notification"
	}
	return "notification-" + strconv.Itoa(i+1)
}

// addCounts sums two ledgers' counts, every int64 field of them (a field
// added to wire.Counts is summed too).
func addCounts(a, b wire.Counts) wire.Counts {
	va, vb := reflect.ValueOf(&a).Elem(), reflect.ValueOf(b)
	for i := range va.NumField() {
		if f := va.Field(i); f.Kind() == reflect.Int64 && f.CanSet() {
			f.SetInt(f.Int() + vb.Field(i).Int())
		}
	}
	return a
}

// fetchIntervals reads the last interval of every ledger at urls and
// merges them. It fails if any fails: a partial sum would look like a
// delivery rate that dropped.
// fetchCounts reads the ledgers' counts without taking their interval
// (GET /v1/stats): what the drain polls ten times a second, leaving the
// per-second interval to the sampler.
func fetchCounts(ctx context.Context, urls []string) (wire.Counts, error) {
	var sum wire.Counts
	for _, u := range urls {
		var st struct {
			Ledger wire.Counts `json:"ledger"`
		}
		if err := getJSON(ctx, u+wire.PathStats, &st); err != nil {
			return sum, err
		}
		sum = addCounts(sum, st.Ledger)
	}
	return sum, nil
}

func fetchIntervals(ctx context.Context, urls []string) (wire.Counts, *hdrhistogram.Histogram, error) {
	if len(urls) == 1 {
		return fetchInterval(ctx, urls[0])
	}
	var (
		sum  wire.Counts
		hist = hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
		errs []error
	)
	for _, u := range urls {
		c, h, err := fetchInterval(ctx, u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sum = addCounts(sum, c)
		if h != nil {
			hist.Merge(h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return sum, nil, err
	}
	return sum, hist, nil
}

// fetchLedgers reads every ledger at urls and merges them into one
// snapshot: delivered and dead-lettered ids united, counts summed, a
// delivery in two ledgers counted as a duplicate, histograms merged. It
// also returns each ledger's count of distinct delivered ids.
func fetchLedgers(ctx context.Context, urls []string) (*wire.Snapshot, []int64, error) {
	snaps := make([]*wire.Snapshot, 0, len(urls))
	each := make([]int64, 0, len(urls))
	for _, u := range urls {
		s, err := fetchLedger(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		snaps = append(snaps, s)
		each = append(each, int64(s.DeliveredIDs.Count()))
	}
	if len(snaps) == 1 {
		return snaps[0], each, nil
	}
	return mergeSnapshots(snaps), each, nil
}

// mergeSnapshots merges the ledgers of several replicas.
func mergeSnapshots(snaps []*wire.Snapshot) *wire.Snapshot {
	out := &wire.Snapshot{}
	hist := hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	var each uint64
	for _, s := range snaps {
		out.Counts = addCounts(out.Counts, s.Counts)
		out.DeliveredIDs = out.DeliveredIDs.Union(s.DeliveredIDs)
		out.DeadLetteredIDs = out.DeadLetteredIDs.Union(s.DeadLetteredIDs)
		each += s.DeliveredIDs.Count()
		if h, err := hdrcodec.Decode([]byte(s.NotifyHist)); err == nil {
			hist.Merge(h)
		}
	}
	// A delivery in two ledgers: distinct ids fewer than the sum.
	union := out.DeliveredIDs.Count()
	out.Duplicates += int64(each - union)
	out.Delivered = int64(union)
	out.NotifyHist = encode(hist)
	// The hops too; a replica's that do not decode leave them all empty
	// (summary.traced 0 shows it).
	_ = MergeHopHists(out, snaps)
	return out
}
