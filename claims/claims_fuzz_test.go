package claims_test

import (
	"testing"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// FuzzEvaluate judges the claims on a results.json from elsewhere (a real run, its fields changed by ops:
// see resultstest.Mutate), as
// 'commbench claims' and 'commbench report' do: every rule gets a verdict
// it knows, and nothing panics.
func FuzzEvaluate(f *testing.F) {
	seeds := resultstest.Seeds(f, "..")
	resultstest.AddSeeds(f, seeds)
	f.Fuzz(func(t *testing.T, seed uint8, ops []byte) {
		r, err := results.Read(resultstest.Run(t, seeds, seed, ops))
		if err != nil {
			return
		}
		cs := claims.Evaluate(r)
		want := len(claims.Rules())
		if r.Capacity != nil || r.SLO != nil { // a capacity run decides its own claims
			want = len(claims.EvaluateCapacity(r))
		}
		if len(cs) != want || want == 0 {
			t.Fatalf("%d verdicts, want %d (capacity run: %v)", len(cs), want, r.Capacity != nil || r.SLO != nil)
		}
		for _, c := range cs {
			known := false
			for _, v := range claims.Verdicts {
				known = known || c.Verdict == v
			}
			if !known {
				t.Fatalf("claim %s: verdict %q", c.ID, c.Verdict)
			}
		}
	})
}
