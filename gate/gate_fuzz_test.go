package gate_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// FuzzCheck gates a results.json from elsewhere (a real run, its fields
// changed by ops: see resultstest.Mutate) against a real run, as baseline
// and as the run, and against itself, without re-runs, and writes what
// 'commbench gate' writes. Its only error is a pattern of the baseline
// missing from the run (ErrMissingPattern, never against itself), and
// what it reports it writes.
func FuzzCheck(f *testing.F) {
	seeds := resultstest.Seeds(f, "..")
	resultstest.AddSeeds(f, seeds)
	real, err := results.Read(resultstest.WriteRun(f, seeds[0]))
	if err != nil {
		f.Fatal(err)
	}
	th := gate.Thresholds{P99Tolerance: 0.25, DropTolerance: 0.01, RateTolerance: gate.DefaultRateTolerance}
	f.Fuzz(func(t *testing.T, seed uint8, ops []byte) {
		r, err := results.Read(resultstest.Run(t, seeds, seed, ops))
		if err != nil {
			return
		}
		for _, pair := range [][2]*results.Results{{r, real}, {real, r}, {r, r}} {
			rep, err := gate.Check(context.Background(), pair[0], pair[1], gate.Options{Thresholds: th})
			if err != nil {
				if !errors.Is(err, gate.ErrMissingPattern) || pair[0] == pair[1] {
					t.Fatalf("Check: %v; want only ErrMissingPattern, and none against itself", err)
				}
				continue
			}
			if err := rep.WriteText(io.Discard); err != nil {
				t.Fatal(err)
			}
			if err := gate.WriteFiles(t.TempDir(), rep, pair[0], pair[1]); err != nil {
				t.Fatalf("WriteFiles: %v", err)
			}
		}
	})
}
