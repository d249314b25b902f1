package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/gate/pairrun"
	"github.com/commbench/commbench/profiles"
)

// cmdGatePair is the side-by-side gate: its flags as a pairrun.Config,
// pairrun's outcome as the exit code.
func cmdGatePair(f gateFlags) error {
	env, err := readEnv()
	if err != nil {
		return usageErr(err, envHint)
	}
	k, err := broker.ParseKind(gateOr(f.kind, string(broker.Auto)))
	if err != nil {
		return usageErr(fmt.Errorf("gate: --broker: %w", err), "")
	}
	headExe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return gateExit(pairrun.Run(ctx, pairrun.Config{
		Against: f.against, BaseExe: f.baseExe, HeadExe: headExe, Version: version,
		Repo: f.repo, Profiles: f.dir, Profile: f.profile, Patterns: f.patterns, HeadSet: f.headSet,
		Repeats: f.repeats, Out: f.out, SelfTest: f.selfTest, Trials: f.trials, Resume: f.resume,
		Broker: env.BrokerOptions(k, f.brokers),
		Options: func(pg profiles.Gate) gate.PairOptions {
			return gate.PairOptions{Thresholds: f.thresholds(pg), Alpha: f.alphaOr(pg.Alpha), Block: f.block}
		},
		StepSummary: env.StepSummary, Stdout: os.Stdout, Log: os.Stderr,
	}))
}

// gateExit gives an error of pairrun its exit code.
func gateExit(err error) error {
	var e *pairrun.Error
	if !errors.As(err, &e) {
		return err
	}
	code, ok := map[pairrun.Kind]int{pairrun.Usage: exitUsage, pairrun.Regression: exitFailure,
		pairrun.Inconclusive: exitInconclusive, pairrun.Interrupted: exitSignaled}[e.Kind]
	if !ok {
		code = exitFailure
	}
	return &exitError{Code: code, Err: e.Err, Hint: e.Hint}
}

// alphaOr is --alpha if given, else the profile's.
func (f gateFlags) alphaOr(profile float64) float64 {
	if f.set["alpha"] {
		return f.alpha
	}
	return profile
}

// defaultBaseline is the committed baseline the gate compares a fresh ci
// run with when no mode is given.
const defaultBaseline = "reports/baseline.json"

// gateDefault picks the gate's mode when the flags name none (no
// --against, --base-exe, --self-test, --baseline or RUN_DIR): with a
// committed reports/baseline.json, a fresh run of the ci profile against
// it (it returns the run's folder); otherwise this tree side by side
// against the merge base with the default branch (it sets f.against).
func gateDefault(f *gateFlags) (runDir string, err error) {
	if fi, err := os.Stat(defaultBaseline); err == nil && fi.Mode().IsRegular() {
		if err := cmdRun([]string{"--profile", "ci"}); err != nil {
			code := exitFailure
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.Code
			}
			return "", &exitError{Code: exitInconclusive, Err: fmt.Errorf("gate: inconclusive: the ci run failed (exit %d): nothing to gate: %w", code, err)}
		}
		f.baselineFile = defaultBaseline
		return "reports/latest", nil
	}
	base, err := pairrun.MergeBase(context.Background(), f.repo)
	if err != nil {
		return "", usageErr(fmt.Errorf("gate: %w", err), "pass --against REF; in CI check out with fetch-depth: 0")
	}
	fmt.Fprintf(os.Stderr, "commbench: gate: this tree against %s, the merge base with the default branch\n", base)
	f.against = base
	return "", nil
}
