// Package profiles reads and checks benchmark profiles: the YAML files in
// this folder that name the arrival-rate stages, the patterns to compare,
// the services' knobs, the scheduled faults, the drain and the gate's
// thresholds. A profile is validated whole before any load starts, and
// every problem is reported as file:line, the field and what to do.
package profiles

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/validity"
)

// Profile is one benchmark: the same schedule of requests, run once per
// pattern against freshly started services with the same knobs.
//
// Every optional knob has a default, written beside its field; a zero
// written in the file is a zero, not "use the default".
type Profile struct {
	// Name is the profile's name, used in run folders and reports: lower-case
	// letters, digits and dashes. Default: the file name without ".yaml".
	Name string `yaml:"name"`
	// Description says in one sentence what the profile is for.
	Description string `yaml:"description"`
	// Patterns are run one after another, in this order. Default: all three,
	// [sync, async, hybrid].
	Patterns []pattern.Pattern `yaml:"patterns"`
	// Stages are the recorded arrival schedule, one after another. Required,
	// at least one stage, and they must send at least one request.
	Stages []Stage `yaml:"stages"`
	// Warmup runs before the stages of each pattern and is not recorded.
	// Default: {for: 5s, rate: 100}, or the highest stage rate if that is lower.
	// {for: 0s} turns it off.
	Warmup Warmup `yaml:"warmup"`
	// Services are the knobs of the services under test.
	Services Services `yaml:"services"`
	// Faults are fired during the stages, at times counted from the start
	// of the first stage (the warmup excluded). Default: none.
	Faults []Fault `yaml:"faults"`
	// Attack tunes the load generator.
	Attack Attack `yaml:"attack"`
	// Drain bounds the wait for the backlog after the stages.
	Drain Drain `yaml:"drain"`
	// Gate holds the regression gate's thresholds.
	Gate Gate `yaml:"gate"`
	// Validity says when a second of the run measured the machine rather
	// than the pattern (package validity; docs/results.md).
	Validity Validity `yaml:"validity"`
	// SLO is what commbench capacity holds each step to (slo.go); other
	// runs ignore it.
	SLO SLO `yaml:"slo"`
	// Variants run each pattern again with some service knobs changed,
	// keyed pattern.variant (sync.r2): how a profile compares 1, 2 and 4
	// notification replicas, or 1, 2 and 3 consumer groups, in one run.
	// Default: none, each pattern runs once with the knobs above.
	Variants []Variant `yaml:"variants"`
}

// Variant is a named change to the service knobs; a pattern runs once per
// variant. A knob left out (or 0) keeps the profile's value.
type Variant struct {
	// Name keys the variant's results (sync.<name>): lower-case letters,
	// digits and dashes. Required, unique.
	Name string `yaml:"name"`
	// Replicas overrides services.notification.replicas; >= 1.
	Replicas int `yaml:"replicas"`
	// Balancer overrides services.notification.balancer: nginx or none.
	Balancer Balancer `yaml:"balancer"`
	// Groups overrides services.kafka.groups.
	Groups []string `yaml:"groups"`
	// Breaker overrides services.chain.breaker.
	Breaker *bool `yaml:"breaker"`
	// Patterns are the profile's patterns this variant runs, in the
	// profile's order. Default: all of them.
	Patterns []pattern.Pattern `yaml:"patterns"`
}

// Runs reports whether the variant runs pattern pt.
func (v Variant) Runs(pt pattern.Pattern) bool {
	return len(v.Patterns) == 0 || slices.Contains(v.Patterns, pt)
}

// OnlyPatterns replaces p's patterns with those of list, comma-separated
// (what --patterns gives); an empty list keeps them.
func (p *Profile) OnlyPatterns(list string) error {
	if list == "" {
		return nil
	}
	var pts []pattern.Pattern
	for _, s := range strings.Split(list, ",") {
		pt, err := pattern.Parse(strings.TrimSpace(s))
		if err != nil {
			return err
		}
		pts = append(pts, pt)
	}
	p.Patterns = pts
	return nil
}

// Apply returns a copy of p whose services have v's knobs, with the
// balancer's default filled in for the replicas.
func (p *Profile) Apply(v Variant) *Profile {
	q := *p
	n := &q.Services.Notification
	if v.Replicas > 0 {
		n.Replicas = v.Replicas
		if v.Balancer == "" && n.Replicas > 1 && n.Balancer == BalancerNone {
			n.Balancer = BalancerNginx
		}
	}
	if v.Balancer != "" {
		n.Balancer = v.Balancer
	}
	if len(v.Groups) > 0 {
		q.Services.Kafka.Groups = v.Groups
	}
	if v.Breaker != nil {
		q.Services.Chain.Breaker = *v.Breaker
	}
	q.Variants = nil
	return &q
}

// Stage is a stretch of the arrival schedule: for For, the rate goes
// linearly from Rate to To requests per second.
type Stage struct {
	// For is how long the stage lasts. Required, > 0.
	For Duration `yaml:"for"`
	// Rate is the arrival rate at the start of the stage, in requests per
	// second. Required, >= 0; 0 is a pause in the load.
	Rate float64 `yaml:"rate"`
	// To is the rate at the end of the stage; the rate changes linearly
	// from Rate to To. >= 0. Default: Rate, a constant stage.
	To float64 `yaml:"to"`
}

// Warmup is a constant load before the recorded stages, to open
// connections, fill pools and let the JVM compile; it is not recorded.
type Warmup struct {
	For  Duration `yaml:"for"`  // >= 0; 0 means no warmup. Default: 5s.
	Rate float64  `yaml:"rate"` // requests per second, >= 0. Default: 100, or the highest stage rate if lower.
}

// Services are the knobs of the services under test, the same for every
// pattern.
type Services struct {
	Provider     Provider     `yaml:"provider"`
	Notification Notification `yaml:"notification"`
	Reaction     Reaction     `yaml:"reaction"`
	Kafka        Kafka        `yaml:"kafka"`
	Hybrid       HybridKnobs  `yaml:"hybrid"`
	Chain        Chain        `yaml:"chain"`
}

// Chain makes the workflow a chain of services, A → B → … → D: the
// reaction service (A), Depth-2 relays, and the notification service last,
// which calls the provider. Sync, each hop calls the next over HTTP; async,
// each relay is a consumer group producing to the next hop's topic. A fault
// on target notification then hits the end of the chain, and the run shows
// how far the damage travels. Hybrid has no chain form.
type Chain struct {
	// Depth is how many services a reaction crosses, A and the
	// notification service included: 2 is the plain workflow, 4 is
	// A → B → C → D. 2 to MaxChainDepth. Default: 2.
	Depth int `yaml:"depth"`
	// Breaker puts a circuit breaker on every sync hop: A's call to B and
	// each relay's call to the next hop. Default: false.
	Breaker bool `yaml:"breaker"`
	// TripFailures is how many consecutive failures open a breaker. >= 1.
	// Default: 5.
	TripFailures int `yaml:"trip_failures"`
	// OpenFor is how long an open breaker fails calls fast before it lets
	// one trial call through. > 0. Default: 5s.
	OpenFor Duration `yaml:"open_for"`
	// Timeout bounds each relay's call to the next hop (A's is
	// services.reaction.timeout). > 0. Default: 2s.
	Timeout Duration `yaml:"timeout"`
}

// MaxChainDepth bounds services.chain.depth.
const MaxChainDepth = 8

// Relays is how many relays the chain has: Depth-2, 0 without a chain.
func (c Chain) Relays() int { return max(c.Depth-2, 0) }

// Provider is the simulated email/push provider that the notification
// service calls for every notification.
type Provider struct {
	// Latency is the distribution of one call's latency.
	Latency Latency `yaml:"latency"`
	// Capacity is how many calls the provider serves at once; more wait.
	// >= 1. Default: 256.
	Capacity int `yaml:"capacity"`
	// ErrorRate is the fraction of calls that fail, in [0, 1]. Default: 0.
	ErrorRate float64 `yaml:"error_rate"`
}

// Latency is a latency distribution given by two percentiles.
type Latency struct {
	P50 Duration `yaml:"p50"` // median, >= 0. Default: 5ms.
	P99 Duration `yaml:"p99"` // 99th percentile, >= p50. Default: 40ms.
}

// Notification is the notification service: its Kafka consumer group and
// its retries of provider failures on the async path.
type Notification struct {
	// Consumers is the number of consumers in the group; more than
	// kafka.partitions leaves some idle. >= 1. Default: 4.
	Consumers int `yaml:"consumers"`
	// Concurrency is how many messages each consumer handles at once.
	// >= 1. Default: 64.
	Concurrency int `yaml:"concurrency"`
	// Retries is how many times a failed provider call is retried before
	// the message goes to the dead-letter topic. >= 0. Default: 10.
	Retries int `yaml:"retries"`
	// RetryBackoff is the wait before the first retry, doubled on each
	// next one. >= 0. Default: 50ms.
	RetryBackoff Duration `yaml:"retry_backoff"`
	// RetryMaxBackoff caps the doubling. >= retry_backoff. Default: 5s.
	RetryMaxBackoff Duration `yaml:"retry_max_backoff"`
	// Replicas is how many notification processes run. Sync and hybrid
	// call them through a load balancer; async runs them in one consumer
	// group, each with `consumers` consumers. Their ledgers are merged for
	// the reconciliation. Faults on target notification hit the first
	// replica (its process); provider faults hit every replica's provider.
	// 1 to 64. Default: 1.
	Replicas int `yaml:"replicas"`
	// Balancer is what the reaction service calls the replicas through:
	// nginx (started by the run, on loopback) or none (the one replica
	// directly; replicas must be 1). Default: nginx when replicas > 1,
	// else none.
	Balancer Balancer `yaml:"balancer"`
}

// Balancer is the load balancer in front of the notification replicas.
type Balancer string

// LB is the balancer the run puts in front of the replicas: Balancer, or
// its default when it is empty (a profile built in Go).
func (n Notification) LB() Balancer {
	switch {
	case n.Balancer != "":
		return n.Balancer
	case n.Replicas > 1:
		return BalancerNginx
	}
	return BalancerNone
}

// The balancers.
const (
	BalancerNone  Balancer = "none"  // the reaction service calls the one replica directly
	BalancerNginx Balancer = "nginx" // nginx, an upstream of the replicas with keepalive
)

// Balancers lists every balancer.
var Balancers = []Balancer{BalancerNone, BalancerNginx}

// MaxReplicas bounds services.notification.replicas.
const MaxReplicas = 64

// Reaction is the reaction service.
type Reaction struct {
	// WriteCost is added to every write to the store, standing for a
	// database. >= 0. Default: 0s.
	WriteCost Duration `yaml:"write_cost"`
	// Timeout bounds the sync pattern's call to the notification service.
	// > 0. Default: 2s.
	Timeout Duration `yaml:"timeout"`
}

// Kafka is the topic the async and hybrid patterns produce to.
type Kafka struct {
	// Partitions of the reactions topic. >= 1. Default: 8.
	Partitions int `yaml:"partitions"`
	// ReplicationFactor of the run's topics: copies of each partition on
	// distinct brokers. 1 to 32767; 0 or unset means the cluster's default
	// (1 on a local or embedded broker). More than 1 needs an external
	// cluster with at least that many brokers (docker-compose.bench.yml's
	// cluster profile has 3).
	ReplicationFactor int `yaml:"replication_factor"`
	// Groups are the consumer groups reading the reactions topic (async
	// and hybrid): fan-out. The first is the notification service, whose
	// ledger is reconciled; each other one is one more notification
	// process in its own group, with its own provider and ledger, standing
	// for another service reacting to the same event (analytics, search).
	// Lower-case names, unique, 1 to 16. Default: [notification].
	Groups []string `yaml:"groups"`
}

// MaxGroups bounds services.kafka.groups.
const MaxGroups = 16

// HybridKnobs are the hybrid pattern's knobs.
type HybridKnobs struct {
	// Budget is the deadline of the sync try; past it, or on an error or
	// an open breaker, the reaction goes to Kafka. > 0. Default: 50ms.
	Budget Duration `yaml:"budget"`
}

// Fault is a scheduled fault: from At, for For, Kind happens to Target.
type Fault struct {
	// At is when the fault starts, from the start of the first stage.
	// >= 0. Default: 0s.
	At Duration `yaml:"at"`
	// For is how long it lasts; at+for must be within the stages. For
	// kill and restart it is how long the process stays down. Required, > 0.
	For Duration `yaml:"for"`
	// Target is what the fault hits: provider, notification, broker or
	// network. Required.
	Target Target `yaml:"target"`
	// Kind is what happens; which kinds apply depends on Target (see
	// [FaultKinds]). Required.
	Kind FaultKind `yaml:"kind"`
	// Factor multiplies the provider's latency, for kind slowdown only.
	// > 1. Default: 5.
	Factor float64 `yaml:"factor"`
	// Delay is added to every call or packet, for kind latency only.
	// > 0. Default: 100ms.
	Delay Duration `yaml:"delay"`
	// Link is the connection a network fault hits, for target network
	// only: reaction-notification, reaction-broker or notification-broker.
	// Default: reaction-notification.
	Link Link `yaml:"link"`
}

// Target is what a fault hits.
type Target string

// The fault targets.
const (
	TargetProvider     Target = "provider"     // the simulated provider, through its admin endpoint
	TargetNotification Target = "notification" // the notification service's process
	TargetBroker       Target = "broker"       // the Kafka broker's process
	TargetNetwork      Target = "network"      // a connection between two processes
)

// FaultKind is what a fault does.
type FaultKind string

// The fault kinds.
const (
	KindOutage    FaultKind = "outage"    // every call fails
	KindSlowdown  FaultKind = "slowdown"  // latency multiplied by Factor
	KindLatency   FaultKind = "latency"   // Delay added to every call or packet
	KindKill      FaultKind = "kill"      // SIGKILL, started again after For
	KindPause     FaultKind = "pause"     // SIGSTOP, SIGCONT after For
	KindRestart   FaultKind = "restart"   // SIGTERM (graceful), started again after For
	KindBlackhole FaultKind = "blackhole" // packets dropped, connections hang
	KindReset     FaultKind = "reset"     // connections reset
)

// FaultKinds lists, for each target, the kinds of fault it takes.
var FaultKinds = map[Target][]FaultKind{
	TargetProvider:     {KindOutage, KindSlowdown, KindLatency},
	TargetNotification: {KindKill, KindPause, KindRestart},
	TargetBroker:       {KindKill, KindPause, KindRestart},
	TargetNetwork:      {KindLatency, KindBlackhole, KindReset},
}

// Link is a connection between two processes of a run.
type Link string

// The links a network fault may hit.
const (
	LinkReactionNotification Link = "reaction-notification" // the sync and hybrid HTTP call
	LinkReactionBroker       Link = "reaction-broker"       // the async and hybrid produce
	LinkNotificationBroker   Link = "notification-broker"   // the consumer group
)

// Links lists every link.
var Links = []Link{LinkReactionNotification, LinkReactionBroker, LinkNotificationBroker}

// Attack tunes the load generator (Vegeta's attacker).
type Attack struct {
	// Timeout is the most one request may take before it counts as a
	// timeout drop. > 0. Default: 5s.
	Timeout Duration `yaml:"timeout"`
	// Workers is how many workers the attacker starts with. >= 1. Default: 64.
	Workers int `yaml:"workers"`
	// MaxWorkers caps the workers the attacker adds when the target is
	// slow; past it, the generator falls behind and says so. >= workers.
	// Default: 4096.
	MaxWorkers int `yaml:"max_workers"`
	// Connections caps the idle connections kept per host. >= 1. Default: 10000.
	Connections int `yaml:"connections"`
	// KeepAlive reuses connections. Default: true.
	KeepAlive bool `yaml:"keepalive"`
}

// Drain is the wait after the stages for the backlog: lag 0 and every
// accepted reaction delivered.
type Drain struct {
	// Timeout is the longest wait. > 0. Default: 2m.
	Timeout Duration `yaml:"timeout"`
}

// Gate holds the thresholds of `commbench gate`, comparing a run with a
// baseline, or a head build with a base build side by side. A p99 regresses
// when it is higher by more than max(P99Tolerance × base, P99Floor) (the
// effect floor) and, side by side, the difference is significant at Alpha.
type Gate struct {
	// P99Tolerance is how much higher the p99 of API latency and of
	// time-to-notify may be than the base's, as a fraction: 0.1 allows 10%
	// more. >= 0. Default: 0.1.
	P99Tolerance float64 `yaml:"p99_tolerance"`
	// P99Floor is a p99 increase always allowed, so that noise on tiny
	// latencies does not fail the gate. >= 0. Default: 2ms.
	P99Floor Duration `yaml:"p99_floor"`
	// DropTolerance is how much higher the fraction of dropped (or
	// dead-lettered) requests may be than the base's, in [0, 1]. Default:
	// 0.005 (half a point).
	DropTolerance float64 `yaml:"drop_tolerance"`
	// Alpha is the significance level of the side-by-side gate's tests, in
	// (0, 1). Default: 0.05.
	Alpha float64 `yaml:"alpha"`
}

// The gate's defaults: one set, the same in profiles, flags, docs/gate.md and help.
const (
	DefaultGateP99Tolerance  = 0.1
	DefaultGateP99Floor      = Duration(2 * time.Millisecond)
	DefaultGateDropTolerance = 0.005
	DefaultGateAlpha         = 0.05
)

// Validity holds the thresholds that mark a second machine-bound or
// generator-bound, and a pattern not ok. Defaults: validity's.
type Validity struct {
	// HostBusy: a second is machine-bound when the host's busy cores are
	// at least this fraction of its cores, in (0, 1]. Default: 0.90.
	HostBusy float64 `yaml:"host_busy"`
	// LateBy: a send later than this after its intended time is late.
	// > 0. Default: 1ms.
	LateBy Duration `yaml:"late_by"`
	// LateFraction: a second is generator-bound when more than this
	// fraction of its sends were late, in [0, 1). Default: 0.01.
	LateFraction float64 `yaml:"late_fraction"`
	// BoundFraction: a pattern is not ok when more than this fraction of
	// its attack seconds were bound, in [0, 1). Default: 0.05.
	BoundFraction float64 `yaml:"bound_fraction"`
}

// Thresholds are v as the validity package takes them.
func (v Validity) Thresholds() validity.Thresholds {
	return validity.Thresholds{HostBusy: v.HostBusy, LateBy: v.LateBy.Std(), LateFraction: v.LateFraction, BoundFraction: v.BoundFraction}.WithDefaults()
}

// defaults returns a Profile holding every default that does not depend on
// other fields. Parse decodes the file over it.
func defaults() Profile {
	return Profile{
		Warmup: Warmup{For: Duration(5 * time.Second), Rate: 100},
		Services: Services{
			Provider: Provider{
				Latency:  Latency{P50: Duration(5 * time.Millisecond), P99: Duration(40 * time.Millisecond)},
				Capacity: 256,
			},
			Notification: Notification{
				Consumers:       4,
				Concurrency:     64,
				Retries:         10,
				RetryBackoff:    Duration(50 * time.Millisecond),
				RetryMaxBackoff: Duration(5 * time.Second),
				Replicas:        1,
			},
			Reaction: Reaction{Timeout: Duration(2 * time.Second)},
			Kafka:    Kafka{Partitions: 8, Groups: []string{"notification"}},
			Hybrid:   HybridKnobs{Budget: Duration(50 * time.Millisecond)},
			Chain:    Chain{Depth: 2, TripFailures: 5, OpenFor: Duration(5 * time.Second), Timeout: Duration(2 * time.Second)},
		},
		Attack: Attack{
			Timeout:     Duration(5 * time.Second),
			Workers:     64,
			MaxWorkers:  4096,
			Connections: 10000,
			KeepAlive:   true,
		},
		Drain: Drain{Timeout: Duration(2 * time.Minute)},
		Gate:  Gate{P99Tolerance: DefaultGateP99Tolerance, P99Floor: DefaultGateP99Floor, DropTolerance: DefaultGateDropTolerance, Alpha: DefaultGateAlpha},
		SLO:   DefaultSLO(),
		Validity: Validity{
			HostBusy:      validity.DefaultHostBusy,
			LateBy:        Duration(validity.DefaultLateBy),
			LateFraction:  validity.DefaultLateFraction,
			BoundFraction: validity.DefaultBoundFraction,
		},
	}
}

// Defaults of fault knobs that apply to one kind or target.
const (
	DefaultFactor = 5
	DefaultDelay  = Duration(100 * time.Millisecond)
	DefaultLink   = LinkReactionNotification
)

// Duration is a time.Duration written in YAML as "20s", "5ms" or "1m30s".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses a duration with a unit; a bare 0 is accepted.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes d as a string like "1m30s".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func parseDuration(n *yaml.Node) (Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, fmt.Errorf("must be a duration like 20s, 500ms or 1m30s, not a %s", kindName(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return 0, fmt.Errorf("must be a duration with a unit, like 20s, 500ms or 1m30s; got %q", n.Value)
	}
	return Duration(v), nil
}
