package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/gate/pairrun"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

func init() {
	register(command{name: "gate", summary: "the regression gate: this build against a base commit side by side (or a run against a baseline); exit 1 on a regression", run: cmdGate})
}

// baselineHint tells how to make the baseline the gate compares with.
const baselineHint = "make one with ./bench.sh baseline (a fresh run of the ci profile, copied to reports/baseline.json) and commit it"

// cmdGate is commbench gate: --against REF (or --base-exe FILE, or
// --self-test) runs the base and the head side by side (gate/pairrun);
// --baseline FILE RUN_DIR compares a run with a committed baseline; no
// mode at all picks one (gateDefault).
func cmdGate(args []string) error {
	f, runArg, err := parseGateFlags(args)
	if err != nil {
		return err
	}
	if f.auto {
		if runArg, err = gateDefault(&f); err != nil {
			return err
		}
	}
	if f.paired() {
		return cmdGatePair(f)
	}
	baseline, err := results.Read(f.baselineFile)
	if err != nil {
		return gateResultsErr("baseline", f.baselineFile, err, baselineHint)
	}
	current, err := results.Read(runArg)
	if err != nil {
		return gateResultsErr("run", runArg, err, "RUN_DIR is a run folder with results.json, e.g. reports/latest; make one with ./bench.sh ci")
	}
	runDir := gateRunFolder(runArg)

	p, file, yaml, err := gateProfile(f.dir, f.profile, current)
	if err != nil {
		return err
	}
	o := gate.Options{Thresholds: f.thresholds(p.Gate)}
	if !f.noRerun {
		env, err := readEnv()
		if err != nil {
			return usageErr(err, envHint)
		}
		bo, err := gateBroker(f.kind, f.brokers, current.Run.Broker, env)
		if err != nil {
			return err
		}
		o.Rerun = gateRerun(p, file, yaml, bo, runDir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, checkErr := gate.Check(ctx, baseline, current, o)

	if err := r.WriteText(os.Stdout); err != nil {
		return err
	}
	if err := gate.WriteFiles(runDir, r, baseline, current); err != nil {
		return err
	}
	fmt.Printf("\nwritten: %s, %s, %s (benchstat %s %s)\n",
		filepath.Join(runDir, gate.TextFile), gate.BenchmarkFile, gate.BenchstatFile, gate.BenchstatBaselineFile, gate.BenchstatFile)
	return gateOutcome(ctx, r, checkErr, f.baselineFile, runDir)
}

// gateFlags are commbench gate's flags, parsed and checked.
type gateFlags struct {
	baselineFile, profile, kind, brokers, dir string
	p99Tol, dropTol, rateTol, alpha           float64
	p99Floor, block                           time.Duration
	noRerun                                   bool
	// The side-by-side gate's.
	against, baseExe, repo, out, patterns string
	resume                                string // --self-test's folder to go on with
	repeats, trials                       int
	selfTest                              bool
	headSet                               []string
	set                                   map[string]bool // the flags given
	auto                                  bool            // no mode given: gateDefault picks it
}

// paired reports whether the flags ask for the side-by-side gate.
func (f gateFlags) paired() bool { return f.against != "" || f.baseExe != "" || f.selfTest }

// multiFlag is a flag that may be given many times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const gateUsage = `usage: commbench gate --against REF [flags]          side by side (what CI runs)
       commbench gate --self-test [flags]              the gate's own error rates
       commbench gate --baseline FILE [flags] RUN_DIR  against a committed baseline
       commbench gate [flags]                          with reports/baseline.json, a fresh ci run
                                                       against it; else side by side against the
                                                       merge base with the default branch

Side by side: builds REF (a commit, e.g. main or $(git merge-base HEAD origin/main)) in a
temporary git worktree, starts one Kafka broker, warms it with one run of this build
through the Kafka patterns (15 s each, compared with nothing), runs the profile (default
ci) with the base build and this build interleaved, --repeats times each (base head …),
and compares per pattern: API p99, time-to-notify p99, dropped and dead-lettered
fractions, lost, drained, achieved rate. A metric regresses when the head is worse than
the base by more than the effect floor, max(p99-tolerance × base, p99-floor) (default
max(10%, 2ms); drop-tolerance 0.5 point for the fractions), AND a Mann–Whitney U test over
the runs' --block p99s (5 s windows) gives p < alpha (default 0.05); a p99 must also be
worse beyond the floor in every interleaved pair of runs. Lost must stay 0 for async and
hybrid. Defaults come from the profile's gate: section; flags override them. docs/gate.md
says why.

Against a baseline: compares RUN_DIR/results.json with the baseline per pattern (no test:
one run each); a failing metric is measured again before it counts.

Exit 0 pass, 1 regression, 2 usage or input error, 3 inconclusive (a build or a run failed,
a compared pattern was machine- or generator-bound, or too few samples for the test).
`

// parseGateFlags parses args; it returns the flags and, with --baseline,
// the RUN_DIR.
func parseGateFlags(args []string) (gateFlags, string, error) {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	var f gateFlags
	var headSet multiFlag
	fs.StringVar(&f.baselineFile, "baseline", "", "the baseline's results.json, e.g. reports/baseline.json")
	fs.StringVar(&f.against, "against", "", "side by side: the base commit to build and run, e.g. main")
	fs.StringVar(&f.baseExe, "base-exe", "", "side by side: a commbench binary already built for the base, instead of --against")
	fs.BoolVar(&f.selfTest, "self-test", false, "run the gate against itself and against an injected regression; print its error rates")
	fs.IntVar(&f.trials, "trials", 3, "with --self-test: trials of each kind")
	fs.StringVar(&f.resume, "resume", "", "with --self-test: an earlier self-test's folder; its finished trials count, and it goes on up to --trials")
	fs.IntVar(&f.repeats, "repeats", 2, "side by side: runs of each build, interleaved")
	fs.StringVar(&f.repo, "repo", ".", "side by side: the git repository REF is in")
	fs.StringVar(&f.out, "out", "reports/gate", "side by side: folder for the gate's folder (runs, logs, gate.txt)")
	fs.StringVar(&f.patterns, "patterns", "", "side by side: patterns to run, comma-separated (default: the profile's)")
	fs.Var(&headSet, "head-set", "side by side: PATH=VALUE changes the head's profile only, e.g. services.reaction.write_cost=10ms (repeatable; --self-test's injected regression)")
	fs.StringVar(&f.profile, "profile", "", "profile whose gate: thresholds apply and that runs (default: ci side by side; the run's own with --baseline)")
	fs.Float64Var(&f.p99Tol, "p99-tolerance", 0, "relative p99 increase allowed, 0.1 = 10% (default: the profile's, 0.1)")
	fs.DurationVar(&f.p99Floor, "p99-floor", 0, "p99 increase always allowed (default: the profile's, 2ms)")
	fs.Float64Var(&f.dropTol, "drop-tolerance", 0, "increase of the dropped or dead-lettered fraction allowed, 0.005 = half a point (default: the profile's, 0.005)")
	fs.Float64Var(&f.rateTol, "rate-tolerance", gate.DefaultRateTolerance, "relative fall of the achieved rate allowed")
	fs.Float64Var(&f.alpha, "alpha", 0, "side by side: significance level (default: the profile's, 0.05)")
	fs.DurationVar(&f.block, "block", gate.DefaultBlock, "side by side: window of the block p99s the test compares")
	fs.BoolVar(&f.noRerun, "no-rerun", false, "with --baseline: fail on one measurement, do not run failing patterns again")
	fs.StringVar(&f.kind, "broker", "", "Kafka: auto, local, embedded or external (default: auto side by side; the run's with --baseline)")
	fs.StringVar(&f.brokers, "brokers", "", "external Kafka host:port[,...] (default $KAFKA_BROKERS)")
	fs.StringVar(&f.dir, "profiles", "profiles", "folder of named profiles")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), gateUsage)
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return gateFlags{}, "", err
	}
	f.headSet = headSet
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if err := f.check(); err != nil {
		return gateFlags{}, "", err
	}
	if f.paired() {
		if len(pos) > 0 {
			return gateFlags{}, "", usageErr(fmt.Errorf("gate: unexpected argument %q side by side", pos[0]), "RUN_DIR goes with --baseline only")
		}
		return f, "", nil
	}
	if len(pos) == 0 && f.baselineFile == "" {
		f.auto = true
		return f, "", nil
	}
	if len(pos) != 1 {
		return gateFlags{}, "", usageErr(fmt.Errorf("gate: want one RUN_DIR, got %d arguments", len(pos)), "e.g. commbench gate --baseline reports/baseline.json reports/latest; or side by side: commbench gate --against main")
	}
	if f.baselineFile == "" {
		return gateFlags{}, "", usageErr(errors.New("gate: --baseline is required"), "e.g. commbench gate --baseline reports/baseline.json "+pos[0]+"; no baseline yet? "+baselineHint+"; or side by side: commbench gate --against main")
	}
	return f, pos[0], nil
}

// check checks the flags' values and their combinations.
func (f gateFlags) check() error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"p99-tolerance", f.p99Tol}, {"drop-tolerance", f.dropTol}, {"rate-tolerance", f.rateTol}} {
		if v.v < 0 || v.v > 100 {
			return usageErr(fmt.Errorf("gate: --%s %g: want a fraction >= 0, e.g. 0.1 for 10%%", v.name, v.v), "")
		}
	}
	switch {
	case f.p99Floor < 0:
		return usageErr(fmt.Errorf("gate: --p99-floor %s: want >= 0", f.p99Floor), "")
	case f.set["alpha"] && !(f.alpha > 0 && f.alpha < 1):
		return usageErr(fmt.Errorf("gate: --alpha %g: want a level in (0, 1), e.g. 0.05", f.alpha), "")
	case f.block < time.Second || f.block%time.Second != 0:
		return usageErr(fmt.Errorf("gate: --block %s: want whole seconds, at least 1s", f.block), "e.g. --block 5s")
	case f.repeats < 1 || f.repeats > 50:
		return usageErr(fmt.Errorf("gate: --repeats %d: want 1 to 50", f.repeats), "2 (the default) fits CI's 15 minutes with the ci profile")
	case f.trials < 1 || f.trials > 100:
		return usageErr(fmt.Errorf("gate: --trials %d: want 1 to 100", f.trials), "")
	case f.baselineFile != "" && f.paired():
		return usageErr(errors.New("gate: --baseline and --against, --base-exe or --self-test exclude each other"), "choose one: side by side (--against REF) or against a committed baseline")
	case f.against != "" && f.baseExe != "":
		return usageErr(errors.New("gate: --against and --base-exe exclude each other"), "--against builds the base, --base-exe names one already built")
	case f.resume != "" && !f.selfTest:
		return usageErr(errors.New("gate: --resume goes with --self-test"), "e.g. commbench gate --self-test --trials 10 --resume reports/gate/20261130-083946")
	case f.selfTest && (f.against != "" || f.baseExe != ""):
		return usageErr(errors.New("gate: --self-test runs this build against itself: no --against or --base-exe"), "")
	}
	return nil
}

// thresholds are the profile's gate thresholds with the flags given over
// them.
func (f gateFlags) thresholds(pg profiles.Gate) gate.Thresholds {
	th := gate.FromProfile(pg)
	if f.set["p99-tolerance"] {
		th.P99Tolerance = f.p99Tol
	}
	if f.set["p99-floor"] {
		th.P99Floor = f.p99Floor
	}
	if f.set["drop-tolerance"] {
		th.DropTolerance = f.dropTol
	}
	th.RateTolerance = f.rateTol
	return th
}

// gateRerun runs the given patterns of profile p again, inside the run's
// folder runDir.
func gateRerun(p *profiles.Profile, file string, yaml []byte, bo broker.Options, runDir string) func(context.Context, []pattern.Pattern) (*results.Results, string, error) {
	return func(ctx context.Context, patterns []pattern.Pattern) (*results.Results, string, error) {
		ro, err := gateRunOptions(p, file, yaml, bo)
		if err != nil {
			return nil, "", err
		}
		ro.Patterns = patterns
		// The re-run goes inside the run's folder, so that
		// reports/latest keeps pointing at the run the gate judged and
		// an uploaded run folder carries both measurements.
		ro.OutRoot = filepath.Join(runDir, "rerun", "runs")
		fmt.Fprintf(os.Stderr, "commbench: gate: over the limit once; measuring %s again before failing\n", gatePatterns(patterns))
		return harness.Run(ctx, ro)
	}
}

// gateOutcome is the command's error, and so its exit code, from the
// check's error and its failures.
func gateOutcome(ctx context.Context, r gate.Report, checkErr error, baselineFile, runDir string) error {
	switch {
	case errors.Is(checkErr, gate.ErrMissingPattern):
		return usageErr(fmt.Errorf("gate: %s: %w", baselineFile, checkErr), "run the baseline's patterns, or "+baselineHint)
	case errors.Is(checkErr, harness.ErrInterrupted) || ctx.Err() != nil:
		return &exitError{Code: exitSignaled, Err: errors.New("gate: interrupted during the re-run")}
	case checkErr != nil:
		return checkErr
	}
	if f := r.Failures(); len(f) > 0 {
		var names []string
		for _, row := range f {
			names = append(names, row.Pattern+" "+string(row.Metric))
		}
		return &exitError{Code: exitFailure, Err: fmt.Errorf("gate: regression: %s", strings.Join(names, ", ")),
			Hint: "see " + filepath.Join(runDir, gate.TextFile) + "; if the change is intended, make a new baseline with ./bench.sh baseline and commit it"}
	}
	if r.Inconclusive() {
		var why []string
		for _, key := range slices.Sorted(maps.Keys(r.Invalid)) {
			why = append(why, key+" "+r.Invalid[key])
		}
		return &exitError{Code: exitInconclusive, Err: fmt.Errorf("gate: inconclusive: %s", strings.Join(why, "; ")),
			Hint: "the machine, not the change, set these numbers: run the gate on a quieter machine, or lower the ci profile's rate"}
	}
	return nil
}

// gateResultsErr turns a failure to read a results.json into an input error
// (exit 2) naming the file and what to do.
func gateResultsErr(what, path string, err error, hint string) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = fmt.Errorf("gate: %s %s: no such file", what, path)
	case errors.Is(err, results.ErrSchema):
		err = fmt.Errorf("gate: %s: %w", what, err)
		hint = "it was written by another commbench version; " + hint
	default:
		err = fmt.Errorf("gate: %s: %w", what, err)
		hint = "it is not a commbench results.json; " + hint
	}
	return usageErr(err, hint)
}

// gateRunFolder is the real folder of a run given as a folder, a symlink to
// one (reports/latest) or its results.json.
func gateRunFolder(path string) string {
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		path = filepath.Dir(path)
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}

// gateProfile loads the profile named by --profile, else the run's own
// profile file, else the profile as the run recorded it.
func gateProfile(dir, name string, run *results.Results) (p *profiles.Profile, file string, yaml []byte, err error) {
	if name != "" {
		if file, err = profiles.Resolve(dir, name); err != nil {
			return nil, "", nil, usageErr(fmt.Errorf("gate: --profile: %w", err), "")
		}
		if p, err = profiles.Load(file); err != nil {
			return nil, "", nil, usageErr(fmt.Errorf("gate: %w", err), "fix the profile and run again")
		}
		yaml, _ = os.ReadFile(file)
		return p, file, yaml, nil
	}
	file = run.Run.ProfileFile
	if file != "" && isProfileFile(file) {
		if yaml, err = os.ReadFile(file); err == nil {
			if p, err = profiles.Parse(file, yaml); err != nil {
				return nil, "", nil, usageErr(fmt.Errorf("gate: the run's profile: %w", err), "fix it, or name another with --profile")
			}
			return p, file, yaml, nil
		}
	}
	if run.Run.ProfileYAML != "" {
		yaml = []byte(run.Run.ProfileYAML)
		if p, err = profiles.Parse(gateOr(file, run.Run.Profile+".yaml"), yaml); err == nil {
			return p, file, yaml, nil
		}
	}
	return nil, "", nil, usageErr(fmt.Errorf("gate: the run's profile %q cannot be read", file), "name one with --profile, e.g. --profile ci")
}

// maxProfileBytes bounds the profile file a results.json names: profiles
// are a few KiB.
const maxProfileBytes = 1 << 20

// isProfileFile reports whether path, named by a results.json that may
// come from another machine, is a regular file small enough to be a
// profile: "profile_file": "/dev/zero" read forever.
func isProfileFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Size() <= maxProfileBytes
}

// gateBroker returns the Kafka a re-run uses: the flags', else the kind
// the run used, so that both measurements are on equal terms. The
// addresses are --brokers, else KAFKA_BROKERS, else (for an external
// broker) the run's.
func gateBroker(kind, brokers string, ran results.BrokerInfo, env environ) (broker.Options, error) {
	if kind == "" {
		kind = string(broker.Auto)
		if _, err := broker.ParseKind(ran.Kind); err == nil {
			kind = ran.Kind
		}
	}
	k, err := broker.ParseKind(kind)
	if err != nil {
		return broker.Options{}, usageErr(fmt.Errorf("gate: --broker: %w", err), "")
	}
	o := env.BrokerOptions(k, brokers)
	if len(o.Brokers) == 0 && k == broker.External {
		o.Brokers = ran.Addrs
	}
	return o, nil
}

// gateRunOptions builds the options of a benchmark run the way commbench run
// does, without its flags: the services run from this binary, progress on
// stderr.
func gateRunOptions(p *profiles.Profile, file string, yaml []byte, b broker.Options) (harness.RunOptions, error) {
	exe, err := os.Executable()
	if err != nil {
		return harness.RunOptions{}, err
	}
	b.Exe = exe
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "commbench: "+format+"\n", args...)
	}
	return harness.RunOptions{
		Profile:     p,
		ProfileFile: file,
		ProfileYAML: yaml,
		Repeat:      1,
		Exe:         exe,
		Broker:      b,
		Progress:    os.Stderr,
		Terminal:    isTerminal(os.Stderr),
		Logf:        logf,
		Version:     version,
	}, nil
}

func gatePatterns(ps []pattern.Pattern) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

func gateOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

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
