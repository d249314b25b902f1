package pairrun

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// ciProfile is the ci profile, from this folder.
const ciProfile = "../../profiles/ci.yaml"

// selfTestRun writes a run folder as runOne leaves it, dir/runs/<id>/:
// one sync pattern with an API p99 of p99 ms.
func selfTestRun(t *testing.T, dir string, p99 float64) {
	t.Helper()
	sync := &results.Pattern{Summary: results.Summary{Requests: 12000, Accepted: 12000, AchievedRPS: 400}}
	sync.Summary.API.P99 = p99
	r := &results.Results{Schema: results.SchemaVersion, Order: []string{"sync"}, Patterns: map[string]*results.Pattern{"sync": sync}}
	r.Run.ID = filepath.Base(dir)
	to := filepath.Join(dir, "runs", "r")
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(to); err != nil {
		t.Fatal(err)
	}
}

func TestResumeTrials(t *testing.T) {
	out := t.TempDir()
	for _, d := range []string{"a-1", "a2-1", "b-1", "a-2", "a2-2", "b-2"} {
		selfTestRun(t, filepath.Join(out, d), 10)
	}
	// Trial 1 finished; trial 2's runs exist but its folders do not (it was
	// stopped); b-1 lost its results, a2-1 recorded a failed exit: both
	// count as failed runs of a finished trial.
	os.MkdirAll(filepath.Join(out, "trial-1-same"), 0o755)
	os.MkdirAll(filepath.Join(out, "trial-1-injected"), 0o755)
	os.RemoveAll(filepath.Join(out, "b-1", "runs"))
	os.WriteFile(filepath.Join(out, "a2-1", exitFile), []byte("commbench run exited: exit status 1\n"), 0o644)
	same := plan{out: out, repeats: 1, baseName: "base", headName: "same", logf: t.Logf}
	inj := plan{out: out, repeats: 1, headName: "injected", logf: t.Logf}
	var tally selfTestTally
	k, err := resumeTrials(same, inj, gate.PairOptions{Alpha: 0.05}, &tally)
	if err != nil {
		t.Fatal(err)
	}
	if k != 1 || len(tally.fp) != 1 || len(tally.det) != 1 {
		t.Fatalf("resumed after %d trial(s), tally %d/%d lines; want 1", k, len(tally.fp), len(tally.det))
	}
	if tally.idet != 1 || tally.ifp != 1 {
		t.Errorf("trial 1 lost b-1's run and a2-1 failed; want both kinds inconclusive, got %q, %q", tally.fp[0], tally.det[0])
	}
	if err := dropUnfinished(out, k, 1); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a-2", "a2-2", "b-2"} {
		if isDir(filepath.Join(out, d)) {
			t.Errorf("%s of the unfinished trial 2 is still there; its rerun would find two results", d)
		}
	}
	if !isDir(filepath.Join(out, "a-1")) {
		t.Error("resume removed a run of a finished trial")
	}

	// Runs beyond the next trial: the folder ran another --repeats.
	selfTestRun(t, filepath.Join(out, "a-3"), 10)
	_, err = resumeTrials(same, inj, gate.PairOptions{Alpha: 0.05}, &selfTestTally{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != Usage || !strings.Contains(err.Error(), "do not fit --repeats 1") {
		t.Errorf("runs beyond the next trial: %v; want exit 2 naming --repeats", err)
	}
}

func TestSelfTestPlanFile(t *testing.T) {
	out := t.TempDir()
	pl := plan{out: out, repeats: 2, headExe: os.Args[0], headName: "head abc with services.reaction.write_cost=10ms", logf: t.Logf}
	if _, err := selfTestPlan("", pl); err != nil {
		t.Fatal(err)
	}
	rec, err := selfTestPlan(out, pl)
	if err != nil {
		t.Errorf("resume with the same repeats: %v", err)
	}
	sits, err := addSitting(pl, rec, 3)
	if err != nil || len(sits) != 1 || sits[0].Head != "head abc" || len(sits[0].Exe) != 64 {
		t.Errorf("sitting: %+v, %v; want one from trial 3 by head abc with the executable's sha256", sits, err)
	}
	var tally selfTestTally
	tally.sittings = sits
	tally.fp = []string{"1", "2", "3", "4"}
	var b strings.Builder
	tally.writeSittings(&b)
	if !strings.Contains(b.String(), "trials 1–2: an earlier sitting that recorded no build") || !strings.Contains(b.String(), "trials 3–4: head abc") {
		t.Errorf("sittings:\n%s", b.String())
	}
	pl.repeats = 3
	_, err = selfTestPlan(out, pl)
	var e *Error
	if !errors.As(err, &e) || e.Kind != Usage || !strings.Contains(err.Error(), "--repeats 2") {
		t.Errorf("resume with other repeats: %v; want exit 2 naming --repeats 2", err)
	}
}

func TestWarmUpProfile(t *testing.T) {
	data, err := os.ReadFile("../../profiles/campaign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	warm, err := warmUpProfile(data, 15*time.Second, 400)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "warm.yaml")
	os.WriteFile(file, warm, 0o644)
	p, err := profiles.Load(file)
	if err != nil {
		t.Fatalf("the warm-up profile does not load: %v\n%s", err, warm)
	}
	if len(p.Stages) != 1 || p.Stages[0].For.Std() != 15*time.Second || p.Stages[0].Rate != 400 || len(p.Faults) != 0 || len(p.Variants) != 0 {
		t.Errorf("warm-up profile: stages %+v, %d faults, %d variants; want one 15s stage at 400, none", p.Stages, len(p.Faults), len(p.Variants))
	}
	if _, err := warmUpProfile(data, 15*time.Second, 0); err == nil {
		t.Error("a warm-up at rate 0 was accepted")
	}
}

func TestSelfTestTally(t *testing.T) {
	pass := gate.Report{Alpha: 0.05, Rows: []gate.Row{{Pattern: "sync", Metric: gate.APIP99, Baseline: 40, Now: 41, P: 0.5}}}
	fail := gate.Report{Alpha: 0.05, Rows: []gate.Row{{Pattern: "sync", Metric: gate.APIP99, Baseline: 40, Now: 50, P: 0.001, Verdict: gate.Fail}}}
	var tally selfTestTally
	tally.add(1, pass, fail)
	tally.add(2, pass, pass)
	var b strings.Builder
	tally.write(&b, Config{}, plan{repeats: 2}, "write_cost=10ms", gate.PairOptions{Alpha: 0.05}, time.Minute)
	for _, want := range []string{
		"false positives:           0 of 2 (0%), 95% Wilson interval 0%–66%",
		"detected (gate failed):    1 of 2 (50%), 95% Wilson interval 9%–91%",
		"sync api p99 flagged:    1 of 2",
		"trial 1, injected: FAIL; sync api p99 40.00 -> 50.00 ms (p 0.001); flagged: sync api p99",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("self-test summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestOutcome checks the Kind of each outcome: the exit code commbench
// gate gives it depends on nothing else.
func TestOutcome(t *testing.T) {
	fail := gate.Report{Alpha: 0.05, Rows: []gate.Row{{Pattern: "sync", Metric: gate.APIP99, Baseline: 40, Now: 50, P: 0.001, Verdict: gate.Fail}}}
	bound := gate.Report{Alpha: 0.05, Invalid: map[string]string{"sync": "machine-bound"}}
	for _, tt := range []struct {
		name string
		have gate.Report
		want Kind // 0: no error
		msg  string
	}{
		{"pass", gate.Report{Alpha: 0.05}, 0, ""},
		{"regression", fail, Regression, "gate: regression: sync api p99"},
		{"inconclusive", bound, Inconclusive, "gate: inconclusive: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := outcome(tt.have, "out")
			var e *Error
			switch {
			case tt.want == 0 && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.want != 0 && (!errors.As(err, &e) || e.Kind != tt.want || !strings.HasPrefix(err.Error(), tt.msg) || !strings.Contains(e.Hint, "out/gate.txt")):
				t.Fatalf("got %v, want kind %d starting %q with a hint naming out/gate.txt", err, tt.want, tt.msg)
			}
		})
	}
}
