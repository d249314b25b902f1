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
// fault windows, lost nothing, built a backlog (peak lag > 0) and drained
// it; it does not hold on any drop, any loss or an undrained backlog; mixed
// when nothing was dropped or lost but no backlog formed (the consumers
// kept up, so nothing had to be absorbed). Dead-lettered reactions are
// not lost: they are kept in the dead-letter topic; the evidence counts them.
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
	n := map[string]float64{
		"peak_rps": hi, "base_rps": lo, "async_requests": float64(s.Requests), "async_drops": float64(drops),
		"async_lost": float64(s.Lost), "async_dead_lettered": float64(s.DeadLettered), "async_peak_lag": float64(s.PeakLag), "async_drain_s": s.DrainS,
	}
	if s.Drained {
		n["async_drained"] = 1
	} else {
		n["async_drained"] = 0
	}
	var failed []string
	if drops > 0 {
		failed = append(failed, fmt.Sprintf("dropped %d of %d requests", drops, s.Requests))
	}
	if s.Lost > 0 {
		failed = append(failed, fmt.Sprintf("lost %d accepted reactions", s.Lost))
	}
	if !s.Drained {
		failed = append(failed, fmt.Sprintf("had not drained its backlog %.0f s after the attack", s.DrainS))
	}
	switch {
	case len(failed) > 0:
		return verdict{DoesNotHold, fmt.Sprintf("In the surge to %.0f rps async %s (peak lag %d).", hi, strings.Join(failed, ", "), s.PeakLag), n}
	case s.PeakLag == 0:
		return verdict{Mixed, fmt.Sprintf("Async dropped and lost nothing in the surge to %.0f rps, but no backlog formed (peak lag 0): its consumers kept up, so nothing had to be absorbed.", hi), n}
	}
	return verdict{Holds, fmt.Sprintf("Async accepted all %d requests of the surge to %.0f rps (0 dropped); the backlog peaked at %d messages and drained %.1f s after the attack; lost 0, dead-lettered %d.",
		s.Requests, hi, s.PeakLag, s.DrainS, s.DeadLettered), n}
}

// retriesDeadLetters: with a provider outage, it holds when async dropped
// at most 0.1% of requests in the outage's seconds, lost nothing and
// drained: the caller never saw the outage, the retries delivered late and
// what outlasted them was dead-lettered. It does not hold on a loss or more
// than 0.1% dropped in the outage; mixed when the backlog had not drained.
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
	at := count(p.Series, seconds(p.Series, ws, 0))
	n := map[string]float64{
		"outage_s": span(ws), "async_window_requests": at.sent, "async_window_drop_ratio": at.ratio(),
		"async_lost": float64(s.Lost), "async_dead_lettered": float64(s.DeadLettered), "async_notify_p99_ms": s.Notify.P99,
	}
	also := ""
	if _, sp := in.pattern("sync"); sp != nil {
		if sws := in.faults(sp, target("provider", "outage")); len(sws) > 0 {
			st := count(sp.Series, seconds(sp.Series, sws, 0))
			n["sync_window_drop_ratio"] = st.ratio()
			also = fmt.Sprintf(" Sync failed %s of its requests in the same window.", pct(st.ratio()))
		}
	}
	switch {
	case s.Lost > 0 || at.ratio() > Clean:
		return verdict{DoesNotHold, fmt.Sprintf("During the provider outage (%s) async dropped %s of its requests and lost %d accepted reactions.%s", window(ws), pct(at.ratio()), s.Lost, also), n}
	case !s.Drained:
		return verdict{Mixed, fmt.Sprintf("During the provider outage (%s) async's callers saw nothing (%s dropped), but the retries had not finished %.0f s after the attack (dead-lettered %d so far).%s",
			window(ws), pct(at.ratio()), s.DrainS, s.DeadLettered, also), n}
	}
	return verdict{Holds, fmt.Sprintf("During the provider outage (%s) async answered its callers (%s of %.0f dropped) and retried: time-to-notify p99 %s, %d dead-lettered after the retries, lost 0. Free for the caller, not for the author, who waited.%s",
		window(ws), pct(at.ratio()), at.sent, ms(s.Notify.P99), s.DeadLettered, also), n}
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
