package ledger

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/commbench/commbench/targets/wire"
)

func TestRecordCountsFirstDeliveriesAndDuplicates(t *testing.T) {
	l := New()
	for _, id := range []uint64{1, 2, 3, 2, 70000, 1} {
		if _, err := l.Record(id, 0, 5_000_000); err != nil {
			t.Fatal(err)
		}
	}
	got := l.Counts()
	want := wire.Counts{Delivered: 4, Duplicates: 2, Untraced: 4} // Record has no hop stamps
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, id := range []uint64{1, 2, 3, 70000} {
		if !l.Delivered(id) {
			t.Errorf("Delivered(%d) = false, want true", id)
		}
	}
	if l.Delivered(4) {
		t.Error("Delivered(4) = true, want false")
	}
}

func TestRecordRejectsOutOfRangeIDs(t *testing.T) {
	l := New()
	for _, id := range []uint64{0, wire.MaxID + 1} {
		if _, err := l.Record(id, 0, 1); err != wire.ErrIDRange {
			t.Errorf("Record(%d): got %v, want wire.ErrIDRange", id, err)
		}
	}
	if _, err := l.Record(wire.MaxID, 0, 1); err != nil {
		t.Errorf("Record(wire.MaxID): %v", err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	l := New()
	for id := uint64(1); id <= 1000; id++ {
		if id == 500 {
			continue
		}
		l.Record(id, 0, int64(id)*1_000_000) // id ms
	}
	l.Record(1<<20, 0, 1)
	l.DeadLetter(500)
	l.Deduplicated()

	snap, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back wire.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	wantIDs := wire.Ranges{{Lo: 1, Hi: 499}, {Lo: 501, Hi: 1000}, {Lo: 1 << 20, Hi: 1 << 20}}
	if fmt.Sprint(back.DeliveredIDs) != fmt.Sprint(wantIDs) {
		t.Errorf("delivered ids: got %v, want %v", back.DeliveredIDs, wantIDs)
	}
	if got := back.DeliveredIDs.Count(); got != 1000 {
		t.Errorf("delivered count from ranges: got %d, want 1000", got)
	}
	if fmt.Sprint(back.DeadLetteredIDs) != fmt.Sprint(wire.Ranges{{Lo: 500, Hi: 500}}) {
		t.Errorf("dead-lettered ids: got %v", back.DeadLetteredIDs)
	}
	if back.Delivered != 1000 || back.DeadLettered != 1 || back.Deduplicated != 1 {
		t.Errorf("counts: got %+v", back.Counts)
	}
	h, err := back.Histogram()
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 1000 {
		t.Errorf("histogram count: got %d, want 1000", h.TotalCount())
	}
	// p50 of 1..999 ms (less 500) and a 0 is near 500 ms = 500,000 µs.
	if p50 := h.ValueAtQuantile(50); p50 < 490_000 || p50 > 510_000 {
		t.Errorf("p50: got %d µs, want about 500,000", p50)
	}
}

func TestIntervalStartsAfresh(t *testing.T) {
	l := New()
	l.Record(1, 0, 1000)
	l.Record(2, 0, 1000)
	if got := l.Interval().TotalCount(); got != 2 {
		t.Errorf("first interval: got %d, want 2", got)
	}
	l.Record(3, 0, 1000)
	if got := l.Interval().TotalCount(); got != 1 {
		t.Errorf("second interval: got %d, want 1", got)
	}
}

func TestClampedAboveBound(t *testing.T) {
	l := New()
	l.Record(1, 0, (wire.HighestMicros+5)*1000)
	if got := l.Counts().Clamped; got != 1 {
		t.Errorf("clamped: got %d, want 1", got)
	}
}

func TestReset(t *testing.T) {
	l := New()
	l.Record(7, 0, 1)
	l.DeadLetter(8)
	l.Reset()
	if l.Delivered(7) || l.Counts() != (wire.Counts{}) {
		t.Errorf("after Reset: delivered(7)=%v counts=%+v", l.Delivered(7), l.Counts())
	}
}

func TestConcurrentRecordLosesNothing(t *testing.T) {
	l := New()
	const workers, each = 8, 20000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Every id is recorded by two workers: one delivery, one duplicate.
				id := uint64((w/2)*each + i + 1)
				l.Record(id, 0, 1000)
			}
		})
	}
	wg.Wait()
	got := l.Counts()
	if got.Delivered != workers/2*each || got.Duplicates != workers/2*each {
		t.Errorf("got %+v, want %d delivered and %d duplicates", got, workers/2*each, workers/2*each)
	}
}

func ExampleLedger() {
	l := New()
	l.Record(1, 0, 3_000_000) // delivered 3 ms after it was sent
	l.Record(2, 0, 4_000_000)
	l.Record(1, 0, 9_000_000) // a redelivery
	snap, _ := l.Snapshot()
	fmt.Println(snap.Delivered, snap.Duplicates, snap.DeliveredIDs)
	// Output: 2 1 [{1 2}]
}

func TestRecordTraceSplitsTimeToNotifyIntoHops(t *testing.T) {
	l := New()
	const ms = int64(1_000_000)
	st := Stamps{APIIn: 1 * ms, Handoff: 3 * ms, NotifIn: 10 * ms, ProviderStart: 11 * ms}
	l.RecordTrace(1, 0, st, 16*ms)
	l.RecordTrace(1, 0, st, 20*ms)                   // a duplicate: not in the hops
	l.RecordTrace(2, 0, Stamps{APIIn: 1 * ms}, 5*ms) // incomplete: untraced
	// A stamp out of order (another clock, rounding) gives 0, never negative.
	l.RecordTrace(3, 2*ms, Stamps{APIIn: 1 * ms, Handoff: 3 * ms, NotifIn: 4 * ms, ProviderStart: 5 * ms}, 6*ms)
	snap, err := l.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Untraced != 1 {
		t.Errorf("untraced: got %d, want 1", snap.Untraced)
	}
	hops, err := snap.HopHistograms()
	if err != nil {
		t.Fatal(err)
	}
	want := [wire.NumHops]int64{1000, 2000, 7000, 1000, 5000} // id 1's hops in µs
	for i, h := range hops {
		if h.TotalCount() != 2 {
			t.Errorf("%s: got %d values, want 2 (ids 1 and 3)", wire.HopNames[i], h.TotalCount())
		}
		if got := h.Max(); !h.ValuesAreEquivalent(got, want[i]) {
			t.Errorf("%s: got max %d µs, want %d", wire.HopNames[i], got, want[i])
		}
		if h.Min() < 0 {
			t.Errorf("%s: negative hop %d", wire.HopNames[i], h.Min())
		}
	}
	if got := hops[wire.HopAPI].Min(); got != 0 {
		t.Errorf("api hop of id 3 (stamped before its send): got %d µs, want 0", got)
	}
}
