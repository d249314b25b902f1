package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/internal/proc"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// maxRunTime bounds one benchmark run of the side-by-side gate (the ci
// profile takes about 2.5 minutes on 2 cores).
const maxRunTime = 20 * time.Minute

// pairPlan is what the side-by-side gate runs.
type pairPlan struct {
	baseExe, headExe   string
	baseName, headName string
	baseProfile        string // the profile file the base runs
	headProfile        string // the one the head runs: the same, or with --head-set
	patterns           string
	repeats            int
	addrs              []string  // the one Kafka both builds use
	out                string    // this gate's folder
	labels             [2]string // run folders are <label>-<i>; default base, head
	profileFile        string    // the profile as named by --profile
	notes              []string  // for the report
}

// cmdGatePair is the side-by-side gate: build the base, start Kafka, run
// both builds interleaved, compare, write the files, exit with the verdict.
func cmdGatePair(f gateFlags) error {
	env, err := readEnv()
	if err != nil {
		return usageErr(err, envHint)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	headExe, err := os.Executable()
	if err != nil {
		return err
	}
	if f.selfTest && len(f.headSet) == 0 {
		f.headSet = []string{defaultInjection}
	}
	p, plan, err := gatePlan(f, headExe)
	if err != nil {
		return err
	}
	opts := gate.PairOptions{Thresholds: f.thresholds(p.Gate), Alpha: f.alphaOr(p.Gate.Alpha), Block: f.block}
	if f.selfTest {
		return gateSelfTest(ctx, f, env, plan, opts, p)
	}
	start := time.Now()
	var sha string
	switch {
	case f.baseExe != "":
		plan.baseExe, plan.baseName = f.baseExe, "base "+f.baseExe
	default:
		tmp, err := os.MkdirTemp("", "commbench-gate-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		plan.baseExe = filepath.Join(tmp, "commbench-base")
		if sha, err = buildRef(ctx, f.repo, f.against, plan.baseExe); err != nil {
			return err
		}
		plan.baseName = fmt.Sprintf("base %s (%s)", f.against, sha[:min(12, len(sha))])
		gateLogf("built the base %s (%s) in %s", f.against, sha, time.Since(start).Round(time.Second))
	}
	note, err := checkBaseProfile(ctx, &plan, f.repo, sha, plan.profileFile)
	if err != nil {
		return err
	}
	if note != "" {
		gateLogf("%s", note)
		plan.notes = append(plan.notes, note)
	}
	stopBroker, err := gateKafka(ctx, f, env, headExe, &plan)
	if err != nil {
		return err
	}
	defer stopBroker()
	if note := warmUp(ctx, plan, p); note != "" {
		plan.notes = append(plan.notes, note)
	}
	base, head := runInterleaved(ctx, plan, 0, plan.repeats)
	if ctx.Err() != nil {
		return &exitError{Code: exitSignaled, Err: fmt.Errorf("gate: interrupted; the runs so far are in %s", plan.out)}
	}
	r := gate.ComparePair(base, head, opts)
	r.Notes = append(r.Notes, plan.notes...)
	if err := writePairReport(r, base, head, plan.out, env); err != nil {
		return err
	}
	gateLogf("gate took %s", time.Since(start).Round(time.Second))
	return pairOutcome(r, plan.out)
}

// gatePlan reads the profile and writes the two profile files into a new
// gate folder.
func gatePlan(f gateFlags, headExe string) (*profiles.Profile, pairPlan, error) {
	name := gateOr(f.profile, "ci")
	file, err := profiles.Resolve(f.dir, name)
	if err != nil {
		return nil, pairPlan{}, usageErr(fmt.Errorf("gate: --profile: %w", err), "")
	}
	p, err := profiles.Load(file)
	if err != nil {
		return nil, pairPlan{}, usageErr(fmt.Errorf("gate: %w", err), "fix the profile and run again; nothing was started")
	}
	yaml, err := os.ReadFile(file)
	if err != nil {
		return nil, pairPlan{}, usageErr(fmt.Errorf("gate: %w", err), "")
	}
	headYAML, err := setProfile(yaml, f.headSet)
	if err != nil {
		return nil, pairPlan{}, usageErr(fmt.Errorf("gate: --head-set: %w", err), "PATH=VALUE with a dotted path of the profile, e.g. services.reaction.write_cost=10ms")
	}
	out, err := gateFolder(f)
	if err != nil {
		return nil, pairPlan{}, err
	}
	plan := pairPlan{headExe: headExe, headName: headName(f.repo), patterns: f.patterns, repeats: f.repeats, out: out,
		baseProfile: filepath.Join(out, "profile-base.yaml"), headProfile: filepath.Join(out, "profile-head.yaml")}
	if len(f.headSet) > 0 {
		plan.headName += " with " + strings.Join(f.headSet, ", ")
	}
	for _, w := range []struct {
		file string
		data []byte
	}{{plan.baseProfile, yaml}, {plan.headProfile, headYAML}} {
		data, err := dropProfileKey(w.data, "gate")
		if err != nil {
			return nil, pairPlan{}, usageErr(fmt.Errorf("gate: %s: %w", file, err), "")
		}
		if f.resume != "" {
			if err := sameFile(w.file, data); err != nil {
				return nil, pairPlan{}, err
			}
			continue
		}
		if err := os.WriteFile(w.file, data, 0o644); err != nil {
			return nil, pairPlan{}, err
		}
	}
	plan.profileFile = file
	if _, err := profiles.Load(plan.headProfile); err != nil {
		return nil, pairPlan{}, usageErr(fmt.Errorf("gate: --head-set makes the head's profile invalid: %w", err), "")
	}
	if f.patterns != "" {
		if err := overridePatterns(p, f.patterns); err != nil {
			return nil, pairPlan{}, err
		}
	}
	return p, plan, nil
}

// alphaOr is --alpha if given, else the profile's.
func (f gateFlags) alphaOr(profile float64) float64 {
	if f.set["alpha"] {
		return f.alpha
	}
	return profile
}

// gateKafka starts the one broker both builds use (or takes an external
// one) and sets plan.addrs. The returned func stops what it started.
func gateKafka(ctx context.Context, f gateFlags, env environ, exe string, plan *pairPlan) (func(), error) {
	k, err := broker.ParseKind(gateOr(f.kind, string(broker.Auto)))
	if err != nil {
		return nil, usageErr(fmt.Errorf("gate: --broker: %w", err), "")
	}
	o := env.BrokerOptions(k, f.brokers)
	o.Exe, o.Log = exe, os.Stderr
	b, err := broker.Up(ctx, o)
	if err != nil {
		return nil, &exitError{Code: exitInconclusive, Err: fmt.Errorf("gate: inconclusive: Kafka could not start: %w", err),
			Hint: "run 'commbench broker up' to see why, or give an external one with --brokers / KAFKA_BROKERS"}
	}
	gateLogf("Kafka for both builds: %s", b)
	plan.addrs = b.Addrs
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Stop(sctx); err != nil {
			gateLogf("stopping Kafka: %v", err)
		}
	}, nil
}

// runInterleaved runs base and head in turn, n times each (base head base
// head …), numbering the runs from first+1, and returns each side's runs
// and failures. It stops early when ctx ends.
func runInterleaved(ctx context.Context, plan pairPlan, first, n int) (base, head gate.Side) {
	base.Name, head.Name = plan.baseName, plan.headName
	for i := first + 1; i <= first+n && ctx.Err() == nil; i++ {
		for _, s := range []struct {
			side         *gate.Side
			name         string
			exe, profile string
		}{{&base, gateOr(plan.labels[0], "base"), plan.baseExe, plan.baseProfile}, {&head, gateOr(plan.labels[1], "head"), plan.headExe, plan.headProfile}} {
			if ctx.Err() != nil {
				break
			}
			if s.exe == "" {
				continue // the self-test runs one side alone
			}
			dir := filepath.Join(plan.out, fmt.Sprintf("%s-%d", s.name, i))
			gateLogf("run %d of %d: %s (%s)", i-first, n, s.name, dir)
			t0 := time.Now()
			run, err := runOne(ctx, s.exe, s.profile, dir, plan)
			if err != nil {
				s.side.Errors = append(s.side.Errors, fmt.Sprintf("run %d: %v", i, err))
				gateLogf("%s run %d failed after %s: %v", s.name, i, time.Since(t0).Round(time.Second), err)
				continue
			}
			s.side.Runs = append(s.side.Runs, run)
			gateLogf("%s run %d done in %s", s.name, i, time.Since(t0).Round(time.Second))
		}
	}
	return base, head
}

// runOne runs one benchmark with exe, its output in dir/run.log and its
// run folder under dir.
func runOne(ctx context.Context, exe, profile, dir string, plan pairPlan) (gate.Run, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return gate.Run{}, err
	}
	log := filepath.Join(dir, "run.log")
	args := []string{"run", "--profile", profile, "--broker", "external", "--brokers", strings.Join(plan.addrs, ","),
		"--out", filepath.Join(dir, "runs")}
	if plan.patterns != "" {
		args = append(args, "--patterns", plan.patterns)
	}
	child, err := proc.Start(exec.Command(exe, args...), proc.Options{Log: log})
	if err != nil {
		return gate.Run{}, err
	}
	timeout := time.NewTimer(maxRunTime)
	defer timeout.Stop()
	var stopped error // why the run was stopped, nil when it ended by itself
	select {
	case <-child.Done():
	case <-ctx.Done():
		stopped = ctx.Err()
	case <-timeout.C:
		stopped = fmt.Errorf("not done within %v", maxRunTime)
	}
	// Interrupted, the run stops its services and keeps its partial
	// results; it gets a minute for that before it is killed.
	if err := child.Stop(time.Minute); err != nil {
		gateLogf("stopping the run in %s: %v", dir, err)
	}
	if runErr := cmp.Or(child.Err(), stopped); runErr != nil {
		err := fmt.Errorf("%s run exited: %v; %s (log %s)", filepath.Base(exe), runErr, lastLine(log), log)
		os.WriteFile(filepath.Join(dir, exitFile), []byte(err.Error()+"\n"), 0o644)
		return gate.Run{}, err
	}
	run, err := readRun(dir)
	mark := "0"
	if err != nil {
		mark = err.Error()
	}
	// What --resume reads, for the run to count as it counted here.
	os.WriteFile(filepath.Join(dir, exitFile), []byte(mark+"\n"), 0o644)
	return run, err
}

// exitFile, in a gate run's folder, is "0" when the run counted, else why
// it failed.
const exitFile = "exit.txt"

// readRun reads the one run folder under dir/runs.
func readRun(dir string) (gate.Run, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "results.json"))
	if len(matches) != 1 {
		return gate.Run{}, fmt.Errorf("want one results.json under %s, found %d", filepath.Join(dir, "runs"), len(matches))
	}
	res, err := results.Read(matches[0])
	if err != nil {
		return gate.Run{}, fmt.Errorf("%s: %w", matches[0], err)
	}
	return gate.Run{Dir: filepath.Dir(matches[0]), Results: res}, nil
}

// lastLine is the last line of a run's log that starts with "commbench:"
// (a command's error, perhaps followed by its hint), else its last line.
func lastLine(path string) string {
	lines := proc.Tail(path, 10)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "commbench: ") {
			return lines[i]
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// writePairReport prints the report, writes its files into out and, in
// GitHub Actions, appends the Markdown table to the job summary.
func writePairReport(r gate.Report, base, head gate.Side, out string, env environ) error {
	if err := r.WriteText(os.Stdout); err != nil {
		return err
	}
	if err := gate.WritePairFiles(out, r, base, head); err != nil {
		return err
	}
	fmt.Printf("\nwritten: %s (%s, %s, %s; benchstat %s %s), runs in %s\n", filepath.Join(out, gate.TextFile),
		gate.MarkdownFile, gate.BenchmarkFile, "run folders", gate.BenchstatBaselineFile, gate.BenchstatFile, out)
	if env.StepSummary == "" {
		return nil
	}
	f, err := os.OpenFile(env.StepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("gate: GITHUB_STEP_SUMMARY: %w", err)
	}
	defer f.Close()
	return r.WriteMarkdown(f)
}

// pairOutcome is the side-by-side gate's error, and so its exit code.
func pairOutcome(r gate.Report, out string) error {
	see := "see " + filepath.Join(out, gate.TextFile)
	switch r.Outcome() {
	case "FAIL":
		var names []string
		for _, row := range r.Failures() {
			names = append(names, row.Pattern+" "+string(row.Metric))
		}
		return &exitError{Code: exitFailure, Err: fmt.Errorf("gate: regression: %s", strings.Join(names, ", ")),
			Hint: see + "; the run folders (" + out + ") hold the reports of both builds"}
	case "INCONCLUSIVE":
		return &exitError{Code: exitInconclusive, Err: fmt.Errorf("gate: inconclusive: %s", r.Reasons()),
			Hint: see + "; a failed run's log is in its folder; machine- or generator-bound: run on a quieter machine; too few samples: more --repeats"}
	}
	return nil
}

// headName names the head: this binary's version, and the repository's
// commit when there is one, with "+ changes" for a dirty tree.
func headName(repo string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := "head " + version
	if sha, err := git(ctx, repo, "rev-parse", "--short=12", "HEAD"); err == nil && version == "dev" {
		name = "head " + strings.TrimSpace(sha)
		if st, err := git(ctx, repo, "status", "--porcelain", "--untracked-files=no"); err == nil && strings.TrimSpace(st) != "" {
			name += " + changes"
		}
	}
	return name
}

func gateLogf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "commbench: gate: "+format+"\n", args...)
}

var errNoRef = errors.New("no such commit")
