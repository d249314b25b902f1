// Package pattern names the ways the reaction service can get the
// notification service to act — sync (HTTP), async (Kafka), hybrid (HTTP
// within a budget, else Kafka) — and what each implies for the rest of a
// run: whether it needs Kafka, whether it calls over HTTP, whether it has a
// chain form. The traits live in one table, so a fourth pattern is one row
// here (or a call of Register) plus its sender, receiver and provisioning.
package pattern

import (
	"errors"
	"fmt"
	"strings"
)

// Pattern is how the reaction service gets the notification service to
// notify the author. Its zero value is no pattern.
type Pattern string

// The patterns.
const (
	Sync   Pattern = "sync"   // an HTTP call; accepted only once notified
	Async  Pattern = "async"  // a Kafka message, acknowledged by the broker
	Hybrid Pattern = "hybrid" // an HTTP call within a budget, else Kafka
)

// Traits are what a pattern implies for the services and the run.
type Traits struct {
	// Kafka: the reaction service produces to Kafka (always, or as a
	// fallback), so the run needs a broker and a consumer group, and an
	// accepted reaction is safe in the broker.
	Kafka bool
	// SyncPath: the reaction service calls the notification service (or
	// its balancer, or a chain's first relay) over HTTP.
	SyncPath bool
	// Chain: the pattern has a chain form, relays of the same pattern
	// between the reaction and the notification service.
	Chain bool
	// Breaker: the reaction service always calls through a circuit
	// breaker (others may add one with --breaker).
	Breaker bool
}

// traits holds every pattern, in the order reports show them (order).
var traits = map[Pattern]Traits{
	Sync:   {SyncPath: true, Chain: true},
	Async:  {Kafka: true, Chain: true},
	Hybrid: {Kafka: true, SyncPath: true, Breaker: true},
}

// order is the default order of the patterns: the order runs and reports
// take them in.
var order = []Pattern{Sync, Async, Hybrid}

// Register adds the pattern p with traits t after the others, so that
// Parse, All, Valid and the traits know it: a pattern defined outside this
// package (a test's fake fourth pattern, a transport being tried out).
// It refuses an empty name, a name with a dot or a space (a result key is
// pattern.variant.rep) and a name already taken.
//
// Register is not safe to call concurrently with anything else here: call
// it from an init function or at the start of main, before any pattern is
// parsed — the reaction service (targets/reaction.RegisterNotifier) and the
// harness must both see the same registration.
func Register(p Pattern, t Traits) error {
	switch {
	case p == "":
		return errors.New("register a pattern: the name is empty")
	case strings.ContainsAny(string(p), ". \t\n"):
		return fmt.Errorf("register pattern %q: a name has no dot or space (results key it as pattern.variant.rep)", p)
	case p.Valid():
		return fmt.Errorf("register pattern %q: already a pattern", p)
	}
	traits[p] = t
	order = append(order, p)
	return nil
}

// All returns every pattern, in the default order. The slice is the
// caller's.
func All() []Pattern { return append([]Pattern(nil), order...) }

// Parse returns the pattern s names, or an error naming the valid ones.
func Parse(s string) (Pattern, error) {
	if p := Pattern(s); p.Valid() {
		return p, nil
	}
	return "", fmt.Errorf("unknown pattern %q: want %s", s, List())
}

// List is the valid patterns for a message: "sync, async or hybrid".
func List() string {
	names := make([]string, len(order))
	for i, p := range order {
		names[i] = string(p)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Valid reports whether p is a known pattern.
func (p Pattern) Valid() bool {
	_, ok := traits[p]
	return ok
}

// String returns the pattern's name.
func (p Pattern) String() string { return string(p) }

// Traits returns p's traits; an unknown pattern has none.
func (p Pattern) Traits() Traits { return traits[p] }

// UsesKafka reports whether the reaction service produces to Kafka: the run
// needs a broker, and an accepted reaction is safe in it.
func (p Pattern) UsesKafka() bool { return traits[p].Kafka }

// HasSyncPath reports whether the reaction service calls the notification
// service over HTTP (sync and hybrid): it needs its URL, reaches replicas
// through a balancer, and feels faults on that link.
func (p Pattern) HasSyncPath() bool { return traits[p].SyncPath }

// HasChainForm reports whether relays of this pattern can stand between the
// reaction and the notification service (sync and async; hybrid has none).
func (p Pattern) HasChainForm() bool { return traits[p].Chain }

// AlwaysBreaks reports whether the reaction service always calls through a
// circuit breaker (hybrid).
func (p Pattern) AlwaysBreaks() bool { return traits[p].Breaker }

// Chains returns the patterns with a chain form, in the default order.
func Chains() []Pattern {
	var out []Pattern
	for _, p := range order {
		if p.HasChainForm() {
			out = append(out, p)
		}
	}
	return out
}
