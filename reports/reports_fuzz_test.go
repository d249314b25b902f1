package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// FuzzRender renders the report of a results.json from elsewhere (a real
// run, its fields changed by ops: see resultstest.Mutate), as 'commbench
// report' does: an error or a page, never a panic.
func FuzzRender(f *testing.F) {
	seeds := resultstest.Seeds(f, "..")
	// A capacity run's, whose patterns are empty.
	capacity, err := os.ReadFile(filepath.Join("testdata", "capacity", "results.json"))
	if err != nil {
		f.Fatal(err)
	}
	seeds = append(seeds, capacity)
	resultstest.AddSeeds(f, seeds)
	f.Fuzz(func(t *testing.T, seed uint8, ops []byte) {
		dir := resultstest.Run(t, seeds, seed, ops)
		if _, err := results.Read(dir); err != nil {
			return // refused on reading: FuzzRead's business
		}
		if _, err := reports.Render(dir); err != nil {
			t.Logf("render: %v", err)
		}
	})
}

// FuzzCompare compares a results.json from elsewhere with a real run, as
// 'commbench compare' does, as A and as B.
func FuzzCompare(f *testing.F) {
	seeds := resultstest.Seeds(f, "..")
	resultstest.AddSeeds(f, seeds)
	real := resultstest.WriteRun(f, seeds[0])
	f.Fuzz(func(t *testing.T, seed uint8, ops []byte) {
		dir := resultstest.Run(t, seeds, seed, ops)
		a, err := results.Read(dir)
		if err != nil {
			return
		}
		out := filepath.Join(t.TempDir(), "compare.html")
		if _, err := reports.RenderCompare(dir, real, out); err != nil {
			t.Logf("compare: %v", err)
		}
		path, err := reports.RenderCompare(real, dir, "")
		if err != nil {
			t.Logf("compare: %v", err)
		} else if filepath.Dir(path) != dir {
			t.Fatalf("the page went to %s, outside the run folder %s", path, dir)
		}
		var buf bytes.Buffer
		_ = reports.Compare(&buf, a, a)
	})
}
