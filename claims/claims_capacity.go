package claims

import (
	"fmt"
	"math"
	"slices"

	"github.com/commbench/commbench/results"
)

// Tolerance of "sync's capacity is bounded by its downstream's": within
// this fraction of the modelled rate.
const DownstreamTolerance = 0.20

// capacityRules are the claims a capacity run decides (commbench capacity).
var capacityRules = []struct {
	id, claim string
	eval      func(r *results.Results) verdict
}{
	{"async-api-capacity-exceeds-sync", "Async's API capacity exceeds sync's: the callers of a queue can send more before the SLO breaks.", apiCapacityExceeds},
	{"sync-capacity-bounded-by-downstream", "Sync's capacity is bounded by its downstream's: what the provider serves, less the SLO's headroom.", syncBoundedByDownstream},
}

// EvaluateCapacity decides the capacity claims from a capacity run's
// results (results.json's capacity), one Claim per rule.
func EvaluateCapacity(r *results.Results) []results.Claim {
	out := make([]results.Claim, 0, len(capacityRules))
	for _, rl := range capacityRules {
		v := rl.eval(r)
		for k, x := range v.numbers {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				delete(v.numbers, k)
				continue
			}
			v.numbers[k] = round(x)
		}
		out = append(out, results.Claim{ID: rl.id, Claim: rl.claim, Verdict: v.verdict, Evidence: v.evidence, Numbers: v.numbers})
	}
	return out
}

// CapacityOrder is the patterns of a capacity run: sync, async, hybrid,
// then any other by name.
func CapacityOrder(r *results.Results) []string {
	var out, rest []string
	for _, n := range []string{"sync", "async", "hybrid"} {
		if r.Capacity[n] != nil {
			out = append(out, n)
		}
	}
	for n := range r.Capacity {
		if !slices.Contains(out, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// apiCapacityExceeds: async's API alone held a rate above the lowest at
// which sync broke the SLO. A search the machine ended counts for what it
// held, never for what it did not reach.
func apiCapacityExceeds(r *results.Results) verdict {
	s, a := r.Capacity["sync"], r.Capacity["async"]
	if s == nil || a == nil {
		return notExercised("Needs the capacity of sync and of async; this run searched %v.", CapacityOrder(r))
	}
	n := map[string]float64{"sync_rps": s.RPS, "sync_upper_rps": s.UpperRPS, "async_api_rps": a.API.RPS, "async_api_lower_rps": a.API.LowerRPS}
	if s.Limit != results.LimitSLO {
		return verdict{Inconclusive, fmt.Sprintf("Sync has no capacity to compare with: %s.", s.DecidedBy), n}
	}
	held, syncHi := a.API.LowerRPS, s.UpperRPS
	switch {
	case held > syncHi:
		ev := fmt.Sprintf("Async's API held the SLO's API terms up to %.0f rps, above %.0f rps where sync broke it (sync's capacity %.0f rps, decided by %s).", held, syncHi, s.RPS, s.DecidedBy)
		if a.API.Limit == results.LimitSLO {
			ev += fmt.Sprintf(" Async's API capacity: %.0f rps (%s), %.1f× sync's.", a.API.RPS, a.API.DecidedBy, a.API.RPS/s.RPS)
		} else {
			ev += fmt.Sprintf(" Its search stopped before its own limit: %s.", a.API.DecidedBy)
		}
		return verdict{Holds, ev, n}
	case a.API.Limit == results.LimitSLO && a.API.UpperRPS > 0 && a.API.UpperRPS <= syncHi:
		return verdict{DoesNotHold, fmt.Sprintf("Async's API broke the SLO at %.0f rps (%s), no higher than sync at %.0f rps (%s).", a.API.UpperRPS, a.API.DecidedBy, syncHi, s.DecidedBy), n}
	}
	return verdict{Inconclusive, fmt.Sprintf("Async's API held up to %.0f rps, not above %.0f rps where sync broke, and then: %s. A step above %.0f rps that the machine does not bind would decide it.", held, syncHi, a.API.DecidedBy, syncHi), n}
}

// syncBoundedByDownstream: sync's capacity within 20% of the provider's
// modelled throughput less the SLO's headroom (sloRate).
func syncBoundedByDownstream(r *results.Results) verdict {
	s := r.Capacity["sync"]
	if s == nil {
		return notExercised("Needs the capacity of sync; this run searched %v.", CapacityOrder(r))
	}
	prof := parseProfile(r.Run)
	if prof == nil || r.SLO == nil {
		return notExercised("The profile as it ran (run.profile_yaml) or the SLO is missing: nothing to model the provider from.")
	}
	pv := prof.Services.Provider
	model := DownstreamModel(pv.Capacity, pv.Latency.P50.Std().Seconds(), pv.Latency.P99.Std().Seconds(), r.SLO.APIP99Ms/1000)
	n := map[string]float64{"sync_rps": s.RPS, "provider_rps": model.Throughput, "expected_rps": model.Expected, "headroom_rps": model.Throughput - model.Expected}
	if s.Limit != results.LimitSLO {
		return verdict{Inconclusive, fmt.Sprintf("Sync has no capacity to compare with the provider's ~%.0f/s: %s.", model.Expected, s.DecidedBy), n}
	}
	off := (s.RPS - model.Expected) / model.Expected
	n["off"] = off
	ev := fmt.Sprintf("Sync's capacity is %.0f rps (%s); %s, %+.0f%% off.", s.RPS, s.DecidedBy, model, 100*off)
	if math.Abs(off) <= DownstreamTolerance {
		return verdict{Holds, ev, n}
	}
	if off < 0 {
		ev += " Something else binds first: the reaction service, the HTTP hop, or the machine."
	} else {
		ev += " The model's headroom is too cautious for this provider."
	}
	return verdict{DoesNotHold, ev, n}
}
