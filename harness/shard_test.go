package harness_test

import (
	"testing"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/targets/wire"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		have string
		want harness.Shard
		err  bool
	}{
		{have: "0/1", want: harness.Shard{Index: 0, Count: 1}},
		{have: "2/3", want: harness.Shard{Index: 2, Count: 3}},
		// Shards count from 0: 3/3 is one too many.
		{have: "3/3", err: true},
		{have: "-1/3", err: true},
		{have: "0/0", err: true},
		{have: "1", err: true},
		{have: "a/b", err: true},
	}
	for _, tt := range tests {
		got, err := harness.ParseShard(tt.have)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tt.have, got, err, tt.want, tt.err)
		}
	}
}

// TestShardIDsDisjointAndCovering checks, for many shard counts, that the
// shards' id ranges never overlap, leave no gap, stay within the ledger's
// ids, and are the same size within one id.
func TestShardIDsDisjointAndCovering(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 7, 8, 10, 16, 100, 1000, 65536} {
		next := uint64(1) // ids start at 1
		var smallest, largest uint64 = 1 << 63, 0
		for i := range n {
			first, last := harness.Shard{Index: i, Count: n}.IDs()
			if first != next {
				t.Fatalf("n=%d: shard %d starts at %d, want %d (right after the previous shard)", n, i, first, next)
			}
			if last < first {
				t.Fatalf("n=%d: shard %d is empty: %d..%d", n, i, first, last)
			}
			size := last - first + 1
			if i > 0 { // shard 0 gives up id 0
				smallest, largest = min(smallest, size), max(largest, size)
			}
			next = last + 1
		}
		if next-1 != wire.MaxID {
			t.Errorf("n=%d: the last shard ends at %d, want wire.MaxID %d", n, next-1, uint64(wire.MaxID))
		}
		if n > 1 && largest-smallest > 1 {
			t.Errorf("n=%d: shard sizes range from %d to %d", n, smallest, largest)
		}
	}
	// The whole run is shard 0 of 1, and the zero Shard is the same.
	if f, l := (harness.Shard{}).IDs(); f != 1 || l != wire.MaxID {
		t.Errorf("zero Shard: ids %d..%d, want 1..%d", f, l, uint64(wire.MaxID))
	}
}

// TestShardStagesSplitTheRate checks that n shards together offer the
// profile's schedule: each hit count within one hit per stage of 1/n.
func TestShardStagesSplitTheRate(t *testing.T) {
	stages := []loadgen.Stage{{For: 20 * time.Second, From: 500, To: 500}, {For: 5 * time.Second, From: 500, To: 5000}, {For: 30 * time.Second, From: 5000, To: 5000}}
	whole, err := loadgen.NewStagePacer(stages...)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 7} {
		var sum uint64
		for i := range n {
			p, err := loadgen.NewStagePacer(harness.Shard{Index: i, Count: n}.Stages(stages)...)
			if err != nil {
				t.Fatal(err)
			}
			if p.Duration() != whole.Duration() {
				t.Errorf("n=%d: shard %d lasts %v, want %v", n, i, p.Duration(), whole.Duration())
			}
			sum += p.Total()
		}
		if d := int64(whole.Total()) - int64(sum); d < 0 || d > int64(n*len(stages)) {
			t.Errorf("n=%d: shards send %d together, the whole %d", n, sum, whole.Total())
		}
	}
}

func TestShardRestrict(t *testing.T) {
	snap := &wire.Snapshot{
		Counts:          wire.Counts{Delivered: 6, Duplicates: 2, Deduplicated: 3},
		DeliveredIDs:    wire.Ranges{{Lo: 1, Hi: 3}, {Lo: 1<<31 - 1, Hi: 1<<31 + 1}},
		DeadLetteredIDs: wire.Ranges{{Lo: 1 << 31, Hi: 1 << 31}},
	}
	s0 := harness.Shard{Index: 0, Count: 2}.Restrict(snap)
	s1 := harness.Shard{Index: 1, Count: 2}.Restrict(snap)
	if got := s0.DeliveredIDs.Count(); got != 4 {
		t.Errorf("shard 0: %d delivered, want 4", got)
	}
	if got := s1.DeliveredIDs.Count(); got != 2 {
		t.Errorf("shard 1: %d delivered, want 2", got)
	}
	if s0.DeadLetteredIDs.Count() != 0 || s1.DeadLetteredIDs.Count() != 1 {
		t.Errorf("dead letters: shard 0 %d, shard 1 %d; want 0 and 1", s0.DeadLetteredIDs.Count(), s1.DeadLetteredIDs.Count())
	}
	// Ledger-wide counts are the owner's to report, once.
	if s0.Duplicates != 2 || s1.Duplicates != 0 || s1.Deduplicated != 0 {
		t.Errorf("duplicates: shard 0 %d, shard 1 %d; want 2 and 0", s0.Duplicates, s1.Duplicates)
	}
	if (harness.Shard{}).Restrict(snap) != snap {
		t.Error("the whole run's snapshot was changed")
	}
}

func TestParseTargets(t *testing.T) {
	if _, err := harness.ParseTargets("http://127.0.0.1:8080,http://127.0.0.1:8081", false); err != nil {
		t.Error(err)
	}
	// Off this machine only with allowRemote.
	if _, err := harness.ParseTargets("http://10.1.2.3:8080,http://127.0.0.1:8081", false); err == nil {
		t.Error("a remote target was accepted without allowRemote")
	}
	if _, err := harness.ParseTargets("http://127.0.0.1:8080", false); err == nil {
		t.Error("one URL was accepted")
	}
}
