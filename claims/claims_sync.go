package claims

import (
	"fmt"
	"slices"

	"github.com/commbench/commbench/results"
)

// The claims about sync communication: it blocks the caller, must be
// provisioned for the peak, and couples deployments.

// blocksCaller: sync's callers wait for the notification. It holds when
// sync's API latency p50 is at least its own time-to-notify p50 (the 201
// comes only after the notification) and sync's API p50 and p99 are above
// async's (p99 by more than 20%) under the same load; it does not hold when
// sync's API p50 and p99 are both at or below async's; mixed otherwise.
// When the profile ran faults, the faults' seconds (plus RestartSlack) are
// left out, and the latencies are medians of the remaining seconds'
// per-second p50 and p99: the claim is about the wait in normal operation,
// and a broker or provider fault would decide it otherwise.
func blocksCaller(in *run) verdict {
	ps, v, ok := needs(in, "sync", "async")
	if !ok {
		return v
	}
	note := which(in, "sync", "async")
	sk, _ := in.lookup("sync")
	ak, _ := in.lookup("async")
	s, left := in.calm(sk, ps["sync"])
	a, aleft := in.calm(ak, ps["async"])
	if left || aleft {
		note += " Left out: fault windows; the latencies are medians of the other seconds' per-second p50 and p99."
	}
	n := map[string]float64{
		"sync_api_p50_ms": s.api50, "sync_api_p99_ms": s.api99, "sync_notify_p50_ms": s.notify50,
		"async_api_p50_ms": a.api50, "async_api_p99_ms": a.api99,
	}
	waits := s.api50 >= s.notify50
	switch {
	case waits && s.api50 > a.api50 && s.api99 > 1.2*a.api99:
		return verdict{Holds, fmt.Sprintf("Sync's callers waited %s at p50 and %s at p99, the notification's own %s (time-to-notify p50) included, since the 201 comes after it; async's callers waited %s and %s under the same load.",
			ms(s.api50), ms(s.api99), ms(s.notify50), ms(a.api50), ms(a.api99)), n}.with(note)
	case s.api50 <= a.api50 && s.api99 <= a.api99:
		return verdict{DoesNotHold, fmt.Sprintf("Sync's callers waited no longer than async's: %s vs %s at p50, %s vs %s at p99; at this load the whole notification (%s p50) cost less than a Kafka acknowledgement.",
			ms(s.api50), ms(a.api50), ms(s.api99), ms(a.api99), ms(s.notify50)), n}.with(note)
	}
	return verdict{Mixed, fmt.Sprintf("Sync's callers waited %s at p50 and %s at p99 against async's %s and %s, and sync's time-to-notify p50 was %s: the wait is longer on one side of the distribution only.",
		ms(s.api50), ms(s.api99), ms(a.api50), ms(a.api99), ms(s.notify50)), n}.with(note)
}

// latency is a pattern's API latency and time-to-notify p50.
type latency struct{ api50, api99, notify50 float64 }

// calm is the latency of p (pattern key): its summary's (a whole-run read,
// which judge weighs by the pattern's validity), or, when faults ran, the
// medians of the per-second p50 and p99 over the attack's other seconds,
// fault windows plus RestartSlack left out; the verdict then reads only
// those seconds of key (a window read: its bound seconds are settled by
// decide, which leaves them out of every pattern compared at once, so
// that each side's medians cover the same seconds of the schedule). left
// says whether it left out fault windows.
func (in *run) calm(key string, p *results.Pattern) (l latency, left bool) {
	ws := in.faults(p, func(results.FaultWindow) bool { return true })
	s := p.Summary
	if len(ws) == 0 || len(p.Series.T) == 0 {
		return latency{s.API.P50, s.API.P99, s.Notify.P50}, false
	}
	skip := seconds(p.Series, ws, RestartSlack)
	var idx []int
	for i, t := range p.Series.T {
		if t <= p.Series.AttackEndS && !slices.Contains(skip, i) {
			idx = append(idx, i)
		}
	}
	in.window(key, idx)
	return latency{median(p.Series.APIP50, idx), median(p.Series.APIP99, idx), median(p.Series.NotifyP50, idx)}, true
}

// provisionForPeak: sync sized for the base fails the peak. With a surge
// (the offered rate's highest second at least twice its lowest), sync's
// peak seconds (offered >= 90% of the highest) are compared with its base
// seconds (<= 110% of the lowest), fault windows left out. The claim is
// exercised only when the peak exceeds the downstream's modelled capacity
// and the base does not: replicas × the provider's capacity / the mean of
// its latency, from the profile as it ran (see downstream); a peak that
// fits in it needs no more than the base's provisioning, and a base above
// it is under-provisioned already. It holds when at the peak sync dropped
// more than 1% of requests or its per-second API p99 (median over those
// seconds) was more than 3x the base's; it does not hold when the peak's
// drops were at most 0.1% and its p99 at most 1.5x the base's (sync took
// a peak above what its downstream was modelled to serve); mixed between.
// The verdict reads sync's peak and base seconds only; async's figures at
// its peak are quoted.
func provisionForPeak(in *run) verdict {
	ps, v, ok := needs(in, "sync")
	if !ok {
		return v
	}
	key, _ := in.lookup("sync")
	p := ps["sync"]
	all := in.faults(p, func(results.FaultWindow) bool { return true })
	peak, base, hi, lo, ok := surge(p.Series, all)
	if !ok {
		if hi >= 2*lo && hi > 0 {
			return notExercised("The surge's peak or base seconds all overlap a fault window, so the surge cannot be told from the faults.")
		}
		return noSurge("", lo, hi)
	}
	in.window(key, peak, base)
	d, ok := in.downstreamOf(key)
	switch {
	case !ok:
		return notExercised("The profile as it ran (run.profile_yaml) does not parse, so the downstream's modelled capacity, and whether the peak of %.0f rps exceeded it, is not known.", hi)
	case hi <= d.rps:
		return notExercised("The peak (%.0f rps) stayed within the downstream's modelled capacity (%s): the base's provisioning already covered it, so the claim was not put to the test.", hi, d)
	case lo > d.rps:
		return notExercised("Even the base (%.0f rps) exceeded the downstream's modelled capacity (%s): sync was under-provisioned for the base, not only for the peak.", lo, d)
	}
	pk, bs := count(p.Series, peak), count(p.Series, base)
	pk99, bs99 := median(p.Series.APIP99, peak), median(p.Series.APIP99, base)
	n := map[string]float64{
		"peak_rps": hi, "base_rps": lo, "downstream_capacity_rps": d.rps, "provider_mean_ms": d.meanMs,
		"sync_peak_drop_ratio": pk.ratio(), "sync_base_drop_ratio": bs.ratio(),
		"sync_peak_api_p99_ms": pk99, "sync_base_api_p99_ms": bs99,
	}
	also := ""
	if _, a := in.aside("async"); a != nil {
		if apk, _, _, _, ok := surge(a.Series, in.faults(a, func(results.FaultWindow) bool { return true })); ok {
			at := count(a.Series, apk)
			n["async_peak_drop_ratio"] = at.ratio()
			n["async_peak_api_p99_ms"] = median(a.Series.APIP99, apk)
			also = fmt.Sprintf(" Async, with the same services, dropped %s at the peak (API p99 %s).", pct(at.ratio()), ms(n["async_peak_api_p99_ms"]))
		}
	}
	model := fmt.Sprintf(" The peak was %.1fx the downstream's modelled capacity (%s); the base %.2fx.", hi/d.rps, d, lo/d.rps)
	floor := max(bs99, 1)
	switch {
	case pk.ratio() > Failed || pk99 > 3*floor:
		return verdict{Holds, fmt.Sprintf("At the peak (%.0f rps) sync dropped %s of requests and its API p99 was %s, against %s and %s at the base (%.0f rps): capacity that serves the base fails the peak's users.%s%s",
			hi, pct(pk.ratio()), ms(pk99), pct(bs.ratio()), ms(bs99), lo, model, also), n}
	case pk.ratio() <= Clean && pk99 <= 1.5*floor:
		return verdict{DoesNotHold, fmt.Sprintf("Sync took the peak of %.0f rps as it took the base of %.0f rps: drops %s, API p99 %s against %s, although the peak exceeded what its downstream was modelled to serve.%s%s",
			hi, lo, pct(pk.ratio()), ms(pk99), ms(bs99), model, also), n}
	}
	return verdict{Mixed, fmt.Sprintf("At the peak (%.0f rps) sync dropped %s and its API p99 was %s against %s at the base: slower, but not failing.%s%s",
		hi, pct(pk.ratio()), ms(pk99), ms(bs99), model, also), n}
}

// couplesDeployments: a planned downtime of the notification service (a
// restart or kill fault) and what sync's callers saw. Over the fault's
// seconds plus RestartSlack, it holds when sync dropped more than 1% and
// async (when it ran) at most 0.1% with nothing lost; it does not hold when
// sync dropped at most 0.1%; mixed otherwise (e.g. async failed too).
func couplesDeployments(in *run) verdict {
	ps, v, ok := needs(in, "sync")
	if !ok {
		return v
	}
	p := ps["sync"]
	ws := in.faults(p, target("notification", "restart", "kill"))
	if len(ws) == 0 {
		return notExercised("No notification restart or kill (a planned downtime downstream) ran in this profile.")
	}
	key, _ := in.lookup("sync")
	win := seconds(p.Series, ws, RestartSlack)
	in.window(key, win)
	st := count(p.Series, win)
	n := map[string]float64{"downtime_s": span(ws), "sync_window_requests": st.sent, "sync_window_drops": st.drops, "sync_window_drop_ratio": st.ratio()}
	asyncOK, also := true, ""
	if _, a := in.pattern("async"); a != nil {
		if aws := in.faults(a, target("notification", "restart", "kill")); len(aws) > 0 {
			at := count(a.Series, seconds(a.Series, aws, RestartSlack))
			n["async_window_drop_ratio"], n["async_lost"], n["async_notify_p99_ms"] = at.ratio(), float64(a.Summary.Lost), a.Summary.Notify.P99
			asyncOK = at.ratio() <= Clean && a.Summary.Lost == 0 && !a.Summary.LostUnknown
			also = fmt.Sprintf(" Async dropped %s in its window and %s: the backlog waited in Kafka (time-to-notify p99 %s).", pct(at.ratio()), lostText(a.Summary), ms(a.Summary.Notify.P99))
		}
	}
	switch {
	case st.ratio() > Failed && asyncOK:
		return verdict{Holds, fmt.Sprintf("While the notification service was down (%s), sync failed %.0f of %.0f requests (%s): its callers saw the downstream's deployment.%s",
			window(ws), st.drops, st.sent, pct(st.ratio()), also), n}
	case st.ratio() <= Clean:
		return verdict{DoesNotHold, fmt.Sprintf("While the notification service was down (%s), sync failed only %s of its %.0f requests: the downtime did not reach its callers.%s",
			window(ws), pct(st.ratio()), st.sent, also), n}
	}
	return verdict{Mixed, fmt.Sprintf("While the notification service was down (%s), sync failed %s of its requests, but async did not ride it out either.%s",
		window(ws), pct(st.ratio()), also), n}
}
