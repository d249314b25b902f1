package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

func TestLossWarnings(t *testing.T) {
	kill := profiles.Fault{At: profiles.Duration(time.Second), For: profiles.Duration(time.Second), Target: profiles.TargetBroker, Kind: profiles.KindKill}
	tests := []struct {
		name   string
		lost   wire.Ranges
		faults []profiles.Fault
		words  []string // in the one warning; none: no warning
	}{
		{"nothing lost: silent", nil, []profiles.Fault{kill}, nil},
		{"a loss names the ids and the broker kill", wire.Ranges{{Lo: 7, Hi: 7}, {Lo: 20, Hi: 40}}, []profiles.Fault{kill},
			[]string{"22 accepted reaction(s) LOST", "ids 7, 20, 21", "and 12 more", "broker kill", "replication factor 1", "bug"}},
		{"a loss without a fault is a bug", wire.Ranges{{Lo: 3, Hi: 3}}, nil, []string{"1 accepted reaction(s) LOST", "no fault", "bug"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged []string
			r := &patternRun{key: "hybrid", lostIDs: tt.lost, p: &profiles.Profile{Faults: tt.faults},
				o: RunOptions{Logf: func(f string, a ...any) { logged = append(logged, f) }}}
			s := &results.Summary{Lost: int64(tt.lost.Count()), Drained: true}
			w := r.lossWarnings(s)
			if len(tt.words) == 0 {
				if len(w) != 0 || len(logged) != 0 {
					t.Fatalf("got warnings %q, log %q; want none", w, logged)
				}
				return
			}
			// One warning, not logged here: the run says it as it records it.
			if len(w) != 1 || len(logged) != 0 {
				t.Fatalf("got warnings %q, log %q; want one warning, not logged", w, logged)
			}
			for _, word := range tt.words {
				if !strings.Contains(w[0], word) {
					t.Errorf("warning %q lacks %q", w[0], word)
				}
			}
		})
	}
}
