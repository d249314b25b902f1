package reports_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// FuzzRender renders the report of a results.json from elsewhere (a real
// run, its fields changed by ops: see resultstest.Mutate), as 'commbench
// report' does: a page, or an error naming the run folder (the page it
// could not make, or the file it could not write), never a panic.
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
		if _, err := reports.Render(dir); err != nil && !strings.Contains(err.Error(), dir) {
			t.Fatalf("render: error %q does not name the run folder %s", err, dir)
		}
	})
}

// FuzzCompare compares a results.json from elsewhere with a real run, as
// 'commbench compare' does, as A and as B, and with itself: an error names
// both folders (the page it could not make) or the page's file, and a run
// that compares with a real one compares with itself.
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
		named := func(err error, file string) bool {
			msg := err.Error()
			return strings.Contains(msg, dir) && strings.Contains(msg, real) || strings.Contains(msg, file)
		}
		out := filepath.Join(t.TempDir(), "compare.html")
		_, errAB := reports.RenderCompare(dir, real, out)
		if errAB != nil && !named(errAB, out) {
			t.Fatalf("compare: error %q names neither both folders nor %s", errAB, out)
		}
		path, err := reports.RenderCompare(real, dir, "")
		if err != nil {
			if !named(err, dir) {
				t.Fatalf("compare: error %q names neither both folders nor the page's", err)
			}
		} else if filepath.Dir(path) != dir {
			t.Fatalf("the page went to %s, outside the run folder %s", path, dir)
		}
		var buf bytes.Buffer
		if err := reports.Compare(&buf, a, a); err != nil && errAB == nil {
			t.Fatalf("Compare(a, a): %v, though a compared with a real run", err)
		}
	})
}
