package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// FuzzCommands runs every command that reads a results.json from
// elsewhere — report, compare, claims, gate (without re-runs) and merge —
// on a real run whose fields ops changed (resultstest.Mutate): each
// returns, with an error or without, and none panics. The commands' output
// goes to /dev/null.
func FuzzCommands(f *testing.F) {
	seeds := resultstest.Seeds(f, "../..")
	resultstest.AddSeeds(f, seeds)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { null.Close() })
	f.Fuzz(func(t *testing.T, seed uint8, ops []byte) {
		dir := resultstest.Run(t, seeds, seed, ops)
		if _, err := results.Read(dir); err != nil {
			return // refused on reading: results' FuzzRead
		}
		real := resultstest.WriteRun(t, seeds[0]) // claims and gate write into it
		stdout, stderr := os.Stdout, os.Stderr
		os.Stdout, os.Stderr = null, null
		defer func() { os.Stdout, os.Stderr = stdout, stderr }()
		out := t.TempDir()
		for _, c := range []struct {
			run  func([]string) error
			args []string
		}{
			{cmdClaims, []string{dir, real}},
			{cmdReport, []string{dir}},
			{cmdCompare, []string{"--out", filepath.Join(out, "a.html"), dir, real}},
			{cmdCompare, []string{"--out", filepath.Join(out, "b.html"), real, dir}},
			{cmdGate, []string{"--no-rerun", "--profile", ciProfile, "--baseline", filepath.Join(real, "results.json"), dir}},
			{cmdGate, []string{"--no-rerun", "--profile", ciProfile, "--baseline", filepath.Join(dir, "results.json"), real}},
			{cmdMerge, []string{"--out", filepath.Join(out, "merged"), dir}},
		} {
			_ = c.run(c.args)
		}
	})
}
