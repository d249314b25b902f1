package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/commbench/commbench/gate"
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
// one rate).
func gateSelfTest(ctx context.Context, f gateFlags, env environ, plan pairPlan, opts gate.PairOptions) error {
	if len(f.headSet) == 0 {
		f.headSet = []string{defaultInjection}
		if err := injectInto(plan.headProfile, plan.baseProfile, f.headSet); err != nil {
			return err
		}
		plan.headName += " with " + defaultInjection
	}
	injected := plan.headName
	plan.baseExe, plan.baseName = plan.headExe, "base "+version
	stopBroker, err := gateKafka(ctx, f, env, plan.headExe, &plan)
	if err != nil {
		return err
	}
	defer stopBroker()
	start := time.Now()
	var t selfTestTally
	for k := 1; k <= f.trials && ctx.Err() == nil; k++ {
		same := plan
		same.headProfile, same.headName = plan.baseProfile, "head "+version+" (the same build)"
		same.labels = [2]string{"a", "a2"}
		inj := plan
		inj.baseExe, inj.labels = "", [2]string{"", "b"}
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
		return &exitError{Code: exitSignaled, Err: fmt.Errorf("gate: self-test interrupted; the runs so far are in %s", plan.out)}
	}
	var b strings.Builder
	t.write(&b, f, plan, injected, opts, time.Since(start))
	fmt.Print(b.String())
	return os.WriteFile(filepath.Join(plan.out, "selftest.txt"), []byte(b.String()), 0o644)
}

func joinSide(a, b gate.Side) gate.Side {
	if a.Name == "" {
		a.Name = b.Name
	}
	a.Runs = append(a.Runs, b.Runs...)
	a.Errors = append(a.Errors, b.Errors...)
	return a
}

// injectInto writes base's profile with sets applied as the head's.
func injectInto(head, base string, sets []string) error {
	data, err := os.ReadFile(base)
	if err != nil {
		return err
	}
	out, err := setProfile(data, sets)
	if err != nil {
		return err
	}
	return os.WriteFile(head, out, 0o644)
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
	for _, name := range t.flaggedKey {
		rate("  "+name+" flagged", t.flagged[name], len(t.det))
	}
	fmt.Fprintf(w, "took %s; runs in %s\n", took.Round(time.Second), plan.out)
}
