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
	"github.com/commbench/commbench/capacity"
	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
)

func init() {
	register(command{name: "capacity", summary: "find each pattern's capacity under an SLO, its knee, and what a peak needs", run: cmdCapacity})
}

func cmdCapacity(args []string) error {
	o, calibrate, err := parseCapacityFlags(args)
	if err != nil || o == nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "commbench: "+format+"\n", args...) }
	o.Harness.Exe, o.Harness.Broker.Exe, o.Logf, o.Progress = exe, exe, logf, os.Stdout
	if calibrate {
		o.Harness.Calibration = runCalibration(ctx, o.Harness.Broker.CacheDir, logf)
		if ctx.Err() != nil {
			return &exitError{Code: exitSignaled, Err: errors.New("interrupted while calibrating: nothing was run")}
		}
	}
	fmt.Printf("capacity: %s's services, patterns %s, SLO %s; steps of max(%v, %d requests) after %v warm-up; at most %v\n",
		o.Profile.Name, patternNames(o), o.SLO, o.Step.Min, o.Step.Requests, o.Step.Warmup, o.Budget)
	res, dir, err := capacity.Run(ctx, *o)
	if res != nil {
		finishCapacity(res, dir)
	}
	if errors.Is(err, capacity.ErrInterrupted) {
		return &exitError{Code: exitSignaled, Err: fmt.Errorf("interrupted: the steps done are in %s", dir)}
	}
	return err
}

// parseCapacityFlags reads commbench capacity's flags into the search's
// options; nil options and no error after --dry-run.
func parseCapacityFlags(args []string) (*capacity.Options, bool, error) {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	var (
		profile   = fs.String("profile", "surge", "profile whose services (provider, notification, broker) and patterns are searched: a name in profiles/ or a file")
		patterns  = fs.String("patterns", "", "patterns to search, comma-separated (default: the profile's)")
		slo       = fs.String("slo", "", "override the profile's SLO (its slo block, default api_p99=100ms,drops=0.1%,notify_p99=5s,lag_growth=0.01), e.g. api_p99=150ms,drops=0.5%")
		scale     = fs.String("scale", "1", "replicas to search at, comma-separated from 1, e.g. 1,2,4: sync's notification replicas behind nginx, async's notification processes in the consumer group")
		peak      = fs.Float64("peak", 0, "plan for this peak rate, rps: the replicas each pattern needs, its CPU per million, async's backlog")
		peakFor   = fs.Duration("for", time.Minute, "with --peak: how long the peak lasts (async's backlog and drain time)")
		start     = fs.Float64("start", capacity.DefaultStart, "the first rate tried, rps (the search doubles it)")
		maxRate   = fs.Float64("max-rate", capacity.DefaultMaxRate, "the highest rate tried, rps")
		precision = fs.Float64("precision", capacity.DefaultPrecision, "bisect until the capacity is within this fraction")
		step      = fs.Duration("step", capacity.DefaultStepMin, "each step lasts at least this long ...")
		stepReqs  = fs.Int64("step-requests", capacity.DefaultStepRequests, "... and at least this many requests")
		warmup    = fs.Duration("warmup", capacity.DefaultStepWarmup, "unrecorded warm-up before each step (0s: none)")
		drain     = fs.Duration("drain", capacity.DefaultStepDrain, "the longest a step waits for its backlog after its attack")
		budget    = fs.Duration("budget", capacity.DefaultBudget, "no step starts that would end after this (0s: no limit)")
		out       = fs.String("out", "reports/runs", "folder for run folders; reports/latest points at the newest")
		dir       = fs.String("profiles", "profiles", "folder of named profiles")
		kind      = fs.String("broker", "auto", "Kafka: auto, local, embedded or external")
		brokers   = fs.String("brokers", "", "external Kafka host:port[,...] (default $KAFKA_BROKERS)")
		calibrate = fs.String("calibrate", "off", "auto: reuse the harness calibration when fresh or run a short one first (./bench.sh passes auto)")
		dryRun    = fs.Bool("dry-run", false, "print the plan and exit")
	)
	if err := parseFlags(fs, args); err != nil {
		return nil, false, err
	}
	file, err := profiles.Resolve(*dir, *profile)
	if err != nil {
		return nil, false, usageErr(err, "profiles: "+availableProfiles(*dir))
	}
	p, err := profiles.Load(file)
	if err != nil {
		return nil, false, usageErr(err, "fix the profile and run again; nothing was started")
	}
	if err := overridePatterns(p, *patterns); err != nil {
		return nil, false, err
	}
	o := &capacity.Options{Profile: p, ProfileFile: file, Patterns: p.Patterns, SLO: p.SLO, PeakRPS: *peak, PeakFor: *peakFor, OutRoot: *out,
		Step:   capacity.StepOptions{Min: *step, Requests: *stepReqs, Warmup: *warmup, Drain: *drain},
		Search: capacity.SearchOptions{Start: *start, MaxRate: *maxRate, Precision: *precision}, Budget: *budget}
	if o.Step.Warmup == 0 {
		o.Step.Warmup = -1 // none
	}
	if o.Budget == 0 {
		o.Budget = -1 // no limit
	}
	if o.SLO, err = p.SLO.Override(*slo); err != nil {
		return nil, false, usageErr(fmt.Errorf("capacity: --%w", err), "e.g. --slo api_p99=150ms,drops=0.5%")
	}
	if o.Scales, err = parseScales(*scale); err != nil {
		return nil, false, usageErr(fmt.Errorf("capacity: --scale %q: %w", *scale, err), "e.g. --scale 1,2,4")
	}
	if err := checkCapacityNumbers(o, *calibrate); err != nil {
		return nil, false, err
	}
	if *dryRun {
		fmt.Printf("capacity of %s (%s), SLO %s, scales %v, first step %.0f rps for %v\n", patternNames(o), file, o.SLO, o.Scales, o.Search.Start, o.Step.Length(o.Search.Start))
		return nil, false, nil
	}
	if err := capacityBroker(o, *kind, *brokers); err != nil {
		return nil, false, err
	}
	o.ProfileYAML, _ = os.ReadFile(file)
	o.Harness.Version, o.Harness.Terminal = version, false
	return o, *calibrate == "auto", nil
}

// checkCapacityNumbers refuses flags out of range, naming the flag.
func checkCapacityNumbers(o *capacity.Options, calibrate string) error {
	bad := func(flag, why string) error {
		return usageErr(fmt.Errorf("capacity: --%s: %s", flag, why), "")
	}
	switch {
	case o.Search.Start < capacity.MinRate:
		return bad("start", fmt.Sprintf("%g rps: want at least %g", o.Search.Start, capacity.MinRate))
	case o.Search.MaxRate < o.Search.Start:
		return bad("max-rate", fmt.Sprintf("%g rps: want at least --start (%g)", o.Search.MaxRate, o.Search.Start))
	case !(o.Search.Precision > 0 && o.Search.Precision < 1):
		return bad("precision", fmt.Sprintf("%g: want a fraction in (0, 1), e.g. 0.05", o.Search.Precision))
	case o.Step.Min < time.Second:
		return bad("step", fmt.Sprintf("%v: want 1s or more", o.Step.Min))
	case o.Step.Requests < 1:
		return bad("step-requests", fmt.Sprintf("%d: want 1 or more", o.Step.Requests))
	case o.PeakRPS < 0 || o.PeakFor < 0:
		return bad("peak", "want a rate and a duration of 0 or more")
	case calibrate != "auto" && calibrate != "off":
		return bad("calibrate", fmt.Sprintf("%q: want auto or off", calibrate))
	}
	return nil
}

// capacityBroker reads the broker's flags and the environment into o.
func capacityBroker(o *capacity.Options, kind, brokers string) error {
	k, err := broker.ParseKind(kind)
	if err != nil {
		return usageErr(fmt.Errorf("capacity: --broker: %w", err), "")
	}
	env, err := readEnv()
	if err != nil {
		return usageErr(err, envHint)
	}
	if err := checkSecurity(k, brokers, env); err != nil {
		return err
	}
	o.Harness = harness.RunOptions{Broker: env.BrokerOptions(k, brokers)}
	return nil
}

// parseScales reads --scale: replicas, ascending, from 1.
func parseScales(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 64 {
			return nil, fmt.Errorf("%q: want whole numbers of replicas from 1 to 64", f)
		}
		if len(ns) > 0 && n <= ns[len(ns)-1] {
			return nil, errors.New("want the scales in ascending order, each once")
		}
		ns = append(ns, n)
	}
	if ns[0] != 1 {
		return nil, errors.New("the first scale must be 1: the fit starts from one replica's capacity")
	}
	return ns, nil
}

func patternNames(o *capacity.Options) string {
	var s []string
	for _, p := range o.Patterns {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

// finishCapacity decides the capacity claims into results.json, prints
// each pattern's answer, and renders the report.
func finishCapacity(res *results.Results, dir string) {
	res.Claims = claims.EvaluateCapacity(res)
	if err := res.Write(dir); err != nil {
		fmt.Fprintf(os.Stderr, "commbench: the claims could not be written to results.json: %v\n", err)
	}
	fmt.Println()
	for _, name := range capacityOrder(res) {
		c := res.Capacity[name]
		answer := fmt.Sprintf("%.0f rps (decided by %s)", c.RPS, c.DecidedBy)
		if c.Limit != results.LimitSLO {
			answer = fmt.Sprintf("no capacity: %s (held up to %.0f rps)", c.DecidedBy, c.LowerRPS)
			if c.LowerRPS == 0 {
				answer = fmt.Sprintf("no capacity: %s (no step held before it)", c.DecidedBy)
			}
		}
		cost := fmt.Sprintf("%.0f CPU-s per million at it", c.CPUSecondsPerMillion)
		if c.CPUSecondsPerMillion == 0 {
			cost = "no CPU cost: no step held"
		}
		fmt.Printf("capacity %-7s %s; API alone %s; %s\n", name, answer, apiAnswer(c.API), cost)
		if c.USL != nil {
			fmt.Printf("  scale %v: USL σ %.3f κ %.4f\n", c.Scale, c.USL.Sigma, c.USL.Kappa)
		}
		if pr := c.Prediction; pr != nil {
			miss := ""
			if pr.Miss {
				miss = " — MISS: more than 20% off, the fit does not hold here"
			}
			fmt.Printf("  predicted at %d from %v: %.0f rps, measured %.0f (%+.0f%%)%s\n", pr.Replicas, pr.FromScales, pr.PredictedRPS, pr.MeasuredRPS, 100*pr.Error, miss)
		}
		if pk := c.Peak; pk != nil {
			fmt.Printf("  peak %.0f rps: %s; %.0f CPU-s per million\n", pk.PeakRPS, pk.Note, pk.CPUSecondsPerMillion)
		}
	}
	printClaims(res)
	fmt.Printf("results: %s\n", filepath.Join(dir, "results.json"))
	if page, err := reports.Render(dir); err != nil {
		fmt.Fprintf(os.Stderr, "commbench: the report could not be rendered: %v (run 'commbench report %s' to try again)\n", err, dir)
	} else {
		fmt.Printf("report: %s\n", page)
	}
}

func apiAnswer(b results.CapacityBound) string {
	if b.Limit == results.LimitSLO {
		return fmt.Sprintf("%.0f rps", b.RPS)
	}
	if b.LowerRPS == 0 {
		return fmt.Sprintf("not known (%s)", b.DecidedBy)
	}
	return fmt.Sprintf("at least %.0f rps (%s)", b.LowerRPS, b.DecidedBy)
}

// capacityOrder is the patterns of a capacity run in the order sync,
// async, hybrid, then any other.
func capacityOrder(res *results.Results) []string {
	return claims.CapacityOrder(res)
}
