package pairrun

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// DefaultInjection is the regression the self-test injects when HeadSet
// says none: 10 ms more per reaction write, about +25% on sync's API p99
// in the ci profile (~43 ms on a 2-core machine).
const DefaultInjection = "services.reaction.write_cost=10ms"

// selfTest measures the gate's error rates with this build on both
// sides. Per trial k it runs, interleaved, Repeats runs each of: the
// base (A), the same build and profile again (A2), and the head with the
// injected regression (B). A false-positive trial compares A2 with A, a
// detection trial B with A. Runs are never shared between two trials of
// one kind, so each kind's trials are independent; trial k's two kinds
// share their base runs (that correlates the two rates, not the trials of
// one rate). With Resume it first counts the finished trials of an
// earlier self-test's folder, judged again from their runs by this
// invocation's rule, and goes on after them.
func selfTest(ctx context.Context, c Config, pl plan, opts gate.PairOptions, p *profiles.Profile) error {
	injected := pl.headName
	pl.baseExe, pl.baseName = pl.headExe, "base "+c.Version
	same := pl
	same.headProfile, same.headName = pl.baseProfile, "head "+c.Version+" (the same build)"
	same.labels = [2]string{"a", "a2"}
	inj := pl
	inj.baseExe, inj.labels = "", [2]string{"", "b"}
	var t selfTestTally
	rec, err := selfTestPlan(c.Resume, pl)
	done := 0
	if err == nil && c.Resume != "" {
		done, err = resumeTrials(same, inj, opts, &t)
	}
	if err != nil {
		return err
	}
	t.sittings = rec.Sittings
	start := time.Now()
	if done >= c.Trials {
		pl.logf("the folder already holds %d finished trial(s); nothing to run (raise --trials)", done)
	} else {
		stopBroker, err := startKafka(ctx, c, &pl)
		if err != nil {
			return err
		}
		defer stopBroker()
		same.addrs, inj.addrs = pl.addrs, pl.addrs
		if err := dropUnfinished(pl.out, done, pl.repeats); err != nil {
			return err
		}
		if note := warmUp(ctx, pl, p); note != "" {
			pl.notes = append(pl.notes, note)
		}
		if t.sittings, err = addSitting(pl, rec, done+1); err != nil {
			return err
		}
	}
	for k := done + 1; k <= c.Trials && ctx.Err() == nil; k++ {
		if err := selfTestTrial(ctx, k, same, inj, pl, opts, &t); err != nil {
			return err
		}
		if ctx.Err() != nil {
			break
		}
		pl.logf("self-test trial %d of %d: same %s, injected %s (%s so far)", k, c.Trials, lastOutcome(t.fp), lastOutcome(t.det), time.Since(start).Round(time.Second))
		// The tally so far, in case the self-test is stopped.
		var tally strings.Builder
		t.write(&tally, c, pl, injected, opts, time.Since(start))
		if err := os.WriteFile(filepath.Join(pl.out, "selftest.txt"), []byte(tally.String()), 0o644); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return &Error{Kind: Interrupted, Err: fmt.Errorf("gate: self-test interrupted; the runs so far are in %s (go on with --resume %s)", pl.out, pl.out)}
	}
	var b strings.Builder
	t.write(&b, c, pl, injected, opts, time.Since(start))
	fmt.Fprint(c.Stdout, b.String())
	return os.WriteFile(filepath.Join(pl.out, "selftest.txt"), []byte(b.String()), 0o644)
}

// selfTestTrial runs trial k (A, A2 and B interleaved, Repeats each),
// compares, writes the trial's folders and counts it. Stopped (ctx), it
// counts nothing and writes nothing.
func selfTestTrial(ctx context.Context, k int, same, inj, pl plan, opts gate.PairOptions, t *selfTestTally) error {
	var a, a2, b gate.Side
	for i := 1; i <= pl.repeats && ctx.Err() == nil; i++ {
		n := (k-1)*pl.repeats + i
		ai, a2i := runInterleaved(ctx, same, n-1, 1)
		_, bi := runInterleaved(ctx, inj, n-1, 1)
		a = joinSide(a, ai)
		a2 = joinSide(a2, a2i)
		b = joinSide(b, bi)
	}
	if ctx.Err() != nil {
		return nil
	}
	rfp := gate.ComparePair(a, a2, opts)
	rdet := gate.ComparePair(a, b, opts)
	// The trial's folders are written last: they mark it finished for
	// --resume.
	for _, x := range []struct {
		r    *gate.Report
		head gate.Side
		name string
	}{{&rfp, a2, "same"}, {&rdet, b, "injected"}} {
		x.r.Notes = append(x.r.Notes, pl.notes...)
		dir := filepath.Join(pl.out, fmt.Sprintf("trial-%d-%s", k, x.name))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := gate.WritePairFiles(dir, *x.r, a, x.head); err != nil {
			return err
		}
	}
	t.add(k, rfp, rdet)
	return nil
}

// lastOutcome is the outcome word of the last trial line ("trial 3, same
// vs same: PASS; ...").
func lastOutcome(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	_, rest, _ := strings.Cut(lines[len(lines)-1], ": ")
	word, _, _ := strings.Cut(rest, ";")
	return word
}

// selfTestPlanFile records what a self-test's runs depend on beyond its
// profile files, so that Resume goes on only with the same, and which
// build ran which trials.
const selfTestPlanFile = "selftest-pl.json"

type selfTestRecord struct {
	Repeats  int       `json:"repeats"`
	Patterns string    `json:"patterns"`
	Sittings []sitting `json:"sittings,omitempty"`
}

// sitting is one invocation of the self-test: the first trial it ran and
// the build that ran it (the head's name, the executable's SHA-256).
type sitting struct {
	FromTrial int    `json:"from_trial"`
	Head      string `json:"head"`
	Exe       string `json:"exe_sha256"`
}

// selfTestPlan writes the plan file of a new self-test, or reads a
// resumed one's (resume is not "") and checks it against the plan.
func selfTestPlan(resume string, pl plan) (selfTestRecord, error) {
	file := filepath.Join(pl.out, selfTestPlanFile)
	want := selfTestRecord{Repeats: pl.repeats, Patterns: pl.patterns}
	if resume == "" {
		return want, writeJSON(file, want)
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		pl.logf("%s has no %s (it predates --resume): taking --repeats %d and --patterns %q as its own", pl.out, selfTestPlanFile, want.Repeats, want.Patterns)
		return want, writeJSON(file, want)
	}
	var had selfTestRecord
	if err == nil {
		err = json.Unmarshal(data, &had)
	}
	if err != nil {
		return had, usageErr(fmt.Errorf("gate: --resume: %s: %v", file, err), "")
	}
	if had.Repeats != want.Repeats || had.Patterns != want.Patterns {
		return had, usageErr(fmt.Errorf("gate: --resume: %s ran --repeats %d --patterns %q, not %d %q", file, had.Repeats, had.Patterns, want.Repeats, want.Patterns),
			"resume with the flags it started with")
	}
	return had, nil
}

// addSitting records that this build runs the trials from trial on.
func addSitting(pl plan, rec selfTestRecord, from int) ([]sitting, error) {
	sum := "unknown"
	if data, err := os.ReadFile(pl.headExe); err == nil {
		h := sha256.Sum256(data)
		sum = hex.EncodeToString(h[:])
	}
	head, _, _ := strings.Cut(pl.headName, " with ")
	rec.Sittings = append(rec.Sittings, sitting{FromTrial: from, Head: head, Exe: sum})
	return rec.Sittings, writeJSON(filepath.Join(pl.out, selfTestPlanFile), rec)
}

func writeJSON(file string, v any) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(data, '\n'), 0o644)
}

// resumeTrials counts the finished trials in same.out (a trial is
// finished when both its trial-k folders exist), judging each again from
// its runs, and checks that the run folders fit --repeats. It returns how
// many were finished.
func resumeTrials(same, inj plan, opts gate.PairOptions, t *selfTestTally) (int, error) {
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
				run, err := readFinishedRun(filepath.Join(out, fmt.Sprintf("%s-%d", s.label, i)))
				if err != nil {
					s.side.Errors = append(s.side.Errors, fmt.Sprintf("run %d: %v", i, err))
					continue
				}
				s.side.Runs = append(s.side.Runs, run)
			}
		}
		t.add(k+1, gate.ComparePair(a, a2, opts), gate.ComparePair(a, b, opts))
	}
	if (k > 0 && !isDir(filepath.Join(out, fmt.Sprintf("a-%d", k*r)))) || isDir(filepath.Join(out, fmt.Sprintf("a-%d", (k+1)*r+1))) {
		return 0, usageErr(fmt.Errorf("gate: --resume: the runs in %s do not fit --repeats %d after %d finished trial(s) (a-%d should be there, a-%d not)", out, r, k, k*r, (k+1)*r+1),
			"resume with the --repeats it started with")
	}
	same.logf("resuming %s after %d finished trial(s)", out, k)
	return k, nil
}

// readFinishedRun reads a run of a finished trial as runOne would have
// taken it: a run whose exit.txt records a failure, or that is partial,
// failed.
func readFinishedRun(dir string) (gate.Run, error) {
	if b, err := os.ReadFile(filepath.Join(dir, exitFile)); err == nil && strings.TrimSpace(string(b)) != "0" {
		return gate.Run{}, fmt.Errorf("%s", strings.TrimSpace(string(b)))
	}
	run, err := readRun(dir)
	if err == nil && run.Results.Run.Partial {
		err = fmt.Errorf("the run in %s is partial: %s", run.Dir, run.Results.Run.PartialReason)
	}
	return run, err
}

// dropUnfinished removes the runs of the trial after the first done, which
// a stopped self-test may have left half made: its rerun would find two.
func dropUnfinished(out string, done, repeats int) error {
	for _, label := range []string{"a", "a2", "b"} {
		for i := done*repeats + 1; i <= (done+1)*repeats; i++ {
			if err := os.RemoveAll(filepath.Join(out, fmt.Sprintf("%s-%d", label, i))); err != nil {
				return err
			}
		}
	}
	return nil
}

// gateFolder is the side-by-side gate's folder: a new one under Out, or
// the self-test's Resume folder.
func gateFolder(c Config) (string, error) {
	if c.Resume != "" {
		out, err := filepath.Abs(c.Resume)
		if err != nil {
			return "", err
		}
		_, errProfile := os.Stat(filepath.Join(out, "profile-base.yaml"))
		_, errTally := os.Stat(filepath.Join(out, "selftest.txt"))
		if errProfile != nil || errTally != nil && !isDir(filepath.Join(out, "trial-1-same")) {
			return "", usageErr(fmt.Errorf("gate: --resume %s: not a self-test's folder (no profile-base.yaml and selftest.txt)", c.Resume), "give the folder an earlier --self-test printed, e.g. reports/gate/20261130-083946")
		}
		return out, nil
	}
	out, err := filepath.Abs(filepath.Join(c.Out, time.Now().Format("20060102-150405")))
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
			"resume with the --profile and --head-set it started with")
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
	sittings   []sitting
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

func (t *selfTestTally) write(w io.Writer, c Config, pl plan, injected string, opts gate.PairOptions, took time.Duration) {
	patterns := ""
	if c.Patterns != "" {
		patterns = ", --patterns " + c.Patterns
	}
	fmt.Fprintf(w, "\ngate self-test: %d trial(s) of each kind, %d run(s) per side per trial, profile %s%s\n",
		len(t.fp), pl.repeats, or(c.Profile, "ci"), patterns)
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
	rate("false positives, decided", t.nfp, len(t.fp)-t.ifp)
	rate("detected, decided", t.ndet, len(t.det)-t.idet)
	for _, name := range t.flaggedKey {
		rate("  "+name+" flagged", t.flagged[name], len(t.det))
	}
	t.writeSittings(w)
	fmt.Fprintf(w, "took %s this sitting; runs in %s\n", took.Round(time.Second), pl.out)
}

// writeSittings says which build ran which trials.
func (t *selfTestTally) writeSittings(w io.Writer) {
	if len(t.sittings) == 0 {
		return
	}
	if first := t.sittings[0].FromTrial; first > 1 {
		fmt.Fprintf(w, "trials 1–%d: an earlier sitting that recorded no build\n", first-1)
	}
	for i, st := range t.sittings {
		last := len(t.fp)
		if i+1 < len(t.sittings) {
			last = t.sittings[i+1].FromTrial - 1
		}
		if last < st.FromTrial {
			continue
		}
		fmt.Fprintf(w, "trials %d–%d: %s (executable sha256 %.12s)\n", st.FromTrial, last, st.Head, st.Exe)
	}
}
