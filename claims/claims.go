package claims

import (
	"fmt"
	"math"
	"strings"

	"github.com/commbench/commbench/results"
)

// The verdicts.
const (
	Holds        = "holds"
	DoesNotHold  = "does not hold"
	Mixed        = "mixed"
	NotExercised = "not exercised"
	// Inconclusive: the numbers the rule read were set by the machine,
	// not the pattern (bound seconds, a pattern that is not ok), or the
	// run was partial; the evidence says why and what they would say.
	Inconclusive = "inconclusive"
)

// Verdicts lists every verdict.
var Verdicts = []string{Holds, DoesNotHold, Mixed, Inconclusive, NotExercised}

// rule is one claim and how this run decides it.
type rule struct {
	id, claim string
	eval      func(in *run) verdict
	// worseOnly: every term of the rule's "holds" is one that contention
	// (a busy or stolen machine, a late generator) can only make worse,
	// never better: no drops, no loss, a backlog that drains within the
	// timeout. Its "holds" read from a pattern whole then stands with bound
	// seconds, and says so; its "does not hold" does not.
	worseOnly bool
}

// verdict is what a rule found.
type verdict struct {
	verdict  string
	evidence string
	numbers  map[string]float64
}

func notExercised(format string, args ...any) verdict {
	return verdict{verdict: NotExercised, evidence: fmt.Sprintf(format, args...)}
}

// Rules lists the claims in the order Evaluate returns them, as id and
// statement.
func Rules() [][2]string {
	var out [][2]string
	for _, r := range rules {
		out = append(out, [2]string{r.id, r.claim})
	}
	return out
}

var rules = []rule{
	{"sync-blocks-caller", "Sync blocks the caller: the user waits for the whole downstream call.", blocksCaller, false},
	{"sync-provision-for-peak", "Sync must be provisioned for peak load.", provisionForPeak, false},
	{"sync-cascades", "A failure cascades along a chain of sync calls unless circuit breakers stop it.", cascades, false},
	{"sync-couples-deployments", "Sync couples deployments: a planned downtime downstream fails upstream.", couplesDeployments, false},
	// No drops, no loss, a backlog that drains: contention only adds to each.
	{"async-absorbs-surge", "Async absorbs a surge with no drops and no data loss while consumers catch up.", absorbsSurge, true},
	{"async-retries-dead-letters", "Async retries for free and dead-letters what keeps failing.", retriesDeadLetters, false},
	{"async-eventual-consistency", "Async delays notifications (eventual consistency).", eventualConsistency, false},
	{"broker-spof", "The broker is a single point of failure.", brokerSPOF, false},
	{"tracing-harder", "Tracing gets harder with async.", tracingHarder, false},
	{"lb-hop-3-5ms", "Adding a load balancer adds a hop of 3–5 ms.", lbHop, false},
	{"fanout-free-for-producer", "When several services react to the same event, async lets you add consumers at no cost to the producer.", fanoutFree, false},
}

// Evaluate checks every claim against r and returns one Claim per rule, in
// the order of [Rules]; a capacity run's (r.Capacity) are its own, those
// of [EvaluateCapacity]. It reads r only.
func Evaluate(r *results.Results) []results.Claim {
	if r.Capacity != nil || r.SLO != nil {
		return EvaluateCapacity(r)
	}
	in := &run{r: r, prof: parseProfile(r.Run)}
	out := make([]results.Claim, 0, len(rules))
	for _, rl := range rules {
		v := in.decide(rl)
		for k, x := range v.numbers {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				delete(v.numbers, k) // JSON has no room for them
				continue
			}
			v.numbers[k] = round(x)
		}
		out = append(out, results.Claim{ID: rl.id, Claim: rl.claim, Verdict: v.verdict, Evidence: v.evidence, Numbers: v.numbers})
	}
	return out
}

// needs returns the results of the named patterns, or a not-exercised
// verdict naming the missing ones.
func needs(in *run, names ...string) (map[string]*results.Pattern, verdict, bool) {
	ps := map[string]*results.Pattern{}
	var missing []string
	for _, n := range names {
		if _, p := in.pattern(n); p != nil {
			ps[n] = p
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, notExercised("Needs the %s pattern(s); this run has %s.", strings.Join(missing, " and "), strings.Join(in.r.Keys(), ", ")), false
	}
	return ps, verdict{}, true
}

// which says which results stood for the named patterns when they were not
// the plain ones (variants: "sync.direct and async.r1"), as a sentence to
// append to the evidence; "" otherwise.
func which(in *run, names ...string) string {
	var keys []string
	plain := true
	for _, n := range names {
		k, _ := in.pattern(n)
		keys = append(keys, k)
		plain = plain && k == n
	}
	if plain {
		return ""
	}
	return " (Compared: " + strings.Join(keys, " and ") + ".)"
}

// with appends which's sentence to v's evidence.
func (v verdict) with(note string) verdict {
	v.evidence += note
	return v
}

func noSurge(whose string, lo, hi float64) verdict {
	if hi <= 0 {
		return notExercised("No surge: results.json has no offered rate per second to find one in.")
	}
	return notExercised("No surge: %sthe offered rate stayed between %.0f and %.0f rps (a surge needs its peak at twice its lowest).", whose, lo, hi)
}
