package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// ErrInterrupted is returned by Run when its context ended mid-run; the
// results it wrote are marked partial.
var ErrInterrupted = errors.New("run interrupted")

// RunOptions configure Run.
type RunOptions struct {
	Profile     *profiles.Profile
	ProfileFile string
	ProfileYAML []byte
	Patterns    []pattern.Pattern // nil: the profile's
	Repeat      int               // runs of each pattern, interleaved: A B C A B C
	OutRoot     string            // run folders go in OutRoot/<time>-<profile>; OutRoot/../latest points at the newest
	Exe         string            // the commbench binary the services run from
	Broker      broker.Options
	// Existing is a broker that is already up (a test's shared broker): Run
	// uses it instead of starting one, and leaves it running.
	Existing    *broker.Broker
	AllowRemote bool
	KeepTopics  bool
	Progress    io.Writer // live progress; nil for none
	Terminal    bool      // Progress is a terminal: one updating line
	Logf        func(format string, args ...any)
	Version     string
	// Calibration, when set, is recorded as the run's harness calibration
	// (commbench run --calibrate auto found or made it); nil: the fresh one
	// saved in the broker's cache folder, if any.
	Calibration *results.Calibration

	// Targets, when set, are services someone else runs: the run starts
	// no broker and no service (see Shard, in shard.go).
	Targets *Targets
	// Shard is this generator's part of a run shared by several; the zero
	// value is the whole run. StartAt, when set, is when every shard's
	// attack starts.
	Shard   Shard
	StartAt time.Time
	// Trace: record a Go execution trace of the run (the generator and
	// the harness, this process) into the run folder as trace.out.
	Trace bool
	// NoLatest: leave OutRoot/../latest alone (a capacity search's
	// steps: latest points at the search's folder, not a step's).
	NoLatest bool
}

// Grace bounds a service's graceful stop.
const Grace = 10 * time.Second

// Run runs a whole benchmark: broker up, then for each pattern fresh
// services, warmup, attack with faults, drain, reconcile; results.json and
// the HdrHistogram logs in a new run folder, whose path it returns. When
// ctx ends mid-run it stops everything it started, writes what was
// measured marked partial, and returns ErrInterrupted.
func Run(ctx context.Context, o RunOptions) (*results.Results, string, error) {
	if o.Repeat < 1 {
		o.Repeat = 1
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if len(o.Patterns) == 0 {
		o.Patterns = o.Profile.Patterns
	}
	if err := preflight(o); err != nil {
		return nil, "", err
	}
	out, err := newRunFolder(o)
	if err != nil {
		return nil, "", err
	}
	defer out.removeIfEmpty()
	if o.Trace {
		stop, err := StartTrace(filepath.Join(out.dir, "trace.out"))
		if err != nil {
			return nil, "", err
		}
		defer stop()
	}
	k, err := upKafka(ctx, o, out)
	if err != nil {
		return nil, "", err
	}
	defer k.close(o)
	runErr := out.runPatterns(ctx, o, k)
	out.write(o)
	return out.res, out.dir, runErr
}

// runFolder is a run's folder and the results written into it.
type runFolder struct {
	id, dir string
	res     *results.Results
	written bool // results.json was written once: the folder stays
}

// newRunFolder makes the run's folder and its results, not written yet.
func newRunFolder(o RunOptions) (*runFolder, error) {
	p := o.Profile
	started := time.Now()
	id := started.Format("20060102-150405") + "-" + p.Name
	if !o.Shard.Whole() {
		id += fmt.Sprintf("-shard%dof%d", o.Shard.Index, o.Shard.count())
	}
	f := &runFolder{id: id, dir: filepath.Join(o.OutRoot, id)}
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return nil, err
	}
	if err := writeShardInfo(f.dir, o); err != nil {
		f.removeIfEmpty()
		return nil, err
	}
	f.res = &results.Results{
		Schema:   results.SchemaVersion,
		Patterns: map[string]*results.Pattern{},
		Run: results.RunInfo{
			ID:          id,
			Profile:     p.Name,
			Description: p.Description,
			ProfileFile: o.ProfileFile,
			ProfileYAML: string(o.ProfileYAML),
			Started:     started,
			Repeat:      o.Repeat,
			Machine:     machine(),
			Version:     o.Version,
			Warnings:    []string{},
		},
	}
	f.res.Run.Host, f.res.Run.Validity = hostInfo(), validityInfo(p.Validity.Thresholds())
	for _, fl := range p.Faults {
		f.res.Run.Faults = append(f.res.Run.Faults, results.FaultWindow{Target: string(fl.Target), Kind: string(fl.Kind), StartS: fl.At.Std().Seconds(), EndS: (fl.At + fl.For).Std().Seconds(), Detail: faultDetail(fl)})
	}
	if o.Calibration != nil {
		f.res.Run.Calibration = o.Calibration
		return f, nil
	}
	switch c, err := FreshCalibration(o.Broker.CacheDir, started); {
	case err == nil:
		c.Reused = true
		f.res.Run.Calibration = c
	case errors.Is(err, ErrNoCalibration):
		f.warn(o, "no harness calibration on this machine: run with --calibrate auto (./bench.sh does) or run 'commbench calibrate' to know the generator's own ceiling and floor")
	default:
		f.warn(o, "harness calibration not used: "+err.Error())
	}
	return f, nil
}

// warn records w in the run's warnings and says it, once, as it arises:
// the command's summary does not print the run's warnings again.
func (f *runFolder) warn(o RunOptions, w string) {
	f.res.Run.Warnings = append(f.res.Run.Warnings, w)
	o.Logf("WARNING: %s", w)
}

// removeIfEmpty removes the folder of a run that failed before it
// measured anything (a broker that does not start, say).
func (f *runFolder) removeIfEmpty() {
	if !f.written {
		os.RemoveAll(f.dir)
	}
}

// write writes results.json and, the first time, points latest at the
// folder.
func (f *runFolder) write(o RunOptions) {
	f.res.Run.Finished = time.Now()
	if err := f.res.Write(f.dir); err != nil {
		o.Logf("writing results: %v", err)
		return
	}
	if !f.written {
		f.written = true
		if o.NoLatest {
			return
		}
		latest := filepath.Join(filepath.Dir(o.OutRoot), "latest")
		os.Remove(latest)
		if rel, err := filepath.Rel(filepath.Dir(latest), f.dir); err == nil {
			os.Symlink(rel, latest)
		}
	}
}

// runPatterns runs every planned run, Repeat times, interleaved, writing
// the results after each; it stops at the first that fails.
func (f *runFolder) runPatterns(ctx context.Context, o RunOptions, k *kafka) error {
	runs := planRuns(o, o.Targets != nil)
	f.predictPeaks(o, runs)
	res, n := f.res, 0
	for rep := 1; rep <= o.Repeat; rep++ {
		for _, pl := range runs {
			n++
			key := results.Key{Pattern: pl.pattern, Variant: pl.variant.Name, Rep: rep}.String()
			pr := &patternRun{o: o, sys: newSystem(o), p: pl.profile, pattern: pl.pattern, key: key, dir: f.dir, runID: f.id, broker: k.broker, client: k.client,
				label: fmt.Sprintf("%s %d/%d", key, n, len(runs)*o.Repeat)}
			pat, err := pr.run(ctx)
			if pat != nil {
				res.Patterns[key] = pat
				res.Order = append(res.Order, key)
				for _, w := range slices.Concat(pr.warnings, validityWarnings(key, &pat.Summary), pr.lossWarnings(&pat.Summary)) {
					f.warn(o, w)
				}
			}
			if err != nil {
				res.Run.Partial = true
				if ctx.Err() != nil {
					res.Run.PartialReason = "interrupted during " + key
					err = ErrInterrupted
				} else {
					res.Run.PartialReason = fmt.Sprintf("%s failed: %v", key, err)
				}
				f.write(o)
				return err
			}
			f.write(o)
		}
	}
	return nil
}

// kafka is the run's broker and a client of it; both nil when no pattern
// uses Kafka.
type kafka struct {
	broker *broker.Broker
	client *broker.Client
	stop   bool // the run started the broker: it stops it
}

// upKafka readies Kafka for the run, unless no pattern uses it: someone
// else's (targets, o.Existing) or a broker of its own.
func upKafka(ctx context.Context, o RunOptions, f *runFolder) (*kafka, error) {
	k := &kafka{}
	needKafka := slices.ContainsFunc(o.Patterns, pattern.Pattern.UsesKafka)
	switch {
	case o.Targets != nil:
		// Someone else's services: Kafka only to read the lag, if at all.
		k.broker = targetBroker(o, o.Patterns)
		needKafka = k.broker != nil
		f.warn(o, fmt.Sprintf("shard %s against services this run did not start (%s): no warmup, and their CPU and memory are not measured", o.Shard, o.Targets.Reaction))
	case needKafka && o.Existing != nil:
		k.broker = o.Existing
	case needKafka:
		bo := o.Broker
		bo.Partitions = o.Profile.Services.Kafka.Partitions
		if bo.Exe == "" {
			bo.Exe = o.Exe // the embedded broker runs from the commbench binary too
		}
		if bo.Log == nil {
			bo.Log = logWriter(o.Logf)
		}
		b, err := broker.Up(ctx, bo)
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		k.broker, k.stop = b, true
	}
	if needKafka {
		if err := k.connect(o, f); err != nil {
			k.close(o)
			return nil, err
		}
	}
	if java, major, err := broker.FindJava(); err == nil {
		f.res.Run.Machine.Java = fmt.Sprintf("%d (%s)", major, java)
	}
	return k, nil
}

// connect makes the client and records the broker in the run's results.
func (k *kafka) connect(o RunOptions, f *runFolder) error {
	var err error
	if k.client, err = broker.NewClient(k.broker.Addrs, o.Broker.Security); err != nil {
		return fmt.Errorf("broker client: %w", err)
	}
	b := k.broker
	f.res.Run.Broker = results.BrokerInfo{Kind: string(b.Kind), Version: b.Version, Addrs: b.Addrs, Partitions: o.Profile.Services.Kafka.Partitions, Label: b.String()}
	if b.Kind == broker.Embedded {
		f.warn(o, "Kafka was "+broker.EmbeddedLabel+": its timings are not Apache Kafka's")
	}
	return nil
}

// close closes the client and stops the broker the run started.
func (k *kafka) close(o RunOptions) {
	if k.client != nil {
		k.client.Close()
	}
	if !k.stop {
		return
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := k.broker.Stop(sctx); err != nil {
		o.Logf("stopping the broker: %v", err)
	}
}

// patternRun is one pattern's run: its services, its parts, its attack,
// its samples.
type patternRun struct {
	o       RunOptions
	sys     system
	p       *profiles.Profile
	pattern pattern.Pattern
	key     string
	label   string
	dir     string
	runID   string
	broker  *broker.Broker
	client  *broker.Client

	topic, group string
	// topics are the run's topics, the reactions topic first; the last is
	// the one the notification service reads (dTopic), then the DLQ.
	topics       []string
	dTopic       string
	notif, react *Proc
	notifyURL    string // the first replica's
	// Every notification replica (notif is the first), and their URLs.
	replicas   []*Proc
	replicaURL []string
	// What the parts tell the services: the URL the reaction service's
	// HTTP calls go to, its extra flags, and the first notification
	// replica's ledger journal ("" for none).
	callURL      string
	reactionArgs []string
	journal      string

	parts []part
	ends  []func() // atEnd's, run last-in-first-out
	// warmupAccepted is what the warmup had accepted (Summary.WarmupAccepted).
	warmupAccepted int64

	mu     sync.Mutex // guards what the sampler writes and the drain reads
	series results.Series
	lag    int64
	counts wire.Counts
	notify *hdrhistogram.Histogram
	meter  *cpuMeter
	host   hostMeter
	faults []results.FaultWindow // as fired
	// sampleGaps counts the seconds whose ledger interval could not be
	// read; warnings are the pattern's, for the run's list.
	sampleGaps int
	warnings   []string
	// lostIDs are the accepted ids the final ledger read found neither
	// delivered nor dead-lettered (loss.go says them in the warnings).
	lostIDs wire.Ranges
}

// atEnd registers f to run once the pattern's services stopped.
func (r *patternRun) atEnd(f func()) { r.ends = append(r.ends, f) }

// async reports whether the pattern produces to Kafka (async, hybrid).
func (r *patternRun) async() bool { return r.pattern.UsesKafka() }

func (r *patternRun) run(ctx context.Context) (*results.Pattern, error) {
	r.o.Logf("%s: starting services", r.label)
	defer func() {
		for _, f := range slices.Backward(r.ends) {
			f()
		}
	}()
	firstID, err := r.sys.start(ctx, r)
	if err != nil {
		return nil, err
	}
	return r.measure(ctx, firstID)
}

// system is the system under test as the run sees it: the services it
// starts itself (ownSystem, services.go), or those someone else runs
// (theirSystem, shard.go). It is chosen once per run (newSystem); the
// pattern lifecycle asks it, and names neither.
type system interface {
	// start readies the services (and the parts) and returns the first
	// reaction id of the attack; what it starts, it stops with r.atEnd.
	start(ctx context.Context, r *patternRun) (firstID uint64, err error)
	// procs adds the processes whose CPU and memory the run can read.
	procs(r *patternRun, m map[string]int)
	// drain waits until the backlog is gone or timeout passes.
	drain(ctx context.Context, r *patternRun, rec *loadgen.Recorder, timeout time.Duration) bool
	// notMeasured names the processes of the system whose CPU the run
	// cannot read.
	notMeasured(r *patternRun) []string
}

// newSystem is the one place that tells the two apart.
func newSystem(o RunOptions) system {
	if o.Targets != nil {
		return theirSystem{}
	}
	return ownSystem{}
}

// createTopics creates the run's topics, for a pattern that uses Kafka,
// and deletes them at the end unless asked to keep them.
func (r *patternRun) createTopics(ctx context.Context) error {
	if !r.async() {
		return nil
	}
	k := r.p.Services.Kafka
	if err := r.client.CreateReplicatedTopics(ctx, k.Partitions, k.ReplicationFactor, r.topics...); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	if r.o.KeepTopics {
		r.o.Logf("%s: keeping topics %s (--keep)", r.key, strings.Join(r.topics, ", "))
	} else {
		r.atEnd(func() {
			dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := r.client.DeleteTopics(dctx, r.topics...); err != nil {
				r.o.Logf("%s: deleting topics: %v", r.key, err)
			}
		})
	}
	return nil
}

// machine describes this machine.
func machine() results.Machine {
	m := results.Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				m.MemoryBytes = kb * 1024
				break
			}
		}
		f.Close()
	}
	return m
}

// logWriter adapts Logf to an io.Writer, a line per Write.
type logWriter func(format string, args ...any)

func (l logWriter) Write(b []byte) (int, error) {
	l("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
