package harness

import (
	"context"
	"errors"
	"reflect"
	"strconv"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/targets/wire"
)

// Scale-out: the notification service runs as K processes (replicas).
// Each keeps its own ledger, so what the run reads from "the ledger" is
// the merge of K: counts summed, histograms merged, delivered ids united.
// A reaction delivered by two replicas (a consumer-group rebalance that
// handed a message on before its offset was committed) is in two ledgers
// and neither counts it as a duplicate: the merge does.

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
		if h, err := hdrhistogram.Decode([]byte(s.NotifyHist)); err == nil {
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
