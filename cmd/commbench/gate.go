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
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

func init() {
	register(command{name: "gate", summary: "compare a run with a baseline: exit 1 when p99, drops, loss or rate regressed", run: cmdGate})
}

// baselineHint tells how to make the baseline the gate compares with.
const baselineHint = "make one with ./bench.sh baseline (a fresh run of the ci profile, copied to reports/baseline.json) and commit it"

// cmdGate is commbench gate --baseline FILE [flags] RUN_DIR.
func cmdGate(args []string) error {
	f, runArg, err := parseGateFlags(args)
	if err != nil {
		return err
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
	p99Tol, dropTol, rateTol                  float64
	p99Floor                                  time.Duration
	noRerun                                   bool
	set                                       map[string]bool // the flags given
}

// parseGateFlags parses args; it returns the flags and the RUN_DIR.
func parseGateFlags(args []string) (gateFlags, string, error) {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	var (
		baselineFile = fs.String("baseline", "", "the baseline's results.json, e.g. reports/baseline.json (required)")
		profile      = fs.String("profile", "", "profile whose gate: thresholds apply and that a re-run runs (default: the run's own profile file)")
		p99Tol       = fs.Float64("p99-tolerance", 0, "relative p99 increase allowed, 0.25 = 25% (default: the profile's)")
		p99Floor     = fs.Duration("p99-floor", 0, "p99 increase always allowed, e.g. 2ms (default: the profile's)")
		dropTol      = fs.Float64("drop-tolerance", 0, "increase of the dropped fraction allowed, 0.01 = 1 point (default: the profile's)")
		rateTol      = fs.Float64("rate-tolerance", gate.DefaultRateTolerance, "relative fall of the achieved rate allowed")
		noRerun      = fs.Bool("no-rerun", false, "fail on one measurement: do not run failing patterns again")
		kind         = fs.String("broker", "", "Kafka for the re-run: auto, local, embedded or external (default: the run's)")
		brokers      = fs.String("brokers", "", "external Kafka host:port[,...] for the re-run (default $KAFKA_BROKERS, else the run's)")
		dir          = fs.String("profiles", "profiles", "folder of named profiles")
	)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: commbench gate --baseline FILE [flags] RUN_DIR")
		fmt.Fprintln(fs.Output(), "\nCompares RUN_DIR/results.json with the baseline per pattern; a failing metric is measured")
		fmt.Fprintln(fs.Output(), "again before it counts. Exit 0 pass, 1 regression, 2 usage or input error, 3 inconclusive (a compared pattern was machine- or generator-bound).")
		fmt.Fprintln(fs.Output())
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return gateFlags{}, "", err
	}
	if len(pos) != 1 {
		return gateFlags{}, "", usageErr(fmt.Errorf("gate: want one RUN_DIR, got %d arguments", len(pos)), "e.g. commbench gate --baseline reports/baseline.json reports/latest")
	}
	if *baselineFile == "" {
		return gateFlags{}, "", usageErr(errors.New("gate: --baseline is required"), "e.g. commbench gate --baseline reports/baseline.json "+pos[0]+"; no baseline yet? "+baselineHint)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, f := range []struct {
		name string
		v    float64
	}{{"p99-tolerance", *p99Tol}, {"drop-tolerance", *dropTol}, {"rate-tolerance", *rateTol}} {
		if f.v < 0 || f.v > 100 {
			return gateFlags{}, "", usageErr(fmt.Errorf("gate: --%s %g: want a fraction >= 0, e.g. 0.25 for 25%%", f.name, f.v), "")
		}
	}
	if *p99Floor < 0 {
		return gateFlags{}, "", usageErr(fmt.Errorf("gate: --p99-floor %s: want >= 0", *p99Floor), "")
	}
	return gateFlags{
		baselineFile: *baselineFile, profile: *profile, kind: *kind, brokers: *brokers, dir: *dir,
		p99Tol: *p99Tol, dropTol: *dropTol, rateTol: *rateTol, p99Floor: *p99Floor,
		noRerun: *noRerun, set: set,
	}, pos[0], nil
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
