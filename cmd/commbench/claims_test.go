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
			results.Claim{ID: "broker-spof", Verdict: claims.DoesNotHold, Evidence: "async kept going."}),
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
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "broker-spof                 not exercised") || strings.Contains(out, "no broker fault") {
		t.Errorf("a run's not-exercised verdict is listed beside another run's verdict:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n < len(claims.Rules()) {
		t.Errorf("%d lines for %d claims", n, len(claims.Rules()))
	}
}
