package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// FuzzCommands runs every command that reads a results.json from
// elsewhere — report, compare, claims, gate (without re-runs) and merge —
// on a real run whose fields ops changed (resultstest.Mutate): none
// panics, and an error is one a user can act on: it carries its exit code
// (a regression, a usage or input error, an inconclusive gate) or names
// the folder or file it is about. The commands' output goes to
// /dev/null.
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
			if err := c.run(c.args); err != nil && !actionable(err, dir, real, out) {
				t.Fatalf("%v: error %q (%T) carries no exit code and names no folder", c.args, err, err)
			}
		}
	})
}

// actionable reports whether a command's error carries an exit code other
// than the default (exitError: 1 for a regression, 2, 3) or names one of
// the folders it was given.
func actionable(err error, folders ...string) bool {
	var ee *exitError
	if errors.As(err, &ee) && (ee.Code == exitFailure || ee.Code == exitUsage || ee.Code == exitInconclusive) {
		return true
	}
	for _, f := range folders {
		if strings.Contains(err.Error(), f) {
			return true
		}
	}
	return false
}
