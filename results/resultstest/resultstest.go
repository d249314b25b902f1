// Package resultstest holds what the fuzz targets of the packages that
// read results.json share: real files to seed them with.
package resultstest

import (
	"os"
	"path/filepath"
	"testing"
)

// Seeds returns real results.json files: a committed run trimmed to 4
// seconds (results/testdata/small-run.json) and the committed runs in
// docs/runs. root is the module's root from the test's folder, e.g. "..".
func Seeds(tb testing.TB, root string) [][]byte {
	tb.Helper()
	paths, _ := filepath.Glob(filepath.Join(root, "docs", "runs", "*", "results.json"))
	paths = append([]string{filepath.Join(root, "results", "testdata", "small-run.json")}, paths...)
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatalf("fuzz seed: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// WriteRun writes b as results.json in a new folder and returns the folder.
func WriteRun(tb testing.TB, b []byte) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// AddSeeds adds the fuzz target's seed corpus for targets of the form
// func(t, seed uint8, ops []byte): each seed file unchanged, and a few
// mutations of each.
func AddSeeds(f *testing.F, seeds [][]byte) {
	for i := range seeds {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), []byte{0, 7, 0, 1, 3, 0x13, 2, 200, 0x21})
		f.Add(uint8(i), []byte{0, 40, 0x0c, 0, 90, 0x31, 0, 120, 0x03})
	}
}

// Run writes seeds[seed], mutated by ops (see Mutate), as the results.json
// of a new folder, which it returns.
func Run(tb testing.TB, seeds [][]byte, seed uint8, ops []byte) string {
	tb.Helper()
	return WriteMutated(tb, seeds[int(seed)%len(seeds)], ops)
}
