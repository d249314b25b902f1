package harness

import (
	"testing"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/wire"
)

// TestHopsOfReplicasMerge checks that the hops of several notification
// replicas' ledgers add up in the pattern's summary.
func TestHopsOfReplicasMerge(t *testing.T) {
	const ms = int64(1_000_000)
	var snaps []*wire.Snapshot
	for replica := range 2 {
		l := ledger.New()
		for id := uint64(1); id <= 3; id++ {
			st := ledger.Stamps{APIIn: 1 * ms, Handoff: 2 * ms, NotifIn: 3 * ms, ProviderStart: 4 * ms}
			l.RecordTrace(id+uint64(replica)*10, 0, st, 9*ms)
		}
		snap, err := l.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, snap)
	}
	merged := mergeSnapshots(snaps)
	hops := newHopHists()
	if err := hops.fromSnapshot(merged); err != nil {
		t.Fatal(err)
	}
	pat := &results.Pattern{}
	hops.set(pat)
	if pat.Summary.Traced != 6 {
		t.Errorf("traced: got %d, want 6", pat.Summary.Traced)
	}
	want := [5]float64{1, 1, 1, 1, 5} // ms
	for i, h := range pat.Summary.Hops.All() {
		if got := h.P50; got < want[i]*0.99 || got > want[i]*1.01 {
			t.Errorf("hop %s p50: got %v ms, want %v", results.HopNames[i], got, want[i])
		}
		if *pat.Histograms.Hops.All()[i] == "" {
			t.Errorf("hop %s: no histogram", results.HopNames[i])
		}
	}
}

// TestHopNames checks that the ledger's hop names are results.json's.
func TestHopNames(t *testing.T) {
	if wire.HopNames != results.HopNames {
		t.Errorf("wire.HopNames %q, results.HopNames %q", wire.HopNames, results.HopNames)
	}
}
