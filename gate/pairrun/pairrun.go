// Package pairrun runs the side-by-side regression gate: it builds the
// base commit in a temporary git worktree (or takes a base binary), starts
// one Kafka broker for both builds, warms it up, runs the base and the head
// interleaved as child processes, compares their runs (gate.ComparePair)
// and writes the report; Run with SelfTest measures the gate's own error
// rates (self-test, tally). It parses no flags: 'commbench gate' gives it
// a Config and turns its Error's Kind into an exit code.
package pairrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/profiles"
)

// Config is what a side-by-side gate runs: commbench gate's flags, checked.
type Config struct {
	// The base: a commit of Repo to build (Against), or a binary already
	// built (BaseExe). Neither with SelfTest: this build runs both sides.
	Against, BaseExe string
	// HeadExe is this build, Version its version ("dev" when not stamped).
	HeadExe, Version string
	// Repo is the git repository Against is in (and the head's commit).
	Repo string
	// Profiles is the folder of named profiles; Profile the one to run
	// ("" is ci).
	Profiles, Profile string
	// Patterns to run, comma-separated; "" is the profile's.
	Patterns string
	// HeadSet are PATH=VALUE changes of the head's profile only (the
	// self-test's injected regression; "" there is DefaultInjection).
	HeadSet []string
	// Repeats is the runs of each build, interleaved.
	Repeats int
	// Out is the folder the gate's own folder is made in.
	Out string
	// SelfTest runs Trials trials of each kind; Resume goes on in an
	// earlier self-test's folder.
	SelfTest bool
	Trials   int
	Resume   string
	// Broker is the Kafka both builds use (its Exe and Log are set here).
	Broker broker.Options
	// Options are the comparison's thresholds, given the profile's gate:
	// section (the flags over the profile's); nil takes the profile's.
	Options func(profiles.Gate) gate.PairOptions
	// StepSummary, when set, is a file the Markdown table is appended to
	// ($GITHUB_STEP_SUMMARY).
	StepSummary string
	// Stdout gets the report, Log the progress lines.
	Stdout, Log io.Writer
}

// Kind is what an Error says about the gate's outcome.
type Kind int

// The kinds of Error.
const (
	Usage        Kind = iota + 1 // bad flags or input: nothing was compared
	Regression                   // the head regressed
	Inconclusive                 // a build or a run failed, a pattern was bound, too few samples
	Interrupted                  // stopped by a signal
)

// Error is a gate that did not pass: its kind, why, and a hint for the
// user.
type Error struct {
	Kind Kind
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func usageErr(err error, hint string) error { return &Error{Kind: Usage, Err: err, Hint: hint} }

// maxRunTime bounds one benchmark run of the side-by-side gate (the ci
// profile takes about 2.5 minutes on 2 cores).
const maxRunTime = 20 * time.Minute

// plan is what the side-by-side gate runs.
type plan struct {
	baseExe, headExe   string
	baseName, headName string
	baseProfile        string // the profile file the base runs
	headProfile        string // the one the head runs: the same, or with HeadSet
	patterns           string
	repeats            int
	addrs              []string  // the one Kafka both builds use
	out                string    // this gate's folder
	labels             [2]string // run folders are <label>-<i>; default base, head
	profileFile        string    // the profile as named by Profile
	notes              []string  // for the report
	logf               func(format string, args ...any)
}

// Run runs the side-by-side gate (or, with SelfTest, the self-test) and
// writes its report. It returns nil when the head passed, else an error,
// an *Error where it knows the outcome's kind.
func Run(ctx context.Context, c Config) error {
	if c.Stdout == nil {
		c.Stdout = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Options == nil {
		c.Options = func(pg profiles.Gate) gate.PairOptions {
			return gate.PairOptions{Thresholds: gate.FromProfile(pg), Alpha: pg.Alpha, Block: gate.DefaultBlock}
		}
	}
	if c.SelfTest && len(c.HeadSet) == 0 {
		c.HeadSet = []string{DefaultInjection}
	}
	p, pl, err := newPlan(c)
	if err != nil {
		return err
	}
	opts := c.Options(p.Gate)
	if c.SelfTest {
		return selfTest(ctx, c, pl, opts, p)
	}
	start := time.Now()
	var sha string
	switch {
	case c.BaseExe != "":
		pl.baseExe, pl.baseName = c.BaseExe, "base "+c.BaseExe
	default:
		tmp, err := os.MkdirTemp("", "commbench-gate-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		pl.baseExe = filepath.Join(tmp, "commbench-base")
		if sha, err = buildRef(ctx, c.Repo, c.Against, pl.baseExe, pl.logf); err != nil {
			return err
		}
		pl.baseName = fmt.Sprintf("base %s (%s)", c.Against, sha[:min(12, len(sha))])
		pl.logf("built the base %s (%s) in %s", c.Against, sha, time.Since(start).Round(time.Second))
	}
	note, err := checkBaseProfile(ctx, &pl, c.Repo, sha, pl.profileFile)
	if err != nil {
		return err
	}
	if note != "" {
		pl.logf("%s", note)
		pl.notes = append(pl.notes, note)
	}
	stopBroker, err := startKafka(ctx, c, &pl)
	if err != nil {
		return err
	}
	defer stopBroker()
	if note := warmUp(ctx, pl, p); note != "" {
		pl.notes = append(pl.notes, note)
	}
	base, head := runInterleaved(ctx, pl, 0, pl.repeats)
	if ctx.Err() != nil {
		return &Error{Kind: Interrupted, Err: fmt.Errorf("gate: interrupted; the runs so far are in %s", pl.out)}
	}
	r := gate.ComparePair(base, head, opts)
	r.Notes = append(r.Notes, pl.notes...)
	if err := writeReport(c, r, base, head, pl.out); err != nil {
		return err
	}
	pl.logf("gate took %s", time.Since(start).Round(time.Second))
	return outcome(r, pl.out)
}

// newPlan reads the profile and writes the two profile files into a new
// gate folder (or checks them in the self-test's Resume folder).
func newPlan(c Config) (*profiles.Profile, plan, error) {
	name := or(c.Profile, "ci")
	file, err := profiles.Resolve(c.Profiles, name)
	if err != nil {
		return nil, plan{}, usageErr(fmt.Errorf("gate: --profile: %w", err), "")
	}
	p, err := profiles.Load(file)
	if err != nil {
		return nil, plan{}, usageErr(fmt.Errorf("gate: %w", err), "fix the profile and run again; nothing was started")
	}
	yaml, err := os.ReadFile(file)
	if err != nil {
		return nil, plan{}, usageErr(fmt.Errorf("gate: %w", err), "")
	}
	headYAML, err := setProfile(yaml, c.HeadSet)
	if err != nil {
		return nil, plan{}, usageErr(fmt.Errorf("gate: --head-set: %w", err), "PATH=VALUE with a dotted path of the profile, e.g. services.reaction.write_cost=10ms")
	}
	out, err := gateFolder(c)
	if err != nil {
		return nil, plan{}, err
	}
	logf := func(format string, args ...any) { fmt.Fprintf(c.Log, "commbench: gate: "+format+"\n", args...) }
	pl := plan{headExe: c.HeadExe, headName: headName(c.Repo, c.Version), patterns: c.Patterns, repeats: c.Repeats, out: out,
		baseProfile: filepath.Join(out, "profile-base.yaml"), headProfile: filepath.Join(out, "profile-head.yaml"), logf: logf}
	if len(c.HeadSet) > 0 {
		pl.headName += " with " + strings.Join(c.HeadSet, ", ")
	}
	for _, w := range []struct {
		file string
		data []byte
	}{{pl.baseProfile, yaml}, {pl.headProfile, headYAML}} {
		data, err := dropProfileKey(w.data, "gate")
		if err != nil {
			return nil, plan{}, usageErr(fmt.Errorf("gate: %s: %w", file, err), "")
		}
		if c.Resume != "" {
			if err := sameFile(w.file, data); err != nil {
				return nil, plan{}, err
			}
			continue
		}
		if err := os.WriteFile(w.file, data, 0o644); err != nil {
			return nil, plan{}, err
		}
	}
	pl.profileFile = file
	if _, err := profiles.Load(pl.headProfile); err != nil {
		return nil, plan{}, usageErr(fmt.Errorf("gate: --head-set makes the head's profile invalid: %w", err), "")
	}
	if err := p.OnlyPatterns(c.Patterns); err != nil {
		return nil, plan{}, usageErr(fmt.Errorf("run: --patterns: %w", err), "comma-separated, e.g. --patterns sync,async")
	}
	return p, pl, nil
}

// startKafka starts the one broker both builds use (or takes an external
// one) and sets pl.addrs. The returned func stops what it started.
func startKafka(ctx context.Context, c Config, pl *plan) (func(), error) {
	o := c.Broker
	o.Exe, o.Log = c.HeadExe, c.Log
	b, err := broker.Up(ctx, o)
	if err != nil {
		return nil, &Error{Kind: Inconclusive, Err: fmt.Errorf("gate: inconclusive: Kafka could not start: %w", err),
			Hint: "run 'commbench broker up' to see why, or give an external one with --brokers / KAFKA_BROKERS"}
	}
	pl.logf("Kafka for both builds: %s", b)
	pl.addrs = b.Addrs
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Stop(sctx); err != nil {
			pl.logf("stopping Kafka: %v", err)
		}
	}, nil
}

// writeReport prints the report, writes its files into out and, with a
// StepSummary (GitHub Actions), appends the Markdown table to it.
func writeReport(c Config, r gate.Report, base, head gate.Side, out string) error {
	if err := r.WriteText(c.Stdout); err != nil {
		return err
	}
	if err := gate.WritePairFiles(out, r, base, head); err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "\nwritten: %s (%s, %s, %s; benchstat %s %s), runs in %s\n", filepath.Join(out, gate.TextFile),
		gate.MarkdownFile, gate.BenchmarkFile, "run folders", gate.BenchstatBaselineFile, gate.BenchstatFile, out)
	if c.StepSummary == "" {
		return nil
	}
	f, err := os.OpenFile(c.StepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("gate: GITHUB_STEP_SUMMARY: %w", err)
	}
	defer f.Close()
	return r.WriteMarkdown(f)
}

// outcome is the side-by-side gate's error: nil when it passed.
func outcome(r gate.Report, out string) error {
	see := "see " + filepath.Join(out, gate.TextFile)
	switch r.Outcome() {
	case "FAIL":
		var names []string
		for _, row := range r.Failures() {
			names = append(names, row.Pattern+" "+string(row.Metric))
		}
		return &Error{Kind: Regression, Err: fmt.Errorf("gate: regression: %s", strings.Join(names, ", ")),
			Hint: see + "; the run folders (" + out + ") hold the reports of both builds"}
	case "INCONCLUSIVE":
		return &Error{Kind: Inconclusive, Err: fmt.Errorf("gate: inconclusive: %s", r.Reasons()),
			Hint: see + "; a failed run's log is in its folder; machine- or generator-bound: run on a quieter machine; too few samples: more --repeats"}
	}
	return nil
}

var errNoRef = errors.New("no such commit")

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
