package claims

import (
	"fmt"
	"slices"
	"strings"
)

// The claims about async communication: it absorbs a surge, retries and
// dead-letters for free, and delays notifications.

// absorbsSurge: with a surge in async's offered rate (as in
// provisionForPeak), it holds when async dropped nothing outside broker
// fault windows, notified every accepted reaction's author (never
// notified: lost plus dead-lettered, summary.never_notified), built a
// backlog (peak lag > 0) and drained it. It does not hold on any drop,
// any reaction never notified or an undrained backlog; mixed when nothing
// was dropped or lost but no backlog formed (the consumers kept up, so
// nothing had to be absorbed), or when the only reactions never notified
// were dead-lettered in a run whose provider also failed (a provider
// fault, or the profile's error rate): results.json does not say when a reaction was
// dead-lettered, so those may be the fault's, not the surge's.
func absorbsSurge(in *run) verdict {
	ps, v, ok := needs(in, "async")
	if !ok {
		return v
	}
	p := ps["async"]
	s := p.Summary
	_, _, hi, lo, ok := surge(p.Series, nil)
	if !ok {
		return noSurge("async's ", lo, hi)
	}
	broker := seconds(p.Series, in.faults(p, target("broker")), RestartSlack)
	var drops int64
	for i := range p.Series.T {
		if !slices.Contains(broker, i) {
			drops += dropsAt(p.Series, i)
		}
	}
	if len(p.Series.T) == 0 {
		drops = s.Drops.Total
	}
	never := max(s.NeverNotified, s.Lost+s.DeadLettered)
	n := map[string]float64{
		"peak_rps": hi, "base_rps": lo, "async_requests": float64(s.Requests), "async_drops": float64(drops),
		"async_lost": float64(s.Lost), "async_dead_lettered": float64(s.DeadLettered), "async_never_notified": float64(never),
		"async_peak_lag": float64(s.PeakLag), "async_drain_s": s.DrainS,
	}
	if s.Drained {
		n["async_drained"] = 1
	} else {
		n["async_drained"] = 0
	}
	// What else fails the provider's calls, and so dead-letters reactions.
	var fails []string
	if ws := in.faults(p, target("provider")); len(ws) > 0 {
		fails = append(fails, window(ws))
	}
	if in.prof != nil && in.prof.Services.Provider.ErrorRate > 0 {
		fails = append(fails, "an error rate of "+pct(in.prof.Services.Provider.ErrorRate))
	}
	var failed []string
	if drops > 0 {
		failed = append(failed, fmt.Sprintf("dropped %d of %d requests", drops, s.Requests))
	}
	if s.Lost > 0 {
		failed = append(failed, fmt.Sprintf("lost %d accepted reactions", s.Lost))
	}
	if s.DeadLettered > 0 && len(fails) == 0 {
		failed = append(failed, fmt.Sprintf("dead-lettered %d accepted reactions, whose authors were never notified", s.DeadLettered))
	}
	if !s.Drained {
		failed = append(failed, fmt.Sprintf("had not drained its backlog %.0f s after the attack", s.DrainS))
	}
	switch {
	case len(failed) > 0:
		return verdict{DoesNotHold, fmt.Sprintf("In the surge to %.0f rps async %s (peak lag %d; never notified %d: lost %d, dead-lettered %d).", hi, strings.Join(failed, ", "), s.PeakLag, never, s.Lost, s.DeadLettered), n}
	case s.DeadLettered > 0:
		return verdict{Mixed, fmt.Sprintf("Async accepted all %d requests of the surge to %.0f rps and lost none, but dead-lettered %d, whose authors were never notified; the provider failed in this run for other reasons too (%s), and results.json does not say when a reaction was dead-lettered, so whether the surge or those failures cost them is not known.",
			s.Requests, hi, s.DeadLettered, strings.Join(fails, "; ")), n}
	case s.PeakLag == 0:
		return verdict{Mixed, fmt.Sprintf("Async dropped and lost nothing in the surge to %.0f rps, but no backlog formed (peak lag 0): its consumers kept up, so nothing had to be absorbed.", hi), n}
	}
	return verdict{Holds, fmt.Sprintf("Async accepted all %d requests of the surge to %.0f rps (0 dropped); the backlog peaked at %d messages and drained %.1f s after the attack; every author was notified (lost 0, dead-lettered 0).",
		s.Requests, hi, s.PeakLag, s.DrainS), n}
}

// retriesDeadLetters: with a provider outage. The claim has two halves:
// the retries deliver what failed, and what keeps failing is
// dead-lettered. results.json counts no retries, so a delivery after a
// retry is read from the outage: while the provider is down it refuses
// every call at once, so no reaction accepted in the outage's seconds can
// be delivered in them; with nothing lost, at least that many accepted
// reactions less every dead letter of the run were delivered after the
// outage. The notification service fetches a message whenever a handler
// is free and calls the provider at once, so those it fetched during the
// outage failed that call and were delivered by a retry (a message still
// in Kafka when the provider came back was delivered on its first try;
// the numbers do not split the two). It does not hold on a loss, more
// than 0.1% dropped in the outage's seconds, or when no reaction accepted
// in the outage was delivered (the dead letters account for all of them:
// the retries gave up, they did not deliver); mixed when the backlog had
// not drained. Otherwise it holds; with nothing dead-lettered the evidence
// says the dead-letter half was not exercised.
func retriesDeadLetters(in *run) verdict {
	ps, v, ok := needs(in, "async")
	if !ok {
		return v
	}
	p := ps["async"]
	s := p.Summary
	ws := in.faults(p, target("provider", "outage"))
	if len(ws) == 0 {
		return notExercised("No provider outage ran in this profile, so nothing had to be retried.")
	}
	idx := seconds(p.Series, ws, 0)
	at := count(p.Series, idx)
	var accepted float64
	for _, i := range idx {
		if i < len(p.Series.AcceptedRPS) {
			accepted += p.Series.AcceptedRPS[i]
		}
	}
	after := accepted - float64(s.DeadLettered)
	n := map[string]float64{
		"outage_s": span(ws), "async_window_requests": at.sent, "async_window_drop_ratio": at.ratio(),
		"async_window_accepted": accepted, "async_delivered_after_outage_min": max(after, 0),
		"async_lost": float64(s.Lost), "async_dead_lettered": float64(s.DeadLettered), "async_notify_p99_ms": s.Notify.P99,
	}
	also := ""
	if sk, sp := in.aside("sync"); sp != nil {
		if sws := in.faults(sp, target("provider", "outage")); len(sws) > 0 {
			st := count(sp.Series, seconds(sp.Series, sws, 0))
			n["sync_window_drop_ratio"] = st.ratio()
			who := "Sync"
			if sk != "sync" {
				who += " (" + sk + ")"
			}
			also = fmt.Sprintf(" %s failed %s of its requests in the same window.", who, pct(st.ratio()))
		}
	}
	switch {
	case s.Lost > 0 || at.ratio() > Clean:
		return verdict{DoesNotHold, fmt.Sprintf("During the provider outage (%s) async dropped %s of its requests and lost %d accepted reactions.%s", window(ws), pct(at.ratio()), s.Lost, also), n}
	case !s.Drained:
		return verdict{Mixed, fmt.Sprintf("During the provider outage (%s) async's callers saw nothing (%s dropped), but the retries had not finished %.0f s after the attack (dead-lettered %d so far).%s",
			window(ws), pct(at.ratio()), s.DrainS, s.DeadLettered, also), n}
	case accepted <= 0:
		return notExercised("The provider was down (%s), but async accepted no reaction in those seconds, so nothing had to be retried.", window(ws))
	case after <= 0:
		return verdict{DoesNotHold, fmt.Sprintf("During the provider outage (%s) async accepted %.0f reactions and dead-lettered %d in all: no delivery is shown to have come from a retry; the retries gave up rather than delivered. Lost 0.%s",
			window(ws), accepted, s.DeadLettered, also), n}
	}
	dl := fmt.Sprintf("%d were dead-lettered after the last retry", s.DeadLettered)
	if s.DeadLettered == 0 {
		dl = "nothing was dead-lettered: the retries outlasted the outage, so the dead-letter half was not exercised"
	}
	return verdict{Holds, fmt.Sprintf("During the provider outage (%s) async answered its callers (%s of %.0f dropped) and accepted %.0f reactions that the provider could not deliver then; lost 0, and %s, so at least %.0f of them were delivered after it came back, by a retry where the notification service had already fetched them (results.json counts no retries). Time-to-notify p99 %s: free for the caller, not for the author, who waited.%s",
		window(ws), pct(at.ratio()), at.sent, accepted, dl, after, ms(s.Notify.P99), also), n}
}

// eventualConsistency: async's time-to-notify against sync's. It holds
// when async's p50 and p99 are both above sync's; it does not hold when
// both are at or below; mixed otherwise. Sync's time-to-notify counts only
// the reactions it accepted.
func eventualConsistency(in *run) verdict {
	ps, v, ok := needs(in, "sync", "async")
	if !ok {
		return v
	}
	s, a := ps["sync"].Summary, ps["async"].Summary
	note := which(in, "sync", "async")
	n := map[string]float64{
		"sync_notify_p50_ms": s.Notify.P50, "sync_notify_p99_ms": s.Notify.P99,
		"async_notify_p50_ms": a.Notify.P50, "async_notify_p99_ms": a.Notify.P99,
		"sync_drops": float64(s.Drops.Total),
	}
	switch {
	case a.Notify.P50 > s.Notify.P50 && a.Notify.P99 > s.Notify.P99:
		return verdict{Holds, fmt.Sprintf("Authors waited longer with async: time-to-notify %s vs sync's %s at p50, %s vs %s at p99 (sync's counts only the %d reactions it accepted).",
			ms(a.Notify.P50), ms(s.Notify.P50), ms(a.Notify.P99), ms(s.Notify.P99), s.Accepted), n}.with(note)
	case a.Notify.P50 <= s.Notify.P50 && a.Notify.P99 <= s.Notify.P99:
		return verdict{DoesNotHold, fmt.Sprintf("Async notified no later than sync: time-to-notify %s vs %s at p50, %s vs %s at p99.",
			ms(a.Notify.P50), ms(s.Notify.P50), ms(a.Notify.P99), ms(s.Notify.P99)), n}.with(note)
	}
	return verdict{Mixed, fmt.Sprintf("Async's time-to-notify was %s vs sync's %s at p50 and %s vs %s at p99: later on one side of the distribution only.",
		ms(a.Notify.P50), ms(s.Notify.P50), ms(a.Notify.P99), ms(s.Notify.P99)), n}.with(note)
}
