package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/targets/wire"
)

// Shard is one of Count load generators that share a run between them,
// usually on as many machines, against one set of services:
//
//   - it sends 1/Count of the profile's arrival rate (every stage's rates
//     divided by Count), so that together the shards offer the profile;
//   - its reaction ids are its own range (IDs): Index·2³²/Count up to the
//     next shard's first id, never overlapping another shard's, all within
//     the ledger's MaxID;
//   - shard 0 owns the ledger: it resets it before the attack, samples it
//     every second (deliveries, time-to-notify, Kafka lag) and fires the
//     profile's faults. The others only attack. At the end every shard
//     reconciles its own id range against the shared ledger.
//
// The zero value is the whole run (one generator): Index 0 of 1.
// `commbench merge` puts the shards' run folders back together.
type Shard struct {
	Index int `json:"index"` // 0 to Count-1
	Count int `json:"count"` // 0 means 1
}

// ParseShard parses "i/n": shard i (counting from 0) of n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/3 (shards count from 0)", s)
	}
	if n < 1 || n > 1<<16 {
		return Shard{}, fmt.Errorf("shard %q: n must be 1 to 65536", s)
	}
	if i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: i must be 0 to %d (shards count from 0)", s, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) count() int { return max(s.Count, 1) }

// String is "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.count()) }

// Whole reports whether s is the whole run rather than a part of it.
func (s Shard) Whole() bool { return s.count() == 1 }

// OwnsLedger reports whether this shard resets and samples the ledger and
// fires the faults: shard 0.
func (s Shard) OwnsLedger() bool { return s.Index == 0 }

// IDs is the shard's reaction id range, first to last inclusive: the ids
// from Index·2³²/Count to (Index+1)·2³²/Count − 1, id 0 left out (ids
// start at 1). Consecutive shards' ranges touch and never overlap; together
// they cover 1 to wire.MaxID.
func (s Shard) IDs() (first, last uint64) {
	const space = uint64(wire.MaxID) + 1
	n := uint64(s.count())
	first = uint64(s.Index) * space / n
	last = (uint64(s.Index)+1)*space/n - 1
	return max(first, 1), last
}

// Stages returns stages with every rate divided by Count.
func (s Shard) Stages(stages []loadgen.Stage) []loadgen.Stage {
	n := float64(s.count())
	out := make([]loadgen.Stage, len(stages))
	for i, st := range stages {
		out[i] = loadgen.Stage{For: st.For, From: st.From / n, To: st.To / n}
	}
	return out
}

// Restrict returns the part of snap that concerns the shard: delivered and
// dead-lettered ids in its range, and, unless it owns the ledger, no
// ledger-wide counts (duplicates, deduplicated), which the owner reports
// once. The whole run's snapshot is returned as it is.
func (s Shard) Restrict(snap *wire.Snapshot) *wire.Snapshot {
	if snap == nil || s.Whole() {
		return snap
	}
	first, last := s.IDs()
	out := *snap
	out.DeliveredIDs = clip(snap.DeliveredIDs, first, last)
	out.DeadLetteredIDs = clip(snap.DeadLetteredIDs, first, last)
	out.Delivered = int64(out.DeliveredIDs.Count())
	out.DeadLettered = int64(out.DeadLetteredIDs.Count())
	if !s.OwnsLedger() {
		out.Duplicates, out.Deduplicated = 0, 0
	}
	return &out
}

// clip keeps the ids of rs within [lo, hi].
func clip(rs wire.Ranges, lo, hi uint64) wire.Ranges {
	var out wire.Ranges
	for _, r := range rs {
		if r.Hi < lo || r.Lo > hi {
			continue
		}
		out = append(out, wire.Range{Lo: max(r.Lo, lo), Hi: min(r.Hi, hi)})
	}
	return out
}

// Targets are services someone else runs (on other machines, in Docker
// Compose): a run against them starts no broker and no service, and only
// attacks, samples what it can reach, and reconciles.
type Targets struct {
	Reaction     string `json:"reaction"`     // the reaction service's base URL, http://host:port
	Notification string `json:"notification"` // the notification service's: its ledger and the provider's switches
	// Topic and Group are what the notification service consumes, for the
	// lag; read only when Kafka is reachable (KAFKA_BROKERS or --brokers).
	Topic string `json:"topic"`
	Group string `json:"group"`
}

// ParseTargets parses "REACTION_URL,NOTIFY_URL", checking each the way
// Attack does: non-loopback addresses need allowRemote.
func ParseTargets(s string, allowRemote bool) (Targets, error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok || strings.Contains(b, ",") {
		return Targets{}, fmt.Errorf("targets %q: want REACTION_URL,NOTIFY_URL", s)
	}
	t := Targets{Reaction: strings.TrimSuffix(strings.TrimSpace(a), "/"), Notification: strings.TrimSuffix(strings.TrimSpace(b), "/")}
	for _, u := range []string{t.Reaction, t.Notification} {
		if err := loadgen.CheckTarget(u, allowRemote); err != nil {
			return Targets{}, fmt.Errorf("targets: %w", err)
		}
	}
	return t, nil
}

// ShardFile is written in a shard's run folder; commbench merge reads it.
const ShardFile = "shard.json"

// ShardInfo is a run folder's shard.json.
type ShardInfo struct {
	Shard
	FirstID uint64    `json:"first_id"`
	LastID  uint64    `json:"last_id"`
	Owner   bool      `json:"owns_ledger"`
	Targets *Targets  `json:"targets,omitempty"`
	StartAt time.Time `json:"start_at,omitzero"`
}

// ReadShardInfo reads dir/shard.json; a run folder without one is the
// whole run (shard 0/1), and its ledger was its own.
func ReadShardInfo(dir string) (ShardInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, ShardFile))
	if errors.Is(err, os.ErrNotExist) {
		first, last := Shard{}.IDs()
		return ShardInfo{Shard: Shard{Count: 1}, FirstID: first, LastID: last, Owner: true}, nil
	}
	if err != nil {
		return ShardInfo{}, err
	}
	var si ShardInfo
	if err := json.Unmarshal(b, &si); err != nil {
		return ShardInfo{}, fmt.Errorf("%s: %w", filepath.Join(dir, ShardFile), err)
	}
	// What ParseShard allows: merge loops over the count.
	if _, err := ParseShard(fmt.Sprintf("%d/%d", si.Index, si.count())); err != nil {
		return ShardInfo{}, fmt.Errorf("%s: %w", filepath.Join(dir, ShardFile), err)
	}
	return si, nil
}

// checkShard refuses, before anything starts, what a shard cannot do.
func checkShard(o RunOptions) error {
	if o.Targets == nil {
		if !o.Shard.Whole() {
			return errors.New("a shard runs against services it did not start: give their URLs (--targets)")
		}
		return nil
	}
	if len(o.Patterns) != 1 || o.Repeat > 1 {
		return fmt.Errorf("the services at %s run one pattern, chosen when they were started: name it with --patterns (one of sync, async, hybrid), and no --repeat", o.Targets.Reaction)
	}
	first, last := o.Shard.IDs()
	if p, err := loadgen.NewStagePacer(o.Shard.Stages(profileStages(o.Profile))...); err == nil && p.Total() > last-first+1 {
		return fmt.Errorf("shard %s: the profile needs %d ids, its range holds %d", o.Shard, p.Total(), last-first+1)
	}
	if !o.StartAt.IsZero() && time.Until(o.StartAt) < -time.Second {
		return fmt.Errorf("the start time %s passed %v ago: give all shards a start time in the future", o.StartAt.Format(time.RFC3339), time.Since(o.StartAt).Round(time.Second))
	}
	return nil
}

func profileStages(p *profiles.Profile) []loadgen.Stage {
	stages := make([]loadgen.Stage, len(p.Stages))
	for i, s := range p.Stages {
		stages[i] = loadgen.Stage{For: s.For.Std(), From: s.Rate, To: s.To}
	}
	return stages
}

// writeShardInfo writes dir/shard.json for a run against targets.
func writeShardInfo(dir string, o RunOptions) error {
	if o.Targets == nil {
		return nil
	}
	first, last := o.Shard.IDs()
	si := ShardInfo{Shard: Shard{Index: o.Shard.Index, Count: o.Shard.count()}, FirstID: first, LastID: last, Owner: o.Shard.OwnsLedger(), Targets: o.Targets, StartAt: o.StartAt}
	b, err := json.MarshalIndent(si, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ShardFile), append(b, '\n'), 0o644)
}

// targetBroker is the cluster the lag is read from in a run against
// targets: only the ledger's owner reads it, only for a Kafka pattern, and
// only when the brokers are known. Nil otherwise.
func targetBroker(o RunOptions, patterns []pattern.Pattern) *broker.Broker {
	if !o.Shard.OwnsLedger() || len(patterns) == 0 || !patterns[0].UsesKafka() {
		return nil
	}
	addrs := o.Broker.Brokers // --brokers, else KAFKA_BROKERS: cmd read it
	if len(addrs) == 0 {
		return nil
	}
	return &broker.Broker{Kind: broker.External, Addrs: addrs}
}

// theirSystem is services someone else runs (--targets): the run starts
// none, reads none of their processes, and drains against the shared
// ledger.
type theirSystem struct{}

func (theirSystem) start(ctx context.Context, r *patternRun) (uint64, error) {
	first, err := r.startTargets(ctx)
	if err != nil {
		return 0, err
	}
	r.parts, err = parts(r)
	return first, err
}

func (theirSystem) procs(*patternRun, map[string]int) {} // not ours to read

func (theirSystem) drain(ctx context.Context, r *patternRun, rec *loadgen.Recorder, timeout time.Duration) bool {
	return r.drainTargets(ctx, rec.AcceptedIDs(), timeout)
}

func (theirSystem) notMeasured(r *patternRun) []string {
	out := []string{"reaction", "notification"}
	if r.async() {
		out = append(out, "broker")
	}
	return out
}

// startTargets stands in for startServices in a run against targets: the
// services are someone else's. The ledger's owner resets the ledger.
func (r *patternRun) startTargets(ctx context.Context) (firstID uint64, err error) {
	t := r.o.Targets
	r.topic, r.group, r.dTopic = t.Topic, t.Group, t.Topic
	r.notifyURL = t.Notification
	for _, u := range []string{t.Reaction, t.Notification} {
		if err := doJSON(ctx, "GET", u+"/healthz", nil, nil); err != nil {
			return 0, fmt.Errorf("%s is not healthy: %w", u, err)
		}
	}
	ru, _ := url.Parse(t.Reaction)
	nu, _ := url.Parse(t.Notification)
	r.react = &Proc{Name: "reaction", Addr: ru.Host}
	r.notif = &Proc{Name: "notification", Addr: nu.Host}
	if r.o.Shard.OwnsLedger() {
		if err := doJSON(ctx, "POST", r.notifyURL+wire.PathLedgerReset, nil, nil); err != nil {
			return 0, fmt.Errorf("reset the ledger at %s: %w", r.notifyURL, err)
		}
	}
	first, _ := r.o.Shard.IDs()
	return first, nil
}

// waitStart waits until the shards' common start time, if one was given.
func (r *patternRun) waitStart(ctx context.Context) error {
	if r.o.StartAt.IsZero() {
		return nil
	}
	r.o.Logf("%s: waiting for the start at %s", r.label, r.o.StartAt.Format(time.RFC3339))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(r.o.StartAt)):
		return nil
	}
}

// drainTargets waits until every reaction this shard saw accepted is in
// the shared ledger, delivered or dead-lettered, and (for the owner, when
// it reads Kafka) the lag is 0; or until timeout.
func (r *patternRun) drainTargets(ctx context.Context, accepted wire.Ranges, timeout time.Duration) bool {
	return pollUntil(ctx, timeout, time.Second, func() bool {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		snap, err := fetchLedger(qctx, r.notifyURL)
		cancel()
		r.mu.Lock()
		lag := r.lag
		r.mu.Unlock()
		return err == nil && (r.client == nil || lag == 0) &&
			len(accepted.Minus(snap.DeliveredIDs.Union(snap.DeadLetteredIDs))) == 0
	})
}
