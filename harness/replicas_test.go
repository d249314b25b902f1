package harness

import (
	"strings"
	"testing"

	"github.com/commbench/commbench/targets/wire"
)

func TestMergeSnapshots(t *testing.T) {
	for _, tc := range []struct {
		name string
		have [][]uint64 // delivered ids per replica
		dups []int64    // each ledger's own duplicates
		want int64      // delivered (distinct)
		dup  int64      // duplicates after the merge
	}{
		// Disjoint shares, as sync behind a balancer makes them.
		{"disjoint", [][]uint64{{1, 2, 3}, {4, 5}}, []int64{0, 0}, 5, 0},
		// An id in two ledgers (a rebalance handed it on): one duplicate.
		{"one id in two ledgers", [][]uint64{{1, 2, 3}, {3, 4}}, []int64{0, 0}, 4, 1},
		// In three ledgers: two duplicates, plus each ledger's own.
		{"in three, plus their own", [][]uint64{{1, 2}, {2}, {2, 3}}, []int64{1, 0, 2}, 3, 5},
		// One replica saw nothing.
		{"an idle replica", [][]uint64{{1, 2}, nil}, []int64{0, 0}, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var snaps []*wire.Snapshot
			for i, ids := range tc.have {
				s := &wire.Snapshot{DeliveredIDs: wire.FromIDs(ids)}
				s.Delivered, s.Duplicates = int64(len(ids)), tc.dups[i]
				snaps = append(snaps, s)
			}
			got := mergeSnapshots(snaps)
			if got.Delivered != tc.want || int64(got.DeliveredIDs.Count()) != tc.want || got.Duplicates != tc.dup {
				t.Errorf("got delivered %d (%d ids) duplicates %d, want %d and %d", got.Delivered, got.DeliveredIDs.Count(), got.Duplicates, tc.want, tc.dup)
			}
		})
	}
}

func TestAddCounts(t *testing.T) {
	got := addCounts(wire.Counts{Delivered: 1, DeadLettered: 2}, wire.Counts{Delivered: 10, Duplicates: 3, DeadLettered: 1})
	want := wire.Counts{Delivered: 11, Duplicates: 3, DeadLettered: 3}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestNginxConf(t *testing.T) {
	conf := nginxConf("/run/x/lb", "127.0.0.1:9000", []string{"127.0.0.1:9001", "127.0.0.1:9002"})
	for _, want := range []string{
		"listen 127.0.0.1:9000;",
		"server 127.0.0.1:9001;",
		"server 127.0.0.1:9002;",
		"keepalive 256;",
		`proxy_set_header Connection "";`,
		"pid /run/x/lb/nginx.pid;",
		"error_log /run/x/lb/error.log",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q:\n%s", want, conf)
		}
	}
}
