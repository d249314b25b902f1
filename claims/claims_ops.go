package claims

import (
	"fmt"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// The claims about operating either: the broker as a single point of
// failure, tracing, a load balancer's hop and fan-out.

// brokerSPOF: only when a broker fault (pause, kill, restart) ran during
// async. Over the fault's seconds plus RestartSlack, it holds when async
// dropped more than 1% (or lost anything); it does not hold when async
// dropped at most 0.1% and lost nothing; mixed between. Hybrid's drops in
// its own window and its sync-path acceptances there are the evidence of
// the way around it.
func brokerSPOF(in *run) verdict {
	ps, v, ok := needs(in, "async")
	if !ok {
		return v
	}
	p := ps["async"]
	ws := in.faults(p, target("broker"))
	if len(ws) == 0 {
		return notExercised("No broker fault ran in this profile (broker kill and restart need --broker local).")
	}
	at := count(p.Series, seconds(p.Series, ws, RestartSlack))
	n := map[string]float64{"broker_down_s": span(ws), "async_window_requests": at.sent, "async_window_drop_ratio": at.ratio(), "async_lost": float64(p.Summary.Lost)}
	also := ""
	if _, h := in.aside("hybrid"); h != nil {
		if hws := in.faults(h, target("broker")); len(hws) > 0 {
			idx := seconds(h.Series, hws, RestartSlack)
			ht := count(h.Series, idx)
			var viaSync int64
			for _, i := range idx {
				if i < len(h.Series.PathSync) {
					viaSync += h.Series.PathSync[i]
				}
			}
			n["hybrid_window_drop_ratio"], n["hybrid_window_sync_path"] = ht.ratio(), float64(viaSync)
			n["hybrid_lost"] = float64(h.Summary.Lost) // and judge's loss note says it in words
			if ht.ratio() <= Failed {
				also = fmt.Sprintf(" Hybrid kept answering through its sync path (%d accepted on it, %s dropped in its window): the broker is a single point of failure for pure async, not for a design with a way around it.", viaSync, pct(ht.ratio()))
			} else {
				also = fmt.Sprintf(" Hybrid failed too: %s dropped in its window.", pct(ht.ratio()))
			}
		}
	}
	switch {
	case at.ratio() > Failed || p.Summary.Lost > 0:
		return verdict{Holds, fmt.Sprintf("While the broker was down (%s) async failed %.0f of %.0f requests (%s) and lost %d.%s",
			window(ws), at.drops, at.sent, pct(at.ratio()), p.Summary.Lost, also), n}
	case at.ratio() <= Clean:
		return verdict{DoesNotHold, fmt.Sprintf("Async rode out the broker fault (%s): %s of %.0f requests dropped, none lost.%s", window(ws), pct(at.ratio()), at.sent, also), n}
	}
	return verdict{Mixed, fmt.Sprintf("While the broker was down (%s) async failed %s of its requests: hurt, not down.%s", window(ws), pct(at.ratio()), also), n}
}

// tracingHarder: what a run can measure of "harder" is whether a trace
// survives the broker: the share of each pattern's deliveries whose trace
// context reached the provider call (summary.traced over delivered, from
// the stamps a reaction carries in HTTP and Kafka headers), async against
// sync. commbench carries the context in Kafka headers itself: that work
// is what the claim calls harder, and no number here weighs it. It holds
// when async's share is more than 1 point below sync's (traces broke at
// the broker); it does not hold when async traced at least 99% of its
// deliveries and no less than sync less 1 point (with the context in the
// headers, async's traces were as complete); mixed otherwise (both
// incomplete). Not exercised without the hop breakdown for both patterns.
// The evidence adds how much of async's time-to-notify lies past the
// caller's answer (queue, processing and provider hops at p50), outside
// the caller's request span: the part only the propagated context finds.
func tracingHarder(in *run) verdict {
	ps, v, ok := needs(in, "sync", "async")
	if !ok {
		return v
	}
	as, ss := ps["async"].Summary, ps["sync"].Summary
	if as.Traced == 0 || ss.Traced == 0 {
		return notExercised("results.json has no hop breakdown of time-to-notify (summary.hops_ms, traced) for %s, so whether a trace survived the broker cannot be told.", map[bool]string{true: "async", false: "sync"}[as.Traced == 0])
	}
	cover := func(s results.Summary) float64 {
		if s.Delivered <= 0 {
			return 0
		}
		return min(float64(s.Traced)/float64(s.Delivered), 1)
	}
	ac, sc := cover(as), cover(ss)
	ah := as.Hops
	total := ah.API.P50 + ah.Handoff.P50 + ah.Queue.P50 + ah.Processing.P50 + ah.Provider.P50
	after := ah.Queue.P50 + ah.Processing.P50 + ah.Provider.P50
	n := map[string]float64{
		"async_traced_ratio": ac, "sync_traced_ratio": sc,
		"async_queue_p50_ms": ah.Queue.P50, "async_processing_p50_ms": ah.Processing.P50, "async_provider_p50_ms": ah.Provider.P50,
		"async_hops_p50_sum_ms": total, "sync_queue_p50_ms": ss.Hops.Queue.P50,
	}
	what := fmt.Sprintf("Async's trace context reached the provider call for %s of its deliveries, sync's for %s.", pct(ac), pct(sc))
	past := ""
	if total > 0 {
		past = fmt.Sprintf(" Past the caller's answer, outside its request span, lay %s of the %s async's hops sum to at p50 (queue: produce, time in Kafka, fetch %s; processing %s; provider %s).",
			ms(after), ms(total), ms(ah.Queue.P50), ms(ah.Processing.P50), ms(ah.Provider.P50))
	}
	const point = 0.01
	switch {
	case ac < sc-point:
		return verdict{Holds, what + " Traces broke at the broker: the context did not cross Kafka for every message." + past, n}
	case ac >= 0.99 && ac >= sc-point:
		return verdict{DoesNotHold, what + " With the context in the Kafka headers (commbench puts it there), async was traced as completely as sync: harder to build, not less complete." + past, n}
	}
	return verdict{Mixed, what + " Neither was traced completely, async no less than sync." + past, n}
}

// lbHop: only when sync ran with and without a load balancer (profile
// variants, e.g. sync.r1 direct and sync.lb through nginx) with the same
// number of replicas; otherwise the difference is not the balancer's. The
// balancer's cost is the difference of sync's API p50. commbench runs the
// balancer and the services on one machine, over loopback, where a hop
// has no network round trip, and the claim's 3–5 ms is mostly that round
// trip: what is measured is the balancer's own processing, a lower bound
// of a real hop. So the claim is not exercised when the balancer added
// less than 3 ms (the evidence says what it added); it holds when the
// processing alone added 3–5 ms, and does not hold when it added more
// than 5 ms (a network would only add to it).
func lbHop(in *run) verdict {
	var direct, lb []string
	for _, k := range in.r.Keys() {
		if patternOf(k) != "sync" {
			continue
		}
		kn, ok := in.knobsOf(k)
		switch {
		case !ok:
		case kn.balancer == "none":
			direct = append(direct, k)
		default:
			lb = append(lb, k)
		}
	}
	if len(direct) == 0 || len(lb) == 0 {
		return notExercised("Needs sync run both directly and through a load balancer (variants of the claims-scale profile); this run has %s.", strings.Join(in.r.Keys(), ", "))
	}
	var d, l string
	var lk knobs
	for _, dd := range direct {
		dk, _ := in.knobsOf(dd)
		for _, k := range lb {
			if kn, _ := in.knobsOf(k); kn.replicas == dk.replicas && l == "" {
				d, l, lk = dd, k, kn
			}
		}
	}
	if l == "" {
		return notExercised("Needs sync run directly and through a load balancer with the same number of replicas; here %s ran directly and %s through one, with other replicas, so a difference would not be the balancer's alone.", strings.Join(direct, ", "), strings.Join(lb, ", "))
	}
	ds, ls := in.get(d).Summary, in.get(l).Summary
	d50, d99 := ls.API.P50-ds.API.P50, ls.API.P99-ds.API.P99
	n := map[string]float64{"direct_api_p50_ms": ds.API.P50, "lb_api_p50_ms": ls.API.P50, "lb_added_p50_ms": d50, "lb_added_p99_ms": d99, "offered_rps": ls.OfferedRPS}
	what := fmt.Sprintf("Through %s (%s) sync's API p50 was %s against %s direct (%s): the balancer added %s at p50 and %s at p99.", lk.balancer, l, ms(ls.API.P50), ms(ds.API.P50), d, ms(d50), ms(d99))
	const loopback = " commbench runs the balancer beside the services, over loopback, where a hop has no network round trip: this is the balancer's own processing, a lower bound of a real hop."
	switch {
	case d50 < 3:
		return verdict{NotExercised, what + loopback + " The claim's 3–5 ms is mostly the network's round trip, which one machine cannot measure.", n}
	case d50 <= 5:
		return verdict{Holds, what + loopback + " Its processing alone reached the claim's 3–5 ms.", n}
	}
	return verdict{DoesNotHold, what + loopback + " Its processing alone cost more than the claim's 3–5 ms, and a network would only add to it.", n}
}

// fanoutFree: only when async ran with different numbers of consumer
// groups (variants, e.g. async.m1 and async.m3). The producer's cost is
// async's API latency, with the fewest groups against the most. It holds
// when p50 and p99 rose by at most 10% plus 1 ms; it does not hold when
// p99 rose by more than 25% plus 2 ms; mixed between. The broker's CPU
// per 1,000 reactions shows where the cost went instead.
func fanoutFree(in *run) verdict {
	type run struct {
		key    string
		groups int
	}
	var runs []run
	for _, k := range in.r.Keys() {
		if patternOf(k) != "async" {
			continue
		}
		if kn, ok := in.knobsOf(k); ok {
			runs = append(runs, run{k, kn.groups})
		}
	}
	slices.SortStableFunc(runs, func(a, b run) int { return a.groups - b.groups })
	if len(runs) < 2 || runs[0].groups == runs[len(runs)-1].groups {
		return notExercised("Needs async run with different numbers of consumer groups (variants of a fan-out profile); this run has %s.", strings.Join(in.r.Keys(), ", "))
	}
	lo, hi := runs[0], runs[len(runs)-1]
	ls, hs := in.get(lo.key).Summary, in.get(hi.key).Summary
	n := map[string]float64{
		"groups_low": float64(lo.groups), "groups_high": float64(hi.groups),
		"api_p50_ms_low": ls.API.P50, "api_p50_ms_high": hs.API.P50, "api_p99_ms_low": ls.API.P99, "api_p99_ms_high": hs.API.P99,
		"broker_cpu_s_per_1k_low": ls.CPUSecondsPer1k["broker"], "broker_cpu_s_per_1k_high": hs.CPUSecondsPer1k["broker"],
	}
	cost := fmt.Sprintf(" The broker's CPU per 1,000 reactions went from %.2f to %.2f s.", ls.CPUSecondsPer1k["broker"], hs.CPUSecondsPer1k["broker"])
	switch {
	case hs.API.P50 <= 1.1*ls.API.P50+1 && hs.API.P99 <= 1.1*ls.API.P99+1:
		return verdict{Holds, fmt.Sprintf("With %d consumer groups instead of %d the producer's API latency stayed put: p50 %s vs %s, p99 %s vs %s.%s",
			hi.groups, lo.groups, ms(hs.API.P50), ms(ls.API.P50), ms(hs.API.P99), ms(ls.API.P99), cost), n}
	case hs.API.P99 > 1.25*ls.API.P99+2:
		return verdict{DoesNotHold, fmt.Sprintf("With %d consumer groups instead of %d the producer's API p99 rose from %s to %s (p50 %s to %s): on one machine the extra consumers compete with the producer for the CPU and the broker.%s",
			hi.groups, lo.groups, ms(ls.API.P99), ms(hs.API.P99), ms(ls.API.P50), ms(hs.API.P50), cost), n}
	}
	return verdict{Mixed, fmt.Sprintf("With %d consumer groups instead of %d the producer's API latency moved a little: p50 %s to %s, p99 %s to %s.%s",
		hi.groups, lo.groups, ms(ls.API.P50), ms(hs.API.P50), ms(ls.API.P99), ms(hs.API.P99), cost), n}
}
