package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/notification"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func init() {
	register(command{name: "run", summary: "run a benchmark: broker, services, attack, drain, reconcile, results", run: cmdRun})
}

func cmdRun(args []string) error {
	rf, err := parseRunFlags(args)
	if err != nil || rf == nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "\r\033[K"[:boolIndex(isTerminal(os.Stderr))]+"commbench: "+format+"\n", args...)
	}
	o := rf.options
	o.Exe, o.Broker.Exe, o.Logf = exe, exe, logf
	if rf.calibrate {
		o.Calibration = runCalibration(ctx, o.Broker.CacheDir, logf)
		if ctx.Err() != nil {
			return &exitError{Code: exitSignaled, Err: errors.New("interrupted while calibrating: nothing was run")}
		}
	}
	res, runDir, err := harness.Run(ctx, o)
	if isTerminal(os.Stdout) {
		fmt.Println()
	}
	if res != nil {
		finishRun(res, runDir)
	}
	if errors.Is(err, harness.ErrInterrupted) {
		return &exitError{Code: exitSignaled, Err: fmt.Errorf("interrupted: the partial results are in %s", runDir)}
	}
	return err
}

// runFlags are commbench run's flags, read: the options of the run, all
// but the executable and the log.
type runFlags struct {
	options   harness.RunOptions
	calibrate bool // --calibrate auto
}

// parseRunFlags reads commbench run's flags and the profile they name. It
// returns nil and no error when there is nothing to run (--dry-run).
func parseRunFlags(args []string) (*runFlags, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var (
		profile     = fs.String("profile", "", "profile: a name in profiles/ (surge) or a file (profiles/surge.yaml)")
		patterns    = fs.String("patterns", "", "patterns to run, comma-separated (default: the profile's)")
		repeat      = fs.Int("repeat", 1, "runs of each pattern, interleaved (A B C A B C)")
		out         = fs.String("out", "reports/runs", "folder for run folders; reports/latest points at the newest")
		dryRun      = fs.Bool("dry-run", false, "print the plan and exit")
		kind        = fs.String("broker", "auto", "Kafka: auto, local, embedded or external")
		brokers     = fs.String("brokers", "", "external Kafka host:port[,...] (default $KAFKA_BROKERS)")
		allowRemote = fs.Bool("allow-remote", false, "allow load to non-loopback addresses")
		keep        = fs.Bool("keep", false, "keep the run's Kafka topics (commbench.<run id>.<pattern>.reactions and its .dlq; the run id is the run folder's name), e.g. to count them with another client")
		dir         = fs.String("profiles", "profiles", "folder of named profiles")
		shard       = fs.String("shard", "", "i/n: this generator is shard i (from 0) of n sharing the run: 1/n of the rate, its own id range; shard 0 owns the ledger (needs --targets)")
		targetURLs  = fs.String("targets", "", "REACTION_URL,NOTIFY_URL: attack services someone else runs; start no broker and no service")
		topic       = fs.String("topic", notification.DefaultTopic, "with --targets: the topic the notification service consumes, for the lag")
		group       = fs.String("group", notification.DefaultGroup, "with --targets: its consumer group, for the lag")
		startAt     = fs.String("start-at", "", "with --targets: when the attack starts, unix seconds or RFC 3339, the same for every shard")
		trace       = fs.Bool("trace", false, "also record a Go execution trace of the run (the generator and the harness) into the run folder as trace.out (go tool trace; scripts/pacer-trace.py)")
		kafkaVer    = fs.String("kafka-version", broker.KafkaVersion, "Apache Kafka release of a local broker (4.x), resolved from Maven Central into the cache; results.json records the one that ran")
		calibrate   = fs.String("calibrate", "off", "auto: before the run, reuse the harness calibration when fresh (same build, same machine, under a day old) or run a short one (at most 30 s) against a null endpoint; off: record a fresh saved one if any (./bench.sh passes auto)")
	)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if *profile == "" {
		return nil, usageErr(errors.New("run: --profile is required"), "e.g. commbench run --profile surge; profiles: "+availableProfiles(*dir))
	}
	file, err := profiles.Resolve(*dir, *profile)
	if err != nil {
		return nil, usageErr(err, "")
	}
	p, err := profiles.Load(file)
	if err != nil {
		return nil, usageErr(err, "fix the profile and run again; nothing was started")
	}
	if err := overridePatterns(p, *patterns); err != nil {
		return nil, err
	}
	if *calibrate != "auto" && *calibrate != "off" {
		return nil, usageErr(fmt.Errorf("run: --calibrate %q: want auto or off", *calibrate), "")
	}
	if *repeat < 1 || *repeat > 100 {
		return nil, usageErr(fmt.Errorf("run: --repeat %d: want 1 to 100", *repeat), "")
	}
	o := harness.RunOptions{Profile: p, ProfileFile: file, Repeat: *repeat, OutRoot: *out, AllowRemote: *allowRemote, KeepTopics: *keep,
		Progress: os.Stdout, Terminal: isTerminal(os.Stdout), Version: version, Trace: *trace}
	if err := parseShardFlags(&o, *shard, *targetURLs, *topic, *group, *startAt); err != nil {
		return nil, err
	}
	if *dryRun {
		fmt.Print(p.Plan())
		return nil, nil
	}
	k, err := broker.ParseKind(*kind)
	if err != nil {
		return nil, usageErr(fmt.Errorf("run: --broker: %w", err), "")
	}
	env, err := readEnv()
	if err != nil {
		return nil, usageErr(err, envHint)
	}
	if err := checkSecurity(k, *brokers, env); err != nil {
		return nil, err
	}
	o.Broker = env.BrokerOptions(k, *brokers)
	if err := broker.CheckVersion(*kafkaVer); err != nil {
		return nil, usageErr(fmt.Errorf("run: --kafka-version: %w", err), "")
	}
	if *kafkaVer != broker.KafkaVersion {
		o.Broker.Version = *kafkaVer
	}
	o.ProfileYAML, _ = os.ReadFile(file)
	return &runFlags{options: o, calibrate: *calibrate == "auto"}, nil
}

// overridePatterns sets p's patterns from --patterns, if given.
func overridePatterns(p *profiles.Profile, patterns string) error {
	if err := p.OnlyPatterns(patterns); err != nil {
		return usageErr(fmt.Errorf("run: --patterns: %w", err), "comma-separated, e.g. --patterns sync,async")
	}
	return nil
}

// parseShardFlags reads --shard, --targets (with --topic and --group) and
// --start-at into o.
func parseShardFlags(o *harness.RunOptions, shard, targetURLs, topic, group, startAt string) error {
	var err error
	if shard != "" {
		if o.Shard, err = harness.ParseShard(shard); err != nil {
			return usageErr(fmt.Errorf("run: --shard: %w", err), "")
		}
		if targetURLs == "" {
			return usageErr(errors.New("run: --shard needs --targets"), "shards attack one set of services someone else runs: --targets http://host:8080,http://host:8081")
		}
	}
	if targetURLs != "" {
		t, err := harness.ParseTargets(targetURLs, o.AllowRemote)
		if err != nil {
			return usageErr(fmt.Errorf("run: --targets: %w", err), "non-loopback services need --allow-remote")
		}
		t.Topic, t.Group = topic, group
		o.Targets = &t
		if len(o.Profile.Patterns) != 1 {
			return usageErr(fmt.Errorf("run: --targets: the services run one pattern, and the profile has %d", len(o.Profile.Patterns)), "name the pattern they were started with: --patterns async")
		}
	}
	if startAt != "" {
		if o.StartAt, err = parseTime(startAt); err != nil {
			return usageErr(fmt.Errorf("run: --start-at: %w", err), "e.g. --start-at $(date -d '+1 min' +%s)")
		}
	}
	return nil
}

// finishRun evaluates the claims into results.json, prints the summary
// and the claims, and renders the report.
func finishRun(res *results.Results, runDir string) {
	// The claims go into results.json before the report reads it.
	res.Claims = claims.Evaluate(res)
	if werr := res.Write(runDir); werr != nil {
		fmt.Fprintf(os.Stderr, "commbench: the claims could not be written to results.json: %v\n", werr)
	}
	printSummary(res, true)
	printClaims(res)
	fmt.Printf("results: %s\n", filepath.Join(runDir, "results.json"))
	if page, rerr := reports.Render(runDir); rerr != nil {
		fmt.Fprintf(os.Stderr, "commbench: the report could not be rendered: %v (run 'commbench report %s' to try again)\n", rerr, runDir)
	} else {
		fmt.Printf("report: %s\n", page)
	}
}

// checkSecurity fails fast on security settings meant for an external
// cluster when the broker will be local or embedded (plaintext): the
// services inherit the environment.
func checkSecurity(k broker.Kind, brokers string, env environ) error {
	sec := env.Kafka
	external := k == broker.External || (k == broker.Auto && (brokers != "" || len(env.Brokers) > 0))
	if sec.Enabled() && !external {
		return usageErr(fmt.Errorf("run: Kafka security is set (%s) but the broker is %s, which speaks plaintext", sec, k), "TLS and SASL are for an external cluster: set KAFKA_BROKERS (or --broker external), or unset "+strings.Join(kafkasec.Vars, ", "))
	}
	return nil
}

// parseTime reads unix seconds or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want unix seconds or RFC 3339", s)
	}
	return t, nil
}

func boolIndex(b bool) int {
	if b {
		return 4
	}
	return 0
}

func availableProfiles(dir string) string {
	names, err := profiles.Available(dir)
	if err != nil || len(names) == 0 {
		return "(none found in " + dir + ")"
	}
	return strings.Join(names, ", ")
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printClaims lists the claims with a verdict from this run, one line
// each; those the profile did not exercise are counted.
func printClaims(r *results.Results) {
	skipped := 0
	for _, c := range r.Claims {
		if c.Verdict == claims.NotExercised {
			skipped++
			continue
		}
		fmt.Printf("claim %-27s %s\n", c.ID, c.Verdict)
	}
	if skipped > 0 {
		fmt.Printf("claims not exercised by this profile: %d (the report says why)\n", skipped)
	}
}

// validityCell is the end table's validity column: ok, or the verdict
// and its bound seconds; "-" for results from before validity.
func validityCell(s results.Summary) string {
	switch s.Validity {
	case "":
		return "-"
	case results.ValidityOK:
		if s.BoundS > 0 {
			return fmt.Sprintf("ok (%d s bound)", s.BoundS)
		}
		return "ok"
	}
	return fmt.Sprintf("%s, %d s: NOT the pattern's numbers", strings.ToUpper(s.Validity), s.BoundS)
}

// printSummary prints the run's table and its warnings; said: the run
// already said each warning as it arose (harness.Run logs them), so the
// summary only counts them.
func printSummary(r *results.Results, said bool) {
	fmt.Printf("\n%-10s %9s %9s %9s %9s %9s %9s %7s %7s %6s %8s %9s %9s  %s\n",
		"pattern", "requests", "accepted", "api p50", "api p99", "notif p50", "notif p99", "drops", "lost", "dlq", "drain s", "cpu/1k s", "gen/1k s", "validity")
	for _, key := range r.Order {
		s := r.Patterns[key].Summary
		lost := strconv.FormatInt(s.Lost, 10)
		if s.LostUnknown {
			lost = "unknown"
		}
		fmt.Printf("%-10s %9d %9d %8.1fms %8.1fms %8.1fms %8.1fms %7d %7s %6d %8.1f %9.2f %9.2f  %s\n",
			key, s.Requests, s.Accepted, s.API.P50, s.API.P99, s.Notify.P50, s.Notify.P99, s.Drops.Total, lost, s.DeadLettered, s.DrainS,
			s.CPUSecondsPer1k["total"], s.CPUSecondsPer1k["generator"], validityCell(s))
	}
	switch {
	case said && len(r.Run.Warnings) > 0:
		fmt.Printf("warnings: %d, said above as they arose (results.json run.warnings and the report list them)\n", len(r.Run.Warnings))
	case !said:
		for _, w := range r.Run.Warnings {
			fmt.Printf("warning: %s\n", w)
		}
	}
	if r.Run.Partial {
		fmt.Printf("PARTIAL: %s\n", r.Run.PartialReason)
	}
}

// runCalibration returns the harness calibration saved in the cache
// folder dir when it is fresh, and otherwise runs a short one (at most
// 30 s) against a null endpoint in a child process and saves it. It
// returns nil, having said why, when it cannot: the run then goes on
// without, and says so.
func runCalibration(ctx context.Context, dir string, logf func(string, ...any)) *results.Calibration {
	c, err := harness.FreshCalibration(dir, time.Now())
	if err == nil {
		c.Reused = true
		logf("harness calibration of %s reused (this build, this machine, under a day old): ceiling %.0f rps, floor p50 %.3f ms, %.1f µs CPU per request",
			c.At.Local().Format("15:04"), c.CeilingRPS, c.FloorMs.P50, c.CPUUsPerReq)
		return c
	}
	why := "none saved"
	if !errors.Is(err, harness.ErrNoCalibration) {
		why = err.Error()
	}
	logf("calibrating the harness first (%s; at most 30 s)", why)
	target, done, err := startNullChild(0)
	if err != nil {
		logf("harness calibration failed: %v", err)
		return nil
	}
	defer done()
	run, err := harness.Calibrate(ctx, harness.CalibrateOptions{
		Target: target, StepDuration: harness.ShortCalibrateStep, Budget: harness.ShortCalibrateBudget, Endpoint: "child process",
	})
	if err != nil {
		logf("harness calibration failed: %v", err)
		return nil
	}
	if _, err := run.Save(dir); err != nil {
		logf("harness calibration not saved: %v", err)
	}
	logf("harness calibration: ceiling %.0f rps, floor p50 %.3f ms p99 %.3f ms at %.0f rps, %.1f µs CPU per request at %.0f rps",
		run.CeilingRPS, run.FloorMs.P50, run.FloorMs.P99, run.FloorRPS, run.CPUUsPerReq, run.CPURate)
	return &run.Calibration
}
