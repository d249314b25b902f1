package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/profiles"
)

// defaultInjection is the regression --self-test injects when --head-set
// says none: 10 ms more per reaction write, about +25% on sync's API p99
// in the ci profile (~43 ms on a 2-core machine).
const defaultInjection = "services.reaction.write_cost=10ms"

// gateSelfTest measures the gate's error rates with this build on both
// sides. Per trial k it runs, interleaved, --repeats runs each of: the
// base (A), the same build and profile again (A2), and the head with the
// injected regression (B). A false-positive trial compares A2 with A, a
// detection trial B with A. Runs are never shared between two trials of
// one kind, so each kind's trials are independent; trial k's two kinds
// share their base runs (that correlates the two rates, not the trials of
// one rate). With --resume it first counts the finished trials of an
// earlier self-test's folder, judged again from their runs by this
// invocation's rule, and goes on after them.
func gateSelfTest(ctx context.Context, f gateFlags, env environ, plan pairPlan, opts gate.PairOptions, p *profiles.Profile) error {
	injected := plan.headName
	plan.baseExe, plan.baseName = plan.headExe, "base "+version
	same := plan
	same.headProfile, same.headName = plan.baseProfile, "head "+version+" (the same build)"
	same.labels = [2]string{"a", "a2"}
	inj := plan
	inj.baseExe, inj.labels = "", [2]string{"", "b"}
	var t selfTestTally
	done, err := selfTestPlan(f, plan)
	if err == nil && f.resume != "" {
		done, err = resumeTrials(same, inj, opts, &t)
	}
	if err != nil {
		return err
	}
	if done >= f.trials {
		gateLogf("the folder already holds %d finished trial(s); nothing to run (raise --trials)", done)
	}
	start := time.Now()
	if done < f.trials {
		stopBroker, err := gateKafka(ctx, f, env, plan.headExe, &plan)
		if err != nil {
			return err
		}
		defer stopBroker()
		same.addrs, inj.addrs = plan.addrs, plan.addrs
		warmUp(ctx, plan, p)
	}
	for k := done + 1; k <= f.trials && ctx.Err() == nil; k++ {
		var a, a2, b gate.Side
		for i := 1; i <= plan.repeats && ctx.Err() == nil; i++ {
			n := (k-1)*plan.repeats + i
			ai, a2i := runInterleaved(ctx, same, n-1, 1)
			_, bi := runInterleaved(ctx, inj, n-1, 1)
			a = joinSide(a, ai)
			a2 = joinSide(a2, a2i)
			b = joinSide(b, bi)
		}
		if ctx.Err() != nil {
			break
		}
		rfp := gate.ComparePair(a, a2, opts)
		rdet := gate.ComparePair(a, b, opts)
		// The trial's folders are written last: they mark it finished
		// for --resume.
		for _, x := range []struct {
			r    gate.Report
			head gate.Side
			name string
		}{{rfp, a2, "same"}, {rdet, b, "injected"}} {
			dir := filepath.Join(plan.out, fmt.Sprintf("trial-%d-%s", k, x.name))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := gate.WritePairFiles(dir, x.r, a, x.head); err != nil {
				return err
			}
		}
		t.add(k, rfp, rdet)
		gateLogf("self-test trial %d of %d: same %s, injected %s (%s so far)", k, f.trials, rfp.Outcome(), rdet.Outcome(), time.Since(start).Round(time.Second))
		// The tally so far, in case the self-test is stopped.
		var tally strings.Builder
		t.write(&tally, f, plan, injected, opts, time.Since(start))
		if err := os.WriteFile(filepath.Join(plan.out, "selftest.txt"), []byte(tally.String()), 0o644); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return &exitError{Code: exitSignaled, Err: fmt.Errorf("gate: self-test interrupted; the runs so far are in %s (go on with --resume %s)", plan.out, plan.out)}
	}
	var b strings.Builder
	t.write(&b, f, plan, injected, opts, time.Since(start))
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(plan.out, "selftest.txt"), []byte(b.String()), 0o644)
}

// selfTestPlanFile records what a self-test's runs depend on beyond its
// profile files, so that --resume goes on only with the same.
const selfTestPlanFile = "selftest-plan.json"

type selfTestRecord struct {
	Repeats  int    `json:"repeats"`
	Patterns string `json:"patterns"`
}

// selfTestPlan writes the plan file of a new self-test, or checks a
// resumed one's against the flags. It returns 0 (no trial finished yet).
func selfTestPlan(f gateFlags, plan pairPlan) (int, error) {
	file := filepath.Join(plan.out, selfTestPlanFile)
	want := selfTestRecord{Repeats: plan.repeats, Patterns: plan.patterns}
	if f.resume == "" {
		data, _ := json.Marshal(want)
		return 0, os.WriteFile(file, data, 0o644)
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		gateLogf("%s has no %s (it predates --resume): taking --repeats %d and --patterns %q as its own", plan.out, selfTestPlanFile, want.Repeats, want.Patterns)
		data, _ = json.Marshal(want)
		return 0, os.WriteFile(file, data, 0o644)
	}
	var had selfTestRecord
	if err == nil {
		err = json.Unmarshal(data, &had)
	}
	if err != nil {
		return 0, usageErr(fmt.Errorf("gate: --resume: %s: %v", file, err), "")
	}
	if had != want {
		return 0, usageErr(fmt.Errorf("gate: --resume: %s ran --repeats %d --patterns %q, not %d %q", file, had.Repeats, had.Patterns, want.Repeats, want.Patterns),
			"resume with the flags it started with")
	}
	return 0, nil
}

// resumeTrials counts the finished trials in same.out (a trial is
// finished when both its trial-k folders exist), judging each again from
// its runs, and removes the runs of an unfinished one. It returns how many
// were finished.
func resumeTrials(same, inj pairPlan, opts gate.PairOptions, t *selfTestTally) (int, error) {
	out, r := same.out, same.repeats
	k := 0
	for ; k < 100; k++ {
		if !isDir(filepath.Join(out, fmt.Sprintf("trial-%d-same", k+1))) || !isDir(filepath.Join(out, fmt.Sprintf("trial-%d-injected", k+1))) {
			break
		}
		a := gate.Side{Name: same.baseName}
		a2 := gate.Side{Name: same.headName}
		b := gate.Side{Name: inj.headName}
		for i := k*r + 1; i <= (k+1)*r; i++ {
			for _, s := range []struct {
				side  *gate.Side
				label string
			}{{&a, "a"}, {&a2, "a2"}, {&b, "b"}} {
				run, err := readRun(filepath.Join(out, fmt.Sprintf("%s-%d", s.label, i)))
				if err != nil {
					s.side.Errors = append(s.side.Errors, fmt.Sprintf("run %d: %v", i, err))
					continue
				}
				s.side.Runs = append(s.side.Runs, run)
			}
		}
		t.add(k+1, gate.ComparePair(a, a2, opts), gate.ComparePair(a, b, opts))
	}
	for _, label := range []string{"a", "a2", "b"} {
		for i := k*r + 1; i <= (k+1)*r; i++ {
			if err := os.RemoveAll(filepath.Join(out, fmt.Sprintf("%s-%d", label, i))); err != nil {
				return 0, err
			}
		}
	}
	gateLogf("resuming %s after %d finished trial(s)", out, k)
	return k, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// gateFolder is the side-by-side gate's folder: a new one under --out, or
// the self-test's --resume folder.
func gateFolder(f gateFlags) (string, error) {
	if f.resume != "" {
		out, err := filepath.Abs(f.resume)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(filepath.Join(out, "profile-base.yaml")); err != nil {
			return "", usageErr(fmt.Errorf("gate: --resume %s: not a self-test's folder (no profile-base.yaml)", f.resume), "give the folder an earlier --self-test printed, e.g. reports/gate/20261130-083946")
		}
		return out, nil
	}
	out, err := filepath.Abs(filepath.Join(f.out, time.Now().Format("20060102-150405")))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", usageErr(fmt.Errorf("gate: --out: %w", err), "")
	}
	return out, nil
}

// sameFile checks that a resumed folder's profile file holds data.
func sameFile(path string, data []byte) error {
	had, err := os.ReadFile(path)
	if err != nil {
		return usageErr(fmt.Errorf("gate: --resume: %w", err), "")
	}
	if !bytes.Equal(had, data) {
		return usageErr(fmt.Errorf("gate: --resume: %s differs from the profile this self-test would run", path),
			"resume with the --profile, --patterns and --head-set it started with")
	}
	return nil
}

func joinSide(a, b gate.Side) gate.Side {
	if a.Name == "" {
		a.Name = b.Name
	}
	a.Runs = append(a.Runs, b.Runs...)
	a.Errors = append(a.Errors, b.Errors...)
	return a
}

func trialLine(k int, kind string, r gate.Report) string {
	s := fmt.Sprintf("trial %d, %s: %s", k, kind, r.Outcome())
	for _, row := range r.Rows {
		if row.Metric == gate.APIP99 {
			s += fmt.Sprintf("; %s api p99 %.2f -> %.2f ms (p %.3g)", row.Pattern, row.Baseline, row.Now, row.P)
		}
	}
	if d := r.Failures(); len(d) > 0 {
		var names []string
		for _, row := range d {
			names = append(names, row.Pattern+" "+string(row.Metric))
		}
		s += "; flagged: " + strings.Join(names, ", ")
	}
	return s
}

// selfTestTally is the self-test's trials so far.
type selfTestTally struct {
	fp, det    []string // each trial's line
	nfp, ndet  int      // trials that failed the gate
	ifp, idet  int      // trials the gate called inconclusive
	flagged    map[string]int
	flaggedKey []string // flagged's keys in the order first seen
}

// add counts trial k: rfp compared the same build, rdet the injected head.
func (t *selfTestTally) add(k int, rfp, rdet gate.Report) {
	t.fp = append(t.fp, trialLine(k, "same vs same", rfp))
	t.det = append(t.det, trialLine(k, "injected", rdet))
	if rfp.Failed() {
		t.nfp++
	}
	if rdet.Failed() {
		t.ndet++
	}
	if rfp.Outcome() == "INCONCLUSIVE" {
		t.ifp++
	}
	if rdet.Outcome() == "INCONCLUSIVE" {
		t.idet++
	}
	if t.flagged == nil {
		t.flagged = map[string]int{}
	}
	for _, row := range rdet.Failures() {
		name := row.Pattern + " " + string(row.Metric)
		if t.flagged[name] == 0 {
			t.flaggedKey = append(t.flaggedKey, name)
		}
		t.flagged[name]++
	}
}

func (t *selfTestTally) write(w io.Writer, f gateFlags, plan pairPlan, injected string, opts gate.PairOptions, took time.Duration) {
	patterns := ""
	if f.patterns != "" {
		patterns = ", --patterns " + f.patterns
	}
	fmt.Fprintf(w, "\ngate self-test: %d trial(s) of each kind, %d run(s) per side per trial, profile %s%s\n",
		len(t.fp), plan.repeats, gateOr(f.profile, "ci"), patterns)
	fmt.Fprintf(w, "injected regression: %s\n", injected)
	fmt.Fprintf(w, "decision: p < %g and worse than %s; blocks of %s\n\n", opts.Alpha, opts.Thresholds, opts.Block)
	for _, l := range append(slices.Clone(t.fp), t.det...) {
		fmt.Fprintln(w, l)
	}
	rate := func(what string, k, n int) {
		lo, hi := gate.Wilson(k, n)
		fmt.Fprintf(w, "%-26s %d of %d (%.0f%%), 95%% Wilson interval %.0f%%–%.0f%%\n", what+":", k, n, 100*float64(k)/float64(max(1, n)), 100*lo, 100*hi)
	}
	fmt.Fprintln(w)
	rate("false positives", t.nfp, len(t.fp))
	rate("detected (gate failed)", t.ndet, len(t.det))
	rate("inconclusive, same", t.ifp, len(t.fp))
	rate("inconclusive, injected", t.idet, len(t.det))
	for _, name := range t.flaggedKey {
		rate("  "+name+" flagged", t.flagged[name], len(t.det))
	}
	fmt.Fprintf(w, "took %s; runs in %s\n", took.Round(time.Second), plan.out)
}
