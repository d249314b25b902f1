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
	if _, h := in.pattern("hybrid"); h != nil {
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

// tracingHarder: only when results.json has the hop breakdown of
// time-to-notify (summary.hops_ms, summary.traced) for async. A caller's
// request span ends at the handoff (async answers once Kafka acknowledged
// the produce); what follows (queue, processing, provider) is only found
// through the trace context the Kafka headers carry. It holds when async's
// queue hop p50 is more than twice sync's and queue, processing and
// provider make more than half of async's summed hop p50s: most of the
// story lies past the broker. It does not hold when both patterns traced
// at least 99% of their deliveries and async's queue p50 is at most 1.5x
// sync's. Mixed otherwise. Without sync's hops, sync's queue counts as 0.
func tracingHarder(in *run) verdict {
	_, a := in.pattern("async")
	if a == nil {
		return notExercised("Needs the async pattern; this run has %s.", strings.Join(in.r.Keys(), ", "))
	}
	as := a.Summary
	if as.Traced == 0 {
		return notExercised("results.json has no hop breakdown of time-to-notify (summary.hops_ms, traced) for async.")
	}
	ah := as.Hops
	total := ah.API.P50 + ah.Handoff.P50 + ah.Queue.P50 + ah.Processing.P50 + ah.Provider.P50
	after := ah.Queue.P50 + ah.Processing.P50 + ah.Provider.P50
	cover := func(s results.Summary) float64 {
		if s.Delivered <= 0 {
			return 0
		}
		return min(float64(s.Traced)/float64(s.Delivered), 1)
	}
	n := map[string]float64{
		"async_queue_p50_ms": ah.Queue.P50, "async_processing_p50_ms": ah.Processing.P50, "async_provider_p50_ms": ah.Provider.P50,
		"async_hops_p50_sum_ms": total, "async_traced_ratio": cover(as),
	}
	syncQ, syncCover, syncTxt := 0.0, 1.0, ""
	if _, s := in.pattern("sync"); s != nil && s.Summary.Traced > 0 {
		syncQ, syncCover = s.Summary.Hops.Queue.P50, cover(s.Summary)
		n["sync_queue_p50_ms"], n["sync_traced_ratio"] = syncQ, syncCover
		syncTxt = fmt.Sprintf(" (sync's queue hop, the HTTP wire: %s; %s of its deliveries traced)", ms(syncQ), pct(syncCover))
	}
	what := fmt.Sprintf("Async's trace crossed Kafka in its headers for %s of its deliveries; its queue hop (produce, time in Kafka, fetch) took %s at p50%s, and queue, processing and provider %s of the %s its hops sum to at p50.",
		pct(cover(as)), ms(ah.Queue.P50), syncTxt, ms(after), ms(total))
	switch {
	case ah.Queue.P50 > 2*syncQ && total > 0 && after > total/2:
		return verdict{Holds, what + " Most of the wait comes after the caller was answered, outside its request's span: only the context propagated through Kafka finds it.", n}
	case cover(as) >= 0.99 && syncCover >= 0.99 && ah.Queue.P50 <= 1.5*syncQ:
		return verdict{DoesNotHold, what + " With the context in the headers, async was traced as completely as sync, and the broker added little.", n}
	}
	return verdict{Mixed, what + " Harder, not impossible: it takes the context in every message.", n}
}

// lbHop: only when sync ran with and without a load balancer (profile
// variants, e.g. sync.r1 direct and sync.lb through nginx). The LB's cost
// is the difference of sync's API p50, preferring two runs with the same
// number of replicas. It holds when that difference is 3–5 ms; it does not
// hold otherwise.
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
	d := direct[0]
	dk, _ := in.knobsOf(d)
	l := lb[0]
	for _, k := range lb {
		if kn, _ := in.knobsOf(k); kn.replicas == dk.replicas {
			l = k
			break
		}
	}
	lk, _ := in.knobsOf(l)
	ds, ls := in.r.Patterns[d].Summary, in.r.Patterns[l].Summary
	d50, d99 := ls.API.P50-ds.API.P50, ls.API.P99-ds.API.P99
	n := map[string]float64{"direct_api_p50_ms": ds.API.P50, "lb_api_p50_ms": ls.API.P50, "lb_added_p50_ms": d50, "lb_added_p99_ms": d99, "offered_rps": ls.OfferedRPS}
	note := ""
	if lk.replicas != dk.replicas {
		note = fmt.Sprintf(" (%s runs %d replicas, %s %d: the difference is not the balancer's alone)", l, lk.replicas, d, dk.replicas)
	}
	if d50 >= 3 && d50 <= 5 {
		return verdict{Holds, fmt.Sprintf("Through %s sync's API p50 was %s against %s direct (%s): the balancer added %s.%s", lk.balancer, ms(ls.API.P50), ms(ds.API.P50), d, ms(d50), note), n}
	}
	return verdict{DoesNotHold, fmt.Sprintf("Through %s (%s) sync's API p50 was %s against %s direct (%s): the balancer added %s at p50 and %s at p99, not 3–5 ms. On loopback a hop costs its processing only; a real hop adds the network's round trip.%s",
		lk.balancer, l, ms(ls.API.P50), ms(ds.API.P50), d, ms(d50), ms(d99), note), n}
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
	ls, hs := in.r.Patterns[lo.key].Summary, in.r.Patterns[hi.key].Summary
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
