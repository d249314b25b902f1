package main

import (
	"strings"
	"testing"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/results"
)

// TestWriteClaims: a claim exercised by two runs has a row for each, one
// exercised by none says so, and "not exercised" verdicts of a run do not
// hide another run's verdict.
func TestWriteClaims(t *testing.T) {
	run := func(id, profile string, cs ...results.Claim) *results.Results {
		r := &results.Results{Claims: cs}
		r.Run.ID, r.Run.Profile = id, profile
		return r
	}
	runs := []*results.Results{
		run("r1", "claims-chain",
			results.Claim{ID: "sync-cascades", Verdict: claims.Holds, Evidence: "A dropped 79%."},
			results.Claim{ID: "broker-spof", Verdict: claims.NotExercised, Evidence: "no broker fault"}),
		run("r2", "claims-outage",
			results.Claim{ID: "sync-cascades", Verdict: claims.Mixed, Evidence: "breakers did not open."},
			results.Claim{ID: "broker-spof", Verdict: claims.DoesNotHold, Evidence: "async kept going."},
			results.Claim{ID: "async-absorbs-surge", Verdict: claims.Inconclusive, Evidence: "Inconclusive: async is machine-bound."}),
	}
	var b strings.Builder
	writeClaims(&b, runs)
	out := b.String()
	for _, want := range []string{
		"sync-cascades               holds          r1",
		"sync-cascades               mixed          r2",
		"broker-spof                 does not hold  r2",
		"lb-hop-3-5ms                not exercised  none of these runs",
		"sync-cascades (holds, claims-chain): A dropped 79%.",
		"broker-spof (does not hold, claims-outage): async kept going.",
		"async-absorbs-surge         inconclusive   r2",
		"async-absorbs-surge (inconclusive, claims-outage): Inconclusive: async is machine-bound.",
		"decided: 1 holds, 1 does not hold, 1 mixed; 1 inconclusive, not decided",
		"; 8 of 11 claims not exercised by any of these runs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "broker-spof                 not exercised") || strings.Contains(out, "no broker fault") {
		t.Errorf("a run's not-exercised verdict is listed beside another run's verdict:\n%s", out)
	}
	if strings.Contains(out, "async-absorbs-surge         not exercised") {
		t.Errorf("an inconclusive verdict counts as not exercised:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n < len(claims.Rules()) {
		t.Errorf("%d lines for %d claims", n, len(claims.Rules()))
	}
}

// TestCountLine: inconclusive verdicts are counted apart from the decided
// ones, and a run with none says so.
func TestCountLine(t *testing.T) {
	for _, tc := range []struct {
		counts      map[string]int
		unexercised int
		want        string
	}{
		// Nothing inconclusive: it says so.
		{map[string]int{claims.Holds: 2}, 9, "decided: 2 holds; 0 inconclusive; 9 of 11 claims not exercised by any of these runs"},
		// Only inconclusive verdicts decide nothing.
		{map[string]int{claims.Inconclusive: 3}, 8, "decided: none; 3 inconclusive, not decided"},
		// The decided in the order of claims.Verdicts, the inconclusive after.
		{map[string]int{claims.Mixed: 1, claims.DoesNotHold: 1, claims.Holds: 1, claims.Inconclusive: 1}, 7, "decided: 1 holds, 1 does not hold, 1 mixed; 1 inconclusive"},
	} {
		if got := countLine(tc.counts, tc.unexercised); !strings.Contains(got, tc.want) {
			t.Errorf("countLine(%v, %d) = %q, want it to hold %q", tc.counts, tc.unexercised, got, tc.want)
		}
	}
}
