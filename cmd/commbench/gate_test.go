package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/gate/pairrun"
	"github.com/commbench/commbench/results"
)

// ciProfile is the ci profile, from this folder: p99 +50% or +5ms.
const ciProfile = "../../profiles/ci.yaml"

// writeRun writes a run folder whose sync pattern has the given API p99
// and returns its path.
func writeRun(t *testing.T, id string, p99 float64) string {
	t.Helper()
	r := &results.Results{Schema: results.SchemaVersion, Order: []string{"sync", "async"}, Patterns: map[string]*results.Pattern{}}
	r.Run.ID, r.Run.Profile, r.Run.ProfileFile = id, "ci", ciProfile
	for _, k := range r.Order {
		s := results.Summary{Requests: 12000, Accepted: 12000, AchievedRPS: 400}
		s.API.P99, s.Notify.P99 = 10, 40
		if k == "sync" {
			s.API.P99 = p99
		}
		r.Patterns[k] = &results.Pattern{Summary: s}
	}
	dir := filepath.Join(t.TempDir(), id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGateCLI(t *testing.T) {
	base := filepath.Join(writeRun(t, "base", 10), "results.json")
	good, slow := writeRun(t, "good", 11), writeRun(t, "slow", 30)
	missing := writeRun(t, "missing", 10)
	r, _ := results.Read(missing)
	delete(r.Patterns, "async")
	r.Order = r.Order[:1]
	r.Write(missing)
	malformed := filepath.Join(t.TempDir(), "baseline.json")
	os.WriteFile(malformed, []byte("{not json"), 0o644)
	absent := filepath.Join(t.TempDir(), "reports", "baseline.json")

	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int      // exit code; 0 is a nil error
		wantMsg  []string // in the error or its hint
	}{
		// The same numbers: pass.
		{name: "pass", args: []string{"--baseline", base, "--no-rerun", good}},
		// Flags after RUN_DIR work too.
		{name: "flags after", args: []string{good, "--baseline", base, "--no-rerun"}},
		// 3x the p99 on one measurement (no re-run): a regression, exit 1.
		{name: "regression", args: []string{"--baseline", base, "--no-rerun", slow}, wantCode: exitFailure, wantMsg: []string{"sync api p99", "./bench.sh baseline"}},
		// A looser tolerance from the flags lets it pass.
		{name: "flag override", args: []string{"--baseline", base, "--no-rerun", "--p99-tolerance", "3", slow}},
		// An explicit profile is used for the thresholds.
		{name: "profile", args: []string{"--baseline", base, "--no-rerun", "--profile", ciProfile, good}},
		// No baseline file yet: exit 2, naming the file and ./bench.sh baseline.
		{name: "baseline absent", args: []string{"--baseline", absent, good}, wantCode: exitUsage, wantMsg: []string{absent, "no such file", "./bench.sh baseline"}},
		// A baseline that is not JSON: exit 2, naming the file.
		{name: "baseline malformed", args: []string{"--baseline", malformed, good}, wantCode: exitUsage, wantMsg: []string{malformed, "not a commbench results.json", "./bench.sh baseline"}},
		// No such run folder: exit 2.
		{name: "run absent", args: []string{"--baseline", base, filepath.Join(t.TempDir(), "nope")}, wantCode: exitUsage, wantMsg: []string{"nope", "no such file", "RUN_DIR"}},
		// The run lacks a pattern of the baseline: exit 2.
		{name: "pattern missing", args: []string{"--baseline", base, missing}, wantCode: exitUsage, wantMsg: []string{"async", "pattern missing"}},
		// No --baseline: exit 2 with the way to make one.
		{name: "no baseline flag", args: []string{good}, wantCode: exitUsage, wantMsg: []string{"--baseline is required", "./bench.sh baseline"}},
		// No RUN_DIR: exit 2.
		{name: "no run", args: []string{"--baseline", base}, wantCode: exitUsage, wantMsg: []string{"RUN_DIR"}},
		// A negative tolerance: exit 2.
		{name: "bad flag", args: []string{"--baseline", base, "--drop-tolerance", "-1", good}, wantCode: exitUsage, wantMsg: []string{"--drop-tolerance"}},
		// --resume belongs to the self-test, and to a self-test's folder.
		{name: "resume alone", args: []string{"--resume", t.TempDir()}, wantCode: exitUsage, wantMsg: []string{"--resume goes with --self-test"}},
		{name: "resume elsewhere", args: []string{"--self-test", "--profiles", "../../profiles", "--resume", t.TempDir()}, wantCode: exitUsage, wantMsg: []string{"not a self-test's folder", "selftest.txt"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := cmdGate(tt.args)
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var ee *exitError
			if !errors.As(err, &ee) {
				t.Fatalf("got %v (%T), want an *exitError with code %d", err, err, tt.wantCode)
			}
			if ee.Code != tt.wantCode {
				t.Errorf("code: got %d, want %d (%v)", ee.Code, tt.wantCode, err)
			}
			msg := err.Error() + "\nhint: " + ee.Hint
			for _, w := range tt.wantMsg {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
		})
	}
}

func TestGateCLIFiles(t *testing.T) {
	base := writeRun(t, "base", 10)
	run := writeRun(t, "run", 30)
	cmdGate([]string{"--baseline", base, "--no-rerun", run})
	for _, name := range []string{gate.TextFile, gate.BenchmarkFile, gate.BenchstatFile, gate.BenchstatBaselineFile} {
		if _, err := os.Stat(filepath.Join(run, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(run, gate.TextFile))
	if !strings.Contains(string(b), "result: FAIL") {
		t.Errorf("%s:\n%s\nwant a FAIL", gate.TextFile, b)
	}
}

func TestGateProfileFileNotARegularFile(t *testing.T) {
	r := &results.Results{}
	r.Run.Profile, r.Run.ProfileFile = "ci", "/dev/zero" // read forever, before
	r.Run.ProfileYAML = "stages: [{for: 1s, rate: 1}]\n"
	p, file, _, err := gateProfile("", "", r)
	if err != nil || p == nil || file != "/dev/zero" {
		t.Fatalf("got %v, %q, %v; want the recorded profile_yaml", p, file, err)
	}
}

// TestGateDefault checks the mode commbench gate picks when the flags
// name none: without reports/baseline.json, side by side against the
// merge base with the default branch, and a usage error (exit 2) when
// there is no default branch. (With the baseline it runs the ci profile:
// the end-to-end tests' part.)
func TestGateDefault(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("git", "-C", dir, "init", "-q", "-b", "trunk").CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	t.Chdir(dir)
	err := cmdGate([]string{"--repeats", "1"})
	var ee *exitError
	if !errors.As(err, &ee) || ee.Code != exitUsage || !strings.Contains(err.Error(), "no default branch") || !strings.Contains(ee.Hint, "--against REF") {
		t.Errorf("got %v, want exit 2: no default branch, pass --against REF", err)
	}
}

// TestGateExit checks the exit code of each Kind of pairrun.Error, and
// that other errors pass unchanged.
func TestGateExit(t *testing.T) {
	for _, tt := range []struct {
		kind pairrun.Kind
		want int
	}{
		{pairrun.Usage, exitUsage}, {pairrun.Regression, exitFailure},
		{pairrun.Inconclusive, exitInconclusive}, {pairrun.Interrupted, exitSignaled}, {0, exitFailure},
	} {
		err := gateExit(&pairrun.Error{Kind: tt.kind, Err: errors.New("gate: x"), Hint: "h"})
		var ee *exitError
		if !errors.As(err, &ee) || ee.Code != tt.want || err.Error() != "gate: x" || ee.Hint != "h" {
			t.Errorf("kind %d: got %v (%+v), want exit %d with the message and hint", tt.kind, err, ee, tt.want)
		}
	}
	plain := errors.New("disk full")
	if err := gateExit(plain); err != plain {
		t.Errorf("a plain error: got %v, want it unchanged", err)
	}
}
