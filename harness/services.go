package harness

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/targets/wire"
)

// The services of a pattern's run: the notification service (one process
// per replica), then the parts in order, then the reaction service, which
// calls what the parts left in callURL. They stop the other way round.

// startServices starts the pattern's services and parts. On failure it
// stops what started.
func (r *patternRun) startServices(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			r.stopServices()
		}
	}()
	if err := r.startNotification(ctx); err != nil {
		return err
	}
	r.callURL = r.notifyURL
	for _, pt := range r.parts {
		if err := pt.start(ctx); err != nil {
			return err
		}
	}
	return r.startReaction(ctx)
}

// notificationArgs are a notification process's arguments for its listen
// address and consumer group.
func (r *patternRun) notificationArgs(listen, group string) []string {
	brokers := ""
	if r.async() {
		brokers = strings.Join(r.broker.Addrs, ",")
	}
	return append([]string{"serve", "notification",
		"--topic", r.dTopic, "--dlq-topic", r.topic + ".dlq",
		"--brokers", brokers,
		"--listen", listen, "--group", group,
	}, r.p.Services.NotificationFlags()...)
}

// startNotification starts a notification process per replica; the first
// keeps the journal, if a part asked for one.
func (r *patternRun) startNotification(ctx context.Context) error {
	for i := range max(1, r.p.Services.Notification.Replicas) {
		addr, err := freePort()
		if err != nil {
			return err
		}
		args := r.notificationArgs(addr, r.group)
		if i == 0 && r.journal != "" {
			args = append(args, "--ledger-file", r.journal)
		}
		name := "notification-" + r.key
		if i > 0 {
			name = fmt.Sprintf("notification-%d-%s", i+1, r.key)
		}
		pr, err := startProc(ctx, name, addr, r.o.Exe, args, r.dir)
		if err != nil {
			return err
		}
		r.replicas = append(r.replicas, pr)
		r.replicaURL = append(r.replicaURL, "http://"+addr)
	}
	r.notif, r.notifyURL = r.replicas[0], r.replicaURL[0]
	return nil
}

// startReaction starts the reaction service in the pattern's mode.
func (r *patternRun) startReaction(ctx context.Context) error {
	addr, err := freePort()
	if err != nil {
		return err
	}
	s := r.p.Services
	args := []string{"serve", "reaction", "--mode", string(r.pattern), "--listen", addr,
		"--notify-url", r.callURL, "--topic", r.topic,
		"--write-cost", s.Reaction.WriteCost.String(),
		"--timeout", s.Reaction.Timeout.String(),
		"--budget", s.Hybrid.Budget.String(),
	}
	args = append(args, r.reactionArgs...)
	brokers := ""
	if r.async() {
		brokers = strings.Join(r.broker.Addrs, ",")
	}
	args = append(args, "--brokers", brokers)
	r.react, err = startProc(ctx, "reaction-"+r.key, addr, r.o.Exe, args, r.dir)
	return err
}

// stopServices stops the reaction service first (it flushes its Kafka
// writer), then the parts, the last started first, then the notification
// replicas, which commit what their consumers handled.
func (r *patternRun) stopServices() {
	stop := func(pr *Proc) {
		if pr == nil {
			return
		}
		if err := pr.Stop(Grace); err != nil {
			r.o.Logf("%s: %v", r.key, err)
		}
	}
	stop(r.react)
	for _, pt := range slices.Backward(r.parts) {
		pt.stop()
	}
	for _, pr := range r.replicas {
		stop(pr)
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
// warmupDrain bounds the wait for the warmup's backlog.
const warmupDrain = 30 * time.Second

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
	r.warmupAccepted = accepted
	// Let the warmup drain so that none of it is counted in the run; if it
	// does not, the run says so.
	if !pollUntil(ctx, warmupDrain, 100*time.Millisecond, func() bool { return r.backlogGone(ctx, accepted) }) && ctx.Err() == nil {
		r.warnings = append(r.warnings, fmt.Sprintf("%s: the warmup did not drain within %v: its backlog ran into the attack's first seconds", r.key, warmupDrain))
	}
	for _, u := range r.ledgerURLs() {
		if err := doJSON(ctx, "POST", u+wire.PathLedgerReset, nil, nil); err != nil {
			return 0, fmt.Errorf("reset the ledger after the warmup: %w", err)
		}
	}
	return pacer.Total(), ctx.Err()
}

// ledgerURLs are the notification service's ledgers: one per replica.
func (r *patternRun) ledgerURLs() []string {
	if len(r.replicaURL) == 0 {
		return []string{r.notifyURL} // another runner's notification (shard.go)
	}
	return r.replicaURL
}

// pids names the processes whose CPU and memory are sampled: the
// generator, and what the system under test lets the run read.
func (r *patternRun) pids() map[string]int {
	m := map[string]int{"generator": os.Getpid()}
	r.sys.procs(r, m)
	return m
}

// ownSystem is the services the run starts itself, fresh for each
// pattern: topics, the notification replicas and the parts, the reaction
// service, and the warmup.
type ownSystem struct{}

func (ownSystem) start(ctx context.Context, r *patternRun) (uint64, error) {
	r.topic = fmt.Sprintf("commbench.%s.%s.reactions", r.runID, r.key)
	r.group = fmt.Sprintf("commbench.%s.%s.notification", r.runID, r.key)
	r.topics = []string{r.topic}
	var err error
	if r.parts, err = parts(r); err != nil {
		return 0, err
	}
	r.dTopic = r.topics[len(r.topics)-1]
	r.topics = append(r.topics, r.topic+".dlq")
	if err := r.createTopics(ctx); err != nil {
		return 0, err
	}
	if err := r.startServices(ctx); err != nil {
		return 0, err
	}
	r.atEnd(r.stopServices) // first of the ends: before the topics go
	if r.p.Warmup.For <= 0 || r.p.Warmup.Rate <= 0 {
		return 1, nil
	}
	n, err := r.warmup(ctx)
	return n + 1, err
}

func (ownSystem) procs(r *patternRun, m map[string]int) {
	m["reaction"], m["notification"] = r.react.PID(), r.notif.PID()
	for i, pr := range r.replicas {
		m[replicaName(i)] = pr.PID()
	}
	for _, pt := range each[meter](r.parts) {
		pt.procs(m)
	}
	if r.broker != nil && r.broker.Pid() != 0 {
		m["broker"] = r.broker.Pid()
	}
}

func (ownSystem) drain(ctx context.Context, r *patternRun, rec *loadgen.Recorder, timeout time.Duration) bool {
	return r.drainOwn(ctx, rec, timeout)
}

func (ownSystem) notMeasured(r *patternRun) []string {
	if _, ok := r.meter.total["broker"]; r.async() && !ok {
		return []string{"broker"} // an external broker: not measured, not 0
	}
	return nil
}
