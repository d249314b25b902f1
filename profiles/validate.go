package profiles

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/commbench/commbench/pattern"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// validate checks every rule of a profile whose defaults are filled in.
// root, when not nil, tells which fields were written in the file.
func (l *errorList) validate(p *Profile, root *yaml.Node) {
	written := func(p ...any) bool { return root != nil && has(root, p...) }

	if !nameRE.MatchString(p.Name) {
		l.addf(path{"name"}, "must be lower-case letters, digits and dashes (it names the run folder), got %q", p.Name)
	}

	if len(p.Patterns) == 0 {
		l.addf(path{"patterns"}, "must name at least one of %s, or be left out for all three", patternList())
	}
	for i, pat := range p.Patterns {
		switch {
		case !pat.Valid():
			l.addf(path{"patterns", i}, "unknown pattern %q; use %s", pat, patternList())
		case slices.Contains(p.Patterns[:i], pat):
			l.addf(path{"patterns", i}, "%q is listed twice; list each pattern once (use --repeat to run it again)", pat)
		}
	}

	if len(p.Stages) == 0 {
		l.addf(path{"stages"}, "a profile needs at least one stage, like stages: [{for: 30s, rate: 100}]")
	}
	var (
		total time.Duration
		hits  float64
	)
	for i, st := range p.Stages {
		at := path{"stages", i}
		if st.For <= 0 {
			l.addf(at.add("for"), "a stage must last more than 0, got %s", st.For)
		}
		l.rate(at.add("rate"), st.Rate)
		if st.To != st.Rate { // else the rate's error says it all
			l.rate(at.add("to"), st.To)
		}
		if st.For > 0 {
			total += st.For.Std()
		}
		if st.For > 0 && st.Rate >= 0 && st.To >= 0 {
			hits += stageHits(st.For.Std(), st.Rate, st.To)
		}
	}
	if len(p.Stages) > 0 && floorHits(hits) == 0 && !l.any("stages") {
		l.addf(path{"stages"}, "the stages send no request; give at least one stage a rate > 0")
	}

	if p.Warmup.For < 0 {
		l.addf(path{"warmup", "for"}, "must be >= 0 (0s turns the warmup off), got %s", p.Warmup.For)
	}
	l.rate(path{"warmup", "rate"}, p.Warmup.Rate)

	l.services(&p.Services)
	l.variants(p)
	if !l.any("services") && !l.any("variants") {
		l.chain(p)
	}
	l.faults(p.Faults, total, written)

	a := p.Attack
	l.positive(path{"attack", "timeout"}, a.Timeout)
	l.atLeast(path{"attack", "workers"}, a.Workers, 1)
	if a.MaxWorkers < a.Workers {
		l.addf(path{"attack", "max_workers"}, "must be >= workers (%d), got %d", a.Workers, a.MaxWorkers)
	}
	l.atLeast(path{"attack", "connections"}, a.Connections, 1)

	l.positive(path{"drain", "timeout"}, p.Drain.Timeout)

	g := p.Gate
	if !(g.P99Tolerance >= 0) || math.IsInf(g.P99Tolerance, 1) {
		l.addf(path{"gate", "p99_tolerance"}, "must be a fraction >= 0 (0.25 allows a p99 25%% higher than the baseline's), got %g", g.P99Tolerance)
	}
	l.nonNegative(path{"gate", "p99_floor"}, g.P99Floor)
	l.fraction(path{"gate", "drop_tolerance"}, g.DropTolerance)
	if !(g.Alpha > 0 && g.Alpha < 1) {
		l.addf(path{"gate", "alpha"}, "must be a significance level in (0, 1), e.g. 0.05, got %g", g.Alpha)
	}

	l.slo(p.SLO, path{"slo"})

	v := p.Validity
	if !(v.HostBusy > 0 && v.HostBusy <= 1) {
		l.addf(path{"validity", "host_busy"}, "must be a fraction of the cores in (0, 1] (0.9 marks a second machine-bound at 90%% busy), got %g", v.HostBusy)
	}
	l.positive(path{"validity", "late_by"}, v.LateBy)
	for _, f := range []struct {
		name string
		v    float64
	}{{"late_fraction", v.LateFraction}, {"bound_fraction", v.BoundFraction}} {
		if !(f.v >= 0 && f.v < 1) {
			l.addf(path{"validity", f.name}, "must be a fraction in [0, 1) (0.05 is 5%%), got %g", f.v)
		}
	}
}

func (l *errorList) services(s *Services) {
	pr := s.Provider
	l.nonNegative(path{"services", "provider", "latency", "p50"}, pr.Latency.P50)
	if pr.Latency.P99 < pr.Latency.P50 {
		l.addf(path{"services", "provider", "latency", "p99"}, "must be >= p50 (%s), got %s", pr.Latency.P50, pr.Latency.P99)
	}
	l.atLeast(path{"services", "provider", "capacity"}, pr.Capacity, 1)
	l.fraction(path{"services", "provider", "error_rate"}, pr.ErrorRate)

	n := s.Notification
	l.atLeast(path{"services", "notification", "consumers"}, n.Consumers, 1)
	l.atLeast(path{"services", "notification", "concurrency"}, n.Concurrency, 1)
	l.atLeast(path{"services", "notification", "retries"}, n.Retries, 0)
	l.nonNegative(path{"services", "notification", "retry_backoff"}, n.RetryBackoff)
	if n.RetryMaxBackoff < n.RetryBackoff {
		l.addf(path{"services", "notification", "retry_max_backoff"}, "must be >= retry_backoff (%s), got %s", n.RetryBackoff, n.RetryMaxBackoff)
	}

	l.nonNegative(path{"services", "reaction", "write_cost"}, s.Reaction.WriteCost)
	l.positive(path{"services", "reaction", "timeout"}, s.Reaction.Timeout)
	l.atLeast(path{"services", "kafka", "partitions"}, s.Kafka.Partitions, 1)
	l.atLeast(path{"services", "kafka", "replication_factor"}, s.Kafka.ReplicationFactor, 0)
	if s.Kafka.ReplicationFactor > 32767 {
		l.addf(path{"services", "kafka", "replication_factor"}, "must be <= 32767, got %d", s.Kafka.ReplicationFactor)
	}
	l.positive(path{"services", "hybrid", "budget"}, s.Hybrid.Budget)
	l.replicas(path{"services", "notification"}, n.Replicas, n.LB())
	l.groups(path{"services", "kafka", "groups"}, s.Kafka.Groups, false)

	c := s.Chain
	if c.Depth < 2 || c.Depth > MaxChainDepth {
		l.addf(path{"services", "chain", "depth"}, "must be 2 (no chain: reaction → notification) to %d services, got %d", MaxChainDepth, c.Depth)
	}
	l.atLeast(path{"services", "chain", "trip_failures"}, c.TripFailures, 1)
	l.positive(path{"services", "chain", "open_for"}, c.OpenFor)
	l.positive(path{"services", "chain", "timeout"}, c.Timeout)
}

// chain checks what a chain cannot be combined with, for the patterns and
// knobs each variant runs.
func (l *errorList) chain(p *Profile) {
	variants := p.Variants
	if len(variants) == 0 {
		variants = []Variant{{}}
	}
	for i, v := range variants {
		q := p.Apply(v)
		if q.Services.Chain.Depth <= 2 || l.any("services") {
			continue
		}
		at := path{"services", "chain", "depth"}
		if len(p.Variants) > 0 {
			at = path{"variants", i}
		}
		n := q.Services.Notification
		switch {
		case unchained(p, v) != "":
			l.addf(at, "a chain (services.chain.depth %d) runs %s; %s has no chain form: drop it from patterns", q.Services.Chain.Depth, joinAnd(pattern.Chains()), unchained(p, v))
		case n.Replicas > 1:
			l.addf(at, "a chain ends in one notification process; set services.notification.replicas to 1 (scale-out and chains are separate experiments)")
		case len(q.Services.Kafka.Groups) > 1:
			l.addf(at, "a chain has one consumer group per hop; list one group in services.kafka.groups (fan-out and chains are separate experiments)")
		}
	}
}

func (l *errorList) replicas(at path, replicas int, b Balancer) {
	if replicas < 1 || replicas > MaxReplicas {
		l.addf(at.add("replicas"), "must be 1 to %d notification processes, got %d", MaxReplicas, replicas)
	}
	switch {
	case !slices.Contains(Balancers, b):
		l.addf(at.add("balancer"), "unknown balancer %q; use %s", b, quoteList(Balancers))
	case b == BalancerNone && replicas > 1:
		l.addf(at.add("balancer"), "%d replicas need a load balancer in front of them; use nginx (or replicas: 1)", replicas)
	}
}

// groups checks a list of consumer groups; in a variant, empty means the
// profile's.
func (l *errorList) groups(at path, groups []string, mayBeEmpty bool) {
	if len(groups) == 0 && !mayBeEmpty {
		l.addf(at, "needs at least one consumer group, the notification service's: [notification]")
	}
	if len(groups) > MaxGroups {
		l.addf(at, "at most %d consumer groups, got %d", MaxGroups, len(groups))
	}
	for i, g := range groups {
		switch {
		case !nameRE.MatchString(g):
			l.addf(at.add(i), "must be lower-case letters, digits and dashes (it names a consumer group and a process), got %q", g)
		case slices.Contains(groups[:i], g):
			l.addf(at.add(i), "%q is listed twice; each group reads every message once, so list it once", g)
		}
	}
}

// variants checks each variant, and the services as each variant makes
// them.
func (l *errorList) variants(p *Profile) {
	for i, v := range p.Variants {
		at := path{"variants", i}
		switch {
		case v.Name == "":
			l.addf(at.add("name"), "missing; a variant needs a name, which keys its results (sync.<name>)")
		case !nameRE.MatchString(v.Name):
			l.addf(at.add("name"), "must be lower-case letters, digits and dashes, got %q", v.Name)
		case slices.ContainsFunc(p.Variants[:i], func(w Variant) bool { return w.Name == v.Name }):
			l.addf(at.add("name"), "%q is used twice; name each variant once", v.Name)
		}
		switch {
		case v.Replicas < 0 || v.Replicas > MaxReplicas:
			l.addf(at.add("replicas"), "must be 1 to %d notification processes (or left out for the profile's), got %d", MaxReplicas, v.Replicas)
		case v.Balancer != "" && !slices.Contains(Balancers, v.Balancer):
			l.addf(at.add("balancer"), "unknown balancer %q; use %s", v.Balancer, quoteList(Balancers))
		default:
			if n := p.Apply(v).Services.Notification; n.LB() == BalancerNone && n.Replicas > 1 {
				l.addf(at.add("balancer"), "%d replicas need a load balancer in front of them; use nginx (or replicas: 1)", n.Replicas)
			}
		}
		l.groups(at.add("groups"), v.Groups, true)
		for j, pt := range v.Patterns {
			switch {
			case !slices.Contains(p.Patterns, pt):
				l.addf(at.add("patterns", j), "%q is not one of the profile's patterns (%s)", pt, quoteList(p.Patterns))
			case slices.Contains(v.Patterns[:j], pt):
				l.addf(at.add("patterns", j), "%q is listed twice", pt)
			}
		}
	}
}

func (l *errorList) faults(faults []Fault, total time.Duration, written func(...any) bool) {
	for i, f := range faults {
		at := path{"faults", i}
		kinds, ok := FaultKinds[f.Target]
		switch {
		case f.Target == "":
			l.addf(at.add("target"), "missing; say what the fault hits: %s", targetList())
		case !ok:
			l.addf(at.add("target"), "unknown target %q; use %s", f.Target, targetList())
		case f.Kind == "":
			l.addf(at.add("kind"), "missing; a %s fault is one of %s", f.Target, kindList(kinds))
		case !slices.Contains(kinds, f.Kind):
			l.addf(at.add("kind"), "a %s fault cannot be %q; use %s", f.Target, f.Kind, kindList(kinds))
		}
		if f.At < 0 {
			l.addf(at.add("at"), "must be >= 0 (from the start of the first stage), got %s", f.At)
		}
		if f.For <= 0 {
			l.addf(at.add("for"), "a fault must last more than 0, got %s", f.For)
		}
		if f.At >= 0 && f.For > 0 && f.At.Std()+f.For.Std() > total {
			l.addf(at.add("for"), "the fault ends at %s (at %s + for %s), after the stages end at %s; start it earlier or shorten it",
				f.At.Std()+f.For.Std(), f.At, f.For, total)
		}

		if f.Kind == KindSlowdown {
			if !(f.Factor > 1) || math.IsInf(f.Factor, 1) {
				l.addf(at.add("factor"), "must be a number > 1 (the provider's latency is multiplied by it), got %g", f.Factor)
			}
		} else if written("faults", i, "factor") {
			l.addf(at.add("factor"), "applies only to kind slowdown; remove it")
		}
		if f.Kind == KindLatency {
			l.positive(at.add("delay"), f.Delay)
		} else if written("faults", i, "delay") {
			l.addf(at.add("delay"), "applies only to kind latency; remove it")
		}
		if f.Target == TargetNetwork {
			if !slices.Contains(Links, f.Link) {
				l.addf(at.add("link"), "unknown link %q; use %s", f.Link, quoteList(Links))
			}
		} else if written("faults", i, "link") {
			l.addf(at.add("link"), "applies only to target network; remove it")
		}

		// Two faults on one target at once would fight over its switch.
		for j, g := range faults[:i] {
			if g.Target == f.Target && f.At < g.At+g.For && g.At < f.At+f.For {
				l.addf(at.add("at"), "overlaps faults[%d] (%s–%s) on the same target %s; move one of them", j, g.At, g.At+g.For, f.Target)
				break
			}
		}
	}
}

// any reports whether a problem was already found under the top-level key.
func (l *errorList) any(key string) bool {
	for _, pr := range *l {
		if len(pr.at) > 0 && pr.at[0] == key {
			return true
		}
	}
	return false
}

func (l *errorList) rate(at path, r float64) {
	if !(r >= 0) || math.IsInf(r, 1) {
		l.addf(at, "must be >= 0 (requests per second), got %g", r)
	}
}

func (l *errorList) fraction(at path, f float64) {
	if !(f >= 0 && f <= 1) {
		l.addf(at, "must be a fraction in [0, 1] (0.01 is 1%%), got %g", f)
	}
}

func (l *errorList) positive(at path, d Duration) {
	if d <= 0 {
		l.addf(at, "must be more than 0, got %s", d)
	}
}

func (l *errorList) nonNegative(at path, d Duration) {
	if d < 0 {
		l.addf(at, "must be >= 0, got %s", d)
	}
}

func (l *errorList) atLeast(at path, v, least int) {
	if v < least {
		l.addf(at, "must be >= %d, got %d", least, v)
	}
}

func patternList() string { return quoteList(pattern.All()) }

// unchained is the first of p's patterns that v runs and that has no chain
// form, or "".
func unchained(p *Profile, v Variant) pattern.Pattern {
	for _, pt := range p.Patterns {
		if v.Runs(pt) && !pt.HasChainForm() {
			return pt
		}
	}
	return ""
}

// joinAnd lists patterns as "sync and async".
func joinAnd(ps []pattern.Pattern) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func targetList() string {
	return quoteList([]Target{TargetProvider, TargetNotification, TargetBroker, TargetNetwork})
}

func kindList(kinds []FaultKind) string { return quoteList(kinds) }

// quoteList writes "a, b or c".
func quoteList[T ~string](items []T) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = string(it)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return fmt.Sprintf("%s or %s", strings.Join(s[:len(s)-1], ", "), s[len(s)-1])
}

// stageHits is the integral of a rate going linearly from from to to per
// second over d, computed as loadgen's pacer does (ns·(from+to)/2e9) so
// that the plan's count is the count the pacer sends.
func stageHits(d time.Duration, from, to float64) float64 {
	return float64(d) * (from + to) / 2e9
}

// floorHits is the number of whole requests in an integral; the allowance
// matches loadgen's pacer.
func floorHits(h float64) uint64 { return uint64(math.Floor(h + 1e-9)) }
