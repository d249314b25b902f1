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

	// Targets, when set, are services someone else runs: the run starts
	// no broker and no service (see Shard, in shard.go).
	Targets *Targets
	// Shard is this generator's part of a run shared by several; the zero
	// value is the whole run. StartAt, when set, is when every shard's
	// attack starts.
	Shard   Shard
	StartAt time.Time
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
	p := o.Profile
	patterns := o.Patterns
	if len(patterns) == 0 {
		patterns = p.Patterns
	}
	if err := checkFaults(o, p); err != nil {
		return nil, "", err
	}
	if err := checkShard(o, patterns); err != nil {
		return nil, "", err
	}
	if err := checkBalancer(o, p, patterns); err != nil {
		return nil, "", err
	}
	if err := checkChain(o, p, patterns); err != nil {
		return nil, "", err
	}
	started := time.Now()
	id := started.Format("20060102-150405") + "-" + p.Name
	if !o.Shard.Whole() {
		id += fmt.Sprintf("-shard%dof%d", o.Shard.Index, o.Shard.Count)
	}
	dir := filepath.Join(o.OutRoot, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	// A run that fails before it measured anything (a broker that does not
	// start, say) leaves no empty run folder behind.
	written := false
	defer func() {
		if !written {
			os.RemoveAll(dir)
		}
	}()
	if err := writeShardInfo(dir, o); err != nil {
		return nil, "", err
	}
	res := &results.Results{
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
	for _, f := range p.Faults {
		res.Run.Faults = append(res.Run.Faults, results.FaultWindow{Target: string(f.Target), Kind: string(f.Kind), StartS: f.At.Std().Seconds(), EndS: (f.At + f.For).Std().Seconds(), Detail: faultDetail(f)})
	}
	if c, err := LatestCalibration(); err == nil {
		res.Run.Calibration = c
	} else {
		res.Run.Warnings = append(res.Run.Warnings, "no harness calibration on this machine: run 'commbench calibrate' to know the generator's own ceiling and floor")
	}
	write := func() {
		res.Run.Finished = time.Now()
		if err := res.Write(dir); err != nil {
			o.Logf("writing results: %v", err)
			return
		}
		if !written {
			written = true
			latest := filepath.Join(filepath.Dir(o.OutRoot), "latest")
			os.Remove(latest)
			if rel, err := filepath.Rel(filepath.Dir(latest), dir); err == nil {
				os.Symlink(rel, latest)
			}
		}
	}

	// Kafka, unless every pattern is sync.
	var (
		b      *broker.Broker
		client *broker.Client
	)
	needKafka := false
	for _, pt := range patterns {
		needKafka = needKafka || pt.UsesKafka()
	}
	if o.Targets != nil {
		// Someone else's services: Kafka only to read the lag, if at all.
		b = targetBroker(o, patterns)
		needKafka = b != nil
		res.Run.Warnings = append(res.Run.Warnings, fmt.Sprintf("shard %s against services this run did not start (%s): no warmup, and their CPU and memory are not measured", o.Shard, o.Targets.Reaction))
	} else if needKafka && o.Existing != nil {
		b = o.Existing
	} else if needKafka {
		bo := o.Broker
		bo.Partitions = p.Services.Kafka.Partitions
		if bo.Exe == "" {
			bo.Exe = o.Exe // the embedded broker runs from the commbench binary too
		}
		if bo.Log == nil {
			bo.Log = logWriter(o.Logf)
		}
		var err error
		b, err = broker.Up(ctx, bo)
		if err != nil {
			return nil, "", fmt.Errorf("broker: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := b.Stop(sctx); err != nil {
				o.Logf("stopping the broker: %v", err)
			}
		}()
	}
	if needKafka {
		var err error
		client, err = broker.NewClient(b.Addrs)
		if err != nil {
			return nil, "", fmt.Errorf("broker client: %w", err)
		}
		defer client.Close()
		res.Run.Broker = results.BrokerInfo{Kind: string(b.Kind), Version: b.Version, Addrs: b.Addrs, Partitions: p.Services.Kafka.Partitions, Label: b.String()}
		if b.Kind == broker.Embedded {
			res.Run.Warnings = append(res.Run.Warnings, "Kafka was "+broker.EmbeddedLabel+": its timings are not Apache Kafka's")
			o.Logf("WARNING: the async numbers of this run come from %s", broker.EmbeddedLabel)
		}
	}
	if java, major, err := broker.FindJava(); err == nil {
		res.Run.Machine.Java = fmt.Sprintf("%d (%s)", major, java)
	}

	// Variants: each pattern runs once per variant, keyed pattern.variant.
	variants := p.Variants
	if len(variants) == 0 || o.Targets != nil {
		variants = []profiles.Variant{{}}
	}
	runs := 0
	for _, v := range variants {
		for _, pt := range patterns {
			if v.Runs(pt) {
				runs += o.Repeat
			}
		}
	}
	var runErr error
	n := 0
loop:
	for rep := 1; rep <= o.Repeat; rep++ {
		for _, v := range variants {
			for _, pt := range patterns {
				if !v.Runs(pt) {
					continue
				}
				n++
				key := results.Key{Pattern: pt, Variant: v.Name, Rep: rep}.String()
				pr := &patternRun{o: o, p: p.Apply(v), pattern: pt, key: key, dir: dir, runID: id, broker: b, client: client,
					label: fmt.Sprintf("%s %d/%d", key, n, runs)}
				pat, err := pr.run(ctx)
				if pat != nil {
					res.Patterns[key] = pat
					res.Order = append(res.Order, key)
					if pat.Summary.Saturated {
						res.Run.Warnings = append(res.Run.Warnings, fmt.Sprintf("%s: the generator achieved %.0f of %.0f rps offered (below 99%%): its latency numbers understate the load", key, pat.Summary.AchievedRPS, pat.Summary.OfferedRPS))
					}
				}
				if err != nil {
					runErr = err
					res.Run.Partial = true
					if ctx.Err() != nil {
						res.Run.PartialReason = "interrupted during " + key
						runErr = ErrInterrupted
					} else {
						res.Run.PartialReason = fmt.Sprintf("%s failed: %v", key, err)
					}
					write()
					break loop
				}
				write()
			}
		}
	}
	write()
	return res, dir, runErr
}

// patternRun is one pattern's run: its services, its attack, its samples.
type patternRun struct {
	o       RunOptions
	p       *profiles.Profile
	pattern pattern.Pattern
	key     string
	label   string
	dir     string
	runID   string
	broker  *broker.Broker
	client  *broker.Client

	topic, group string
	// dTopic is the topic the notification service reads: the reactions
	// topic, or an async chain's last (chain.go).
	dTopic       string
	notif, react *Proc
	notifyURL    string // the first replica's
	// Scale-out: every notification replica (notif is the first), their
	// URLs, and the balancer in front of them (nil for none).
	replicas   []*Proc
	replicaURL []string
	lb         *Proc
	// Fan-out: the consumer groups besides the notification service's.
	groups []*fanGroup
	// A chain's hops after A (chain.go): the relays, then the notification
	// service.
	chain []*chainHop
	// A's circuit breaker at the attack's start and at the last sample.
	aBase, aLast aBreaker

	mu     sync.Mutex // guards what the sampler writes and the drain reads
	series results.Series
	lag    int64
	counts wire.Counts
	notify *hdrhistogram.Histogram
	meter  *cpuMeter
	faults []results.FaultWindow // as fired
	// what the faults set up: a proxy, a journal (faults.go)
	faultSetup *faulted
}

// async reports whether the pattern produces to Kafka (async, hybrid).
func (r *patternRun) async() bool { return r.pattern.UsesKafka() }

func (r *patternRun) run(ctx context.Context) (*results.Pattern, error) {
	o, p := r.o, r.p
	o.Logf("%s: starting services", r.label)
	if o.Targets != nil {
		firstID, err := r.startTargets(ctx)
		if err != nil {
			return nil, err
		}
		return r.measure(ctx, firstID)
	}
	r.topic = fmt.Sprintf("commbench.%s.%s.reactions", r.runID, r.key)
	r.group = fmt.Sprintf("commbench.%s.%s.notification", r.runID, r.key)
	topics := append(r.chainTopics(), r.topic+".dlq")
	r.dTopic = topics[len(topics)-2]
	if r.async() {
		if err := r.client.CreateReplicatedTopics(ctx, p.Services.Kafka.Partitions, p.Services.Kafka.ReplicationFactor, topics...); err != nil {
			return nil, fmt.Errorf("create topics: %w", err)
		}
		if !o.KeepTopics {
			defer func() {
				dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				if err := r.client.DeleteTopics(dctx, topics...); err != nil {
					o.Logf("%s: deleting topics: %v", r.key, err)
				}
			}()
		}
	}
	if err := r.setupFaults(ctx); err != nil {
		return nil, fmt.Errorf("set up faults: %w", err)
	}
	defer r.teardownFaults()
	if err := r.startServices(ctx); err != nil {
		return nil, err
	}
	defer r.stopServices()

	firstID := uint64(1)
	if p.Warmup.For > 0 && p.Warmup.Rate > 0 {
		n, err := r.warmup(ctx)
		if err != nil {
			return nil, err
		}
		firstID = n + 1
	}
	return r.measure(ctx, firstID)
}

func (r *patternRun) startServices(ctx context.Context) error {
	p := r.p
	rAddr, err := freePort()
	if err != nil {
		return err
	}
	s := p.Services
	base := []string{"serve", "notification",
		"--topic", r.dTopic, "--dlq-topic", r.topic + ".dlq",
		"--consumers", strconv.Itoa(s.Notification.Consumers),
		"--concurrency", strconv.Itoa(s.Notification.Concurrency),
		"--retries", strconv.Itoa(s.Notification.Retries + 1),
		"--retry-backoff", s.Notification.RetryBackoff.String(),
		"--retry-max-backoff", s.Notification.RetryMaxBackoff.String(),
		"--provider-p50", s.Provider.Latency.P50.String(),
		"--provider-p99", s.Provider.Latency.P99.String(),
		"--provider-capacity", strconv.Itoa(s.Provider.Capacity),
		"--provider-error-rate", strconv.FormatFloat(s.Provider.ErrorRate, 'g', -1, 64),
	}
	if r.async() {
		base = append(base, "--brokers", strings.Join(r.brokerAddrsFor("notification"), ","))
	} else {
		base = append(base, "--brokers", "")
	}
	nargs := func(listen, group string) []string {
		return append(slices.Clone(base), "--listen", listen, "--group", group)
	}
	// On failure, stop what started: stopServices stops every process
	// recorded so far.
	ok := false
	defer func() {
		if !ok {
			r.stopServices()
		}
	}()
	for i := range max(1, s.Notification.Replicas) {
		nAddr, err := freePort()
		if err != nil {
			return err
		}
		args := nargs(nAddr, r.group)
		if i == 0 {
			args = append(args, r.faultArgs("notification")...) // faults hit the first replica
		}
		name := "notification-" + r.key
		if i > 0 {
			name = fmt.Sprintf("notification-%d-%s", i+1, r.key)
		}
		pr, err := startProc(ctx, name, nAddr, r.o.Exe, args, r.dir)
		if err != nil {
			return err
		}
		r.replicas = append(r.replicas, pr)
		r.replicaURL = append(r.replicaURL, "http://"+nAddr)
	}
	r.notif, r.notifyURL = r.replicas[0], r.replicaURL[0]
	if err := r.startGroups(ctx, nargs); err != nil {
		return err
	}
	if err := r.startRelays(ctx); err != nil {
		return err
	}
	if s.Notification.LB() == profiles.BalancerNginx && r.pattern.HasSyncPath() {
		// Async reaches the replicas through the consumer group, not HTTP.
		ups := make([]string, len(r.replicas))
		for i, pr := range r.replicas {
			ups[i] = pr.Addr
		}
		if r.lb, err = startNginx(ctx, "lb-"+r.key, r.dir, ups); err != nil {
			return fmt.Errorf("load balancer: %w", err)
		}
	}
	rargs := []string{"serve", "reaction", "--mode", string(r.pattern), "--listen", rAddr,
		"--notify-url", r.notifyTarget(), "--topic", r.topic,
		"--write-cost", s.Reaction.WriteCost.String(),
		"--timeout", s.Reaction.Timeout.String(),
		"--budget", s.Hybrid.Budget.String(),
	}
	if r.chained() && r.pattern.HasSyncPath() {
		rargs = append(rargs, breakerArgs(s.Chain)...)
	}
	if r.async() {
		rargs = append(rargs, "--brokers", strings.Join(r.brokerAddrsFor("reaction"), ","))
	} else {
		rargs = append(rargs, "--brokers", "")
	}
	r.react, err = startProc(ctx, "reaction-"+r.key, rAddr, r.o.Exe, rargs, r.dir)
	if err != nil {
		return err
	}
	ok = true
	return nil
}

// callURL is the URL the reaction service's HTTP calls go to: the
// balancer, or the one replica.
func (r *patternRun) callURL() string {
	if len(r.chain) > 1 {
		return r.chain[0].url // a chain's first relay, B
	}
	if r.lb != nil {
		return "http://" + r.lb.Addr
	}
	return r.notifyURL
}

// checkBalancer refuses, before any load, a run that needs nginx on a
// machine without it.
func checkBalancer(o RunOptions, p *profiles.Profile, patterns []pattern.Pattern) error {
	if o.Targets != nil {
		return nil
	}
	variants := p.Variants
	if len(variants) == 0 {
		variants = []profiles.Variant{{}}
	}
	need := false
	for _, v := range variants {
		for _, pt := range patterns {
			// Async reaches the replicas through Kafka: no balancer.
			need = need || pt.HasSyncPath() && v.Runs(pt) && p.Apply(v).Services.Notification.LB() == profiles.BalancerNginx
		}
	}
	if !need {
		return nil
	}
	if _, err := FindNginx(); err != nil {
		return fmt.Errorf("%s: services.notification.balancer is nginx: %w", o.ProfileFile, err)
	}
	return nil
}

func (r *patternRun) stopServices() {
	// The reaction service first: it flushes its Kafka writer; then the
	// balancer; then the notification services, which commit what their
	// consumers handled.
	procs := []*Proc{r.react, r.lb}
	procs = append(procs, r.relayProcs()...) // B first: each flushes into a hop still up
	procs = append(procs, r.replicas...)
	for _, g := range r.groups {
		procs = append(procs, g.proc)
	}
	if len(r.replicas) == 0 {
		procs = append(procs, r.notif) // another runner's notification (shard.go)
	}
	for _, pr := range procs {
		if pr == nil {
			continue
		}
		if err := pr.Stop(Grace); err != nil {
			r.o.Logf("%s: %v", r.key, err)
		}
	}
}

func (r *patternRun) attackOptions(pacer loadgen.StagePacer, firstID uint64) loadgen.AttackOptions {
	a := r.p.Attack
	return loadgen.AttackOptions{
		Target:      "http://" + r.react.Addr,
		Pacer:       pacer,
		Timeout:     a.Timeout.Std(),
		Workers:     uint64(a.Workers),
		MaxWorkers:  uint64(a.MaxWorkers),
		Connections: a.Connections,
		KeepAlive:   a.KeepAlive,
		FirstID:     firstID,
		AllowRemote: r.o.AllowRemote,
	}
}

// warmup sends the profile's warmup load, waits for it to be delivered,
// and resets the ledger. It returns how many ids it used.
func (r *patternRun) warmup(ctx context.Context) (uint64, error) {
	pacer, err := loadgen.NewStagePacer(loadgen.Stage{For: r.p.Warmup.For.Std(), From: r.p.Warmup.Rate, To: r.p.Warmup.Rate})
	if err != nil {
		return 0, fmt.Errorf("warmup: %w", err)
	}
	r.o.Logf("%s: warmup, %s", r.label, pacer)
	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due})
	if err := loadgen.Attack(ctx, r.attackOptions(pacer, 1), rec); err != nil {
		return 0, fmt.Errorf("warmup: %w", err)
	}
	accepted := rec.Totals().Accepted
	// Let the warmup drain so that none of it is counted in the run.
	pollUntil(ctx, 30*time.Second, 200*time.Millisecond, func() bool {
		c, _, err := fetchIntervals(ctx, r.ledgerURLs())
		lagOK := true
		if r.async() {
			lag, _, lerr := r.client.Lag(ctx, r.group, r.dTopic)
			lagOK = lerr == nil && lag == 0
		}
		return err == nil && lagOK && c.Delivered+c.DeadLettered >= accepted
	})
	resets := r.ledgerURLs()
	for _, g := range r.groups {
		resets = append(resets, g.url)
	}
	for _, u := range resets {
		if err := doJSON(ctx, "POST", u+wire.PathLedgerReset, nil, nil); err != nil {
			return 0, fmt.Errorf("reset the ledger after the warmup: %w", err)
		}
	}
	return pacer.Total(), ctx.Err()
}

// measure runs the recorded attack with its faults and samplers, then the
// drain, then reconciles.
func (r *patternRun) measure(ctx context.Context, firstID uint64) (*results.Pattern, error) {
	o, p := r.o, r.p
	stages := make([]loadgen.Stage, len(p.Stages))
	for i, s := range p.Stages {
		stages[i] = loadgen.Stage{For: s.For.Std(), From: s.Rate, To: s.To}
	}
	pacer, err := loadgen.NewStagePacer(o.Shard.Stages(stages)...)
	if err != nil {
		return nil, err
	}
	apiLog, err := os.Create(filepath.Join(r.dir, r.key+"-api.hlog"))
	if err != nil {
		return nil, err
	}
	defer apiLog.Close()
	apiUncLog, err := os.Create(filepath.Join(r.dir, r.key+"-api-uncorrected.hlog"))
	if err != nil {
		return nil, err
	}
	defer apiUncLog.Close()
	notifyLog, err := os.Create(filepath.Join(r.dir, r.key+"-notify.hlog"))
	if err != nil {
		return nil, err
	}
	defer notifyLog.Close()

	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due, APILog: apiLog, APIUncorrectedLog: apiUncLog})
	r.notify = hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	r.meter = newCPUMeter()
	r.series = results.Series{Drops: map[string][]int64{}, CPU: map[string][]float64{}, RSSMB: map[string][]float64{}}
	r.meter.sample(r.pids(), 0) // the baseline

	if err := r.waitStart(ctx); err != nil {
		return nil, err
	}
	if err := r.chainBaseline(ctx); err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	o.Logf("%s: attack, %s", r.label, pacer)
	start := time.Now()
	notifyHlog, err := results.NewIntervalLog(notifyLog, start)
	if err != nil {
		return nil, err
	}
	sctx, stopSampler := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { r.sampler(sctx, start, rec, pacer, notifyHlog) })
	fctx, stopFaults := context.WithCancel(ctx)
	if o.Shard.OwnsLedger() {
		wg.Go(func() { r.fireFaults(fctx, start) })
	}

	attackErr := loadgen.Attack(ctx, r.attackOptions(pacer, firstID), rec)
	attackEnd := time.Since(start)
	stopFaults()
	if o.Shard.OwnsLedger() {
		r.restoreFaults()
	}

	// The drain: until the backlog is gone or the timeout passes.
	totals := rec.Totals()
	drained, drainS := false, 0.0
	if attackErr == nil && ctx.Err() == nil {
		o.Logf("%s: drain (at most %v)", r.label, p.Drain.Timeout)
		if o.Targets != nil {
			drained = r.drainTargets(ctx, rec.AcceptedIDs(), p.Drain.Timeout.Std())
		} else {
			drained = r.drain(ctx, totals.Accepted, p.Drain.Timeout.Std())
		}
		drainS = (time.Since(start) - attackEnd).Seconds()
	}
	stopSampler()
	wg.Wait()

	// Reconcile against the whole ledger.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	r.finishChain(rctx)
	snap, each, lerr := fetchLedgers(rctx, r.ledgerURLs())
	pat := r.summarize(rec, pacer, attackEnd, drained, drainS, o.Shard.Restrict(snap))
	if len(r.replicas) > 1 || r.lb != nil {
		pat.Summary.Replicas = len(r.replicas)
		pat.Summary.ReplicaDelivered = each
		pat.Summary.Balancer = string(profiles.BalancerNone)
		if r.lb != nil {
			pat.Summary.Balancer = string(profiles.BalancerNginx)
		}
	}
	groups, gerr := r.summarizeGroups(rctx, rec.AcceptedIDs())
	pat.Summary.Groups = groups
	if lerr == nil {
		lerr = gerr
	}
	if lerr != nil {
		return pat, fmt.Errorf("read the ledger: %w", lerr)
	}
	if attackErr != nil {
		return pat, attackErr
	}
	return pat, ctx.Err()
}

// ledgerURLs are the notification service's ledgers: one per replica.
func (r *patternRun) ledgerURLs() []string {
	if len(r.replicaURL) == 0 {
		return []string{r.notifyURL} // another runner's notification (shard.go)
	}
	return r.replicaURL
}

// pids names the processes whose CPU and memory are sampled.
func (r *patternRun) pids() map[string]int {
	if r.o.Targets != nil {
		return map[string]int{"generator": os.Getpid()} // the services are not ours to read
	}
	m := map[string]int{"reaction": r.react.PID(), "notification": r.notif.PID(), "generator": os.Getpid()}
	for i, pr := range r.replicas {
		m[replicaName(i)] = pr.PID()
	}
	for _, g := range r.groups {
		m[groupProcName(g.name)] = g.proc.PID()
	}
	for _, pr := range r.relayProcs() {
		m[strings.TrimSuffix(pr.Name, "-"+r.key)] = pr.PID()
	}
	if r.lb != nil {
		// nginx's worker does the proxying; its master only supervises.
		m["lb"] = 0
		if w := nginxWorkers(r.lb.PID()); len(w) > 0 {
			m["lb"] = w[0]
		}
	}
	if r.broker != nil && r.broker.Pid() != 0 {
		m["broker"] = r.broker.Pid()
	}
	return m
}

// sampler runs every second from start until ctx ends: the recorder's
// window, the ledger's interval, the broker's lag, CPU and memory.
func (r *patternRun) sampler(ctx context.Context, start time.Time, rec *loadgen.Recorder, pacer loadgen.StagePacer, notifyHlog *results.IntervalLog) {
	last := start
	for i := 1; ; i++ {
		next := start.Add(time.Duration(i) * time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		now := time.Now()
		sec := rec.Tick(now)
		qctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
		// A chain's hops are read beside the ledger, not after it: while D
		// hangs, its ledger takes the whole timeout, and B and C must still
		// be read.
		var (
			hops    []hopSample
			ab      aBreaker
			abOK    bool
			chainWG sync.WaitGroup
		)
		if len(r.chain) > 0 {
			chainWG.Go(func() {
				ab, abOK = r.readABreaker(qctx)
				hops = r.sampleChain(qctx)
			})
		}
		var (
			counts wire.Counts
			h      *hdrhistogram.Histogram
			ierr   = errNotOwner
		)
		if r.o.Shard.OwnsLedger() { // the interval is taken from the ledger: one reader only
			counts, h, ierr = fetchIntervals(qctx, r.ledgerURLs())
		}
		lag := int64(-1)
		if r.async() && r.client != nil {
			if l, _, err := r.client.Lag(qctx, r.group, r.dTopic); err == nil {
				lag = l
			}
		}
		groupLags := r.sampleGroups(qctx)
		chainWG.Wait()
		cancel()
		cores, rss := r.meter.sample(r.pids(), now.Sub(last))
		last = now
		t := now.Sub(start).Seconds()

		r.mu.Lock()
		s := &r.series
		s.T = append(s.T, float64(i))
		s.OfferedRPS = append(s.OfferedRPS, offeredIn(pacer, time.Duration(i-1)*time.Second, time.Duration(i)*time.Second))
		s.AchievedRPS = append(s.AchievedRPS, float64(sec.Sent))
		s.AcceptedRPS = append(s.AcceptedRPS, float64(sec.Accepted))
		s.PathSync = append(s.PathSync, sec.PathSync)
		s.PathAsync = append(s.PathAsync, sec.PathAsync)
		s.APIP50 = append(s.APIP50, sec.APIP50)
		s.APIP99 = append(s.APIP99, sec.APIP99)
		s.APIMax = append(s.APIMax, sec.APIMax)
		np50, np99 := 0.0, 0.0
		if ierr == nil && h != nil {
			if h.TotalCount() > 0 {
				np50, np99 = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99))
			}
			r.notify.Merge(h)
			notifyHlog.Write(h, now.Add(-time.Second), now)
			r.counts = counts
		}
		s.NotifyP50 = append(s.NotifyP50, np50)
		s.NotifyP99 = append(s.NotifyP99, np99)
		s.Delivered = append(s.Delivered, r.counts.Delivered)
		if r.async() {
			s.Lag = append(s.Lag, lag)
			r.lag = lag
		}
		if groupLags != nil {
			if s.LagByGroup == nil {
				s.LagByGroup = map[string][]int64{}
			}
			s.LagByGroup[r.p.Services.Kafka.Groups[0]] = append(s.LagByGroup[r.p.Services.Kafka.Groups[0]], lag)
			for _, g := range r.groups {
				s.LagByGroup[g.name] = append(s.LagByGroup[g.name], groupLags[g.name])
				g.peakLag = max(g.peakLag, groupLags[g.name])
			}
		}
		for class, n := range sec.Drops.ByClass() {
			s.Drops[class] = append(s.Drops[class], n)
		}
		r.recordChain(sec, hops, lag, ab, abOK)
		for name, c := range cores {
			s.CPU[name] = append(s.CPU[name], c)
			s.RSSMB[name] = append(s.RSSMB[name], rss[name])
		}
		r.mu.Unlock()
		r.progress(t, pacer, sec, lag)
	}
}

// errNotOwner: a shard that does not own the ledger does not sample it.
var errNotOwner = errors.New("the ledger is sampled by shard 0")

// offeredIn is the schedule's rate averaged over [from, to).
func offeredIn(p loadgen.StagePacer, from, to time.Duration) float64 {
	return float64(p.Hits(to)-p.Hits(from)) / (to - from).Seconds()
}

func (r *patternRun) progress(t float64, pacer loadgen.StagePacer, sec loadgen.Second, lag int64) {
	w := r.o.Progress
	if w == nil {
		return
	}
	total := pacer.Duration().Seconds()
	phase := fmt.Sprintf("%3.0fs/%.0fs", t, total)
	if t > total+0.5 {
		phase = fmt.Sprintf("drain %3.0fs", t-total)
	}
	lagText := ""
	if lag >= 0 {
		lagText = fmt.Sprintf("  lag %d", lag)
	}
	r.mu.Lock()
	delivered := r.counts.Delivered
	r.mu.Unlock()
	line := fmt.Sprintf("[%s] %s  offered %.0f -> sent %d rps  accepted %d  p99 %.1f ms  drops %d%s  delivered %d",
		r.label, phase, pacer.Rate(time.Duration(t*float64(time.Second))), sec.Sent, sec.Accepted, sec.APIP99, sec.Drops.Total, lagText, delivered)
	if r.o.Terminal {
		fmt.Fprintf(w, "\r\033[K%s", line)
		return
	}
	if int(t)%5 == 0 {
		fmt.Fprintln(w, line)
	}
}

// drain waits until the backlog is gone: lag 0 (async) and every accepted
// reaction delivered or dead-lettered, or timeout. It reports whether it
// drained.
func (r *patternRun) drain(ctx context.Context, accepted int64, timeout time.Duration) bool {
	return pollUntil(ctx, timeout, 100*time.Millisecond, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return (!r.async() || r.lag == 0) && r.counts.Delivered+r.counts.DeadLettered >= accepted && r.groupsDrained()
	})
}

// pollUntil calls done every interval until it reports true (then true),
// or until timeout passes or ctx ends (then false).
func pollUntil(ctx context.Context, timeout, every time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if done() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(every):
		}
	}
}

func (r *patternRun) summarize(rec *loadgen.Recorder, pacer loadgen.StagePacer, attackEnd time.Duration, drained bool, drainS float64, snap *wire.Snapshot) *results.Pattern {
	t := rec.Totals()
	api, apiUnc := rec.Histograms()
	attackS := attackEnd.Seconds()
	s := results.Summary{
		Requests:        t.Requests,
		Accepted:        t.Accepted,
		AcceptedSync:    t.AcceptedSync,
		AcceptedAsync:   t.AcceptedAsync,
		OfferedRPS:      float64(pacer.Total()) / pacer.Duration().Seconds(),
		AchievedRPS:     float64(t.Requests) / attackS,
		GoodputRPS:      float64(t.Accepted) / attackS,
		LateSends:       t.Late,
		API:             percentiles(api),
		APIUncorrected:  percentiles(apiUnc),
		Drops:           t.Drops,
		Indeterminate:   t.Indeterminate,
		DrainS:          drainS,
		Drained:         drained,
		CPUSecondsPer1k: map[string]float64{},
		PeakRSSMB:       map[string]float64{},
	}
	s.Saturated = t.Requests < int64(pacer.Total())*99/100 || s.AchievedRPS < 0.99*s.OfferedRPS
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Notify = percentiles(r.notify)
	r.summarizeChain(&s, t, s.API)
	for _, l := range r.series.Lag {
		s.PeakLag = max(s.PeakLag, l)
	}
	var total float64
	for name, cpu := range r.meter.total {
		if name == "broker" && !r.async() {
			continue // sync has no broker: its idle JVM is not the pattern's cost
		}
		if t.Accepted > 0 {
			s.CPUSecondsPer1k[name] = cpu.Seconds() / float64(t.Accepted) * 1000
			total += s.CPUSecondsPer1k[name]
		}
	}
	s.CPUSecondsPer1k["total"] = total
	for name, b := range r.meter.peak {
		s.PeakRSSMB[name] = float64(b) / (1 << 20)
	}
	if snap != nil {
		accepted := rec.AcceptedIDs()
		s.Delivered = int64(snap.DeliveredIDs.Count())
		s.Duplicated = snap.Duplicates
		s.Deduplicated = snap.Deduplicated
		s.DeadLettered = int64(accepted.Minus(accepted.Minus(snap.DeadLetteredIDs)).Count())
		s.Lost = int64(accepted.Minus(snap.DeliveredIDs.Union(snap.DeadLetteredIDs)).Count())
		s.DeliveredUnaccepted = int64(snap.DeliveredIDs.Minus(accepted).Count())
	}
	pat := &results.Pattern{Summary: s, Series: r.series, Runs: 1, Faults: r.faults}
	pat.Series.AttackEndS = attackS
	pat.Histograms.API = encode(api)
	pat.Histograms.APIUncorrected = encode(apiUnc)
	pat.Histograms.Notify = encode(r.notify)
	// The hops of the traced first deliveries. A snapshot whose hop
	// histograms do not decode leaves them empty: Traced 0 says so.
	if hops := newHopHists(); hops.fromSnapshot(snap) == nil {
		hops.set(pat)
	}
	return pat
}

func percentiles(h *hdrhistogram.Histogram) results.Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return results.Percentiles{}
	}
	return results.Percentiles{
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}

func encode(h *hdrhistogram.Histogram) string {
	if h == nil {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
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
