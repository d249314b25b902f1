package claims

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// The verdicts.
const (
	Holds        = "holds"
	DoesNotHold  = "does not hold"
	Mixed        = "mixed"
	NotExercised = "not exercised"
)

// Verdicts lists every verdict.
var Verdicts = []string{Holds, DoesNotHold, Mixed, NotExercised}

// rule is one claim and how this run decides it.
type rule struct {
	id, claim string
	eval      func(in *run) verdict
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
	{"sync-blocks-caller", "Sync blocks the caller: the user waits for the whole downstream call.", blocksCaller},
	{"sync-provision-for-peak", "Sync must be provisioned for peak load.", provisionForPeak},
	{"sync-cascades", "A failure cascades along a chain of sync calls unless circuit breakers stop it.", cascades},
	{"sync-couples-deployments", "Sync couples deployments: a planned downtime downstream fails upstream.", couplesDeployments},
	{"async-absorbs-surge", "Async absorbs a surge with no drops and no data loss while consumers catch up.", absorbsSurge},
	{"async-retries-dead-letters", "Async retries for free and dead-letters what keeps failing.", retriesDeadLetters},
	{"async-eventual-consistency", "Async delays notifications (eventual consistency).", eventualConsistency},
	{"broker-spof", "The broker is a single point of failure.", brokerSPOF},
	{"tracing-harder", "Tracing gets harder with async.", tracingHarder},
	{"lb-hop-3-5ms", "Adding a load balancer adds a hop of 3–5 ms.", lbHop},
	{"fanout-free-for-producer", "When several services react to the same event, async lets you add consumers at no cost to the producer.", fanoutFree},
}

// Evaluate checks every claim against r and returns one Claim per rule, in
// the order of [Rules]. It reads r only.
func Evaluate(r *results.Results) []results.Claim {
	in := &run{r: r, prof: parseProfile(r.Run)}
	out := make([]results.Claim, 0, len(rules))
	for _, rl := range rules {
		v := rl.eval(in)
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
	s, calm := in.calm(ps["sync"])
	a, _ := in.calm(ps["async"])
	if calm {
		note += " Fault windows left out: medians of the other seconds' per-second p50 and p99."
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

// calm is p's latency: its summary's, or, when faults ran, the medians of
// the per-second p50 and p99 over the attack's seconds outside the fault
// windows (plus RestartSlack); calm is true in that case.
func (in *run) calm(p *results.Pattern) (latency, bool) {
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
	return latency{median(p.Series.APIP50, idx), median(p.Series.APIP99, idx), median(p.Series.NotifyP50, idx)}, true
}

// provisionForPeak: sync sized for the base fails the peak. With a surge
// (the offered rate's highest second at least twice its lowest), sync's
// peak seconds (offered >= 90% of the highest) are compared with its base
// seconds (<= 110% of the lowest), fault windows left out. It holds when
// at the peak sync dropped more than 1% of requests or its per-second API
// p99 (median over those seconds) was more than 3x the base's; it does not
// hold when the peak's drops were at most 0.1% and its p99 at most 1.5x
// the base's (this machine's sync took the peak as it was); mixed between.
func provisionForPeak(in *run) verdict {
	ps, v, ok := needs(in, "sync")
	if !ok {
		return v
	}
	p := ps["sync"]
	all := in.faults(p, func(results.FaultWindow) bool { return true })
	peak, base, hi, lo, ok := surge(p.Series, all)
	if !ok {
		if hi >= 2*lo && hi > 0 {
			return notExercised("The surge's peak or base seconds all overlap a fault window, so the surge cannot be told from the faults.")
		}
		return noSurge("", lo, hi)
	}
	pk, bs := count(p.Series, peak), count(p.Series, base)
	pk99, bs99 := median(p.Series.APIP99, peak), median(p.Series.APIP99, base)
	n := map[string]float64{
		"peak_rps": hi, "base_rps": lo,
		"sync_peak_drop_ratio": pk.ratio(), "sync_base_drop_ratio": bs.ratio(),
		"sync_peak_api_p99_ms": pk99, "sync_base_api_p99_ms": bs99,
	}
	also := ""
	if _, a := in.pattern("async"); a != nil {
		if apk, _, _, _, ok := surge(a.Series, in.faults(a, func(results.FaultWindow) bool { return true })); ok {
			at := count(a.Series, apk)
			n["async_peak_drop_ratio"] = at.ratio()
			n["async_peak_api_p99_ms"] = median(a.Series.APIP99, apk)
			also = fmt.Sprintf(" Async, with the same services, dropped %s at the peak (API p99 %s).", pct(at.ratio()), ms(n["async_peak_api_p99_ms"]))
		}
	}
	floor := max(bs99, 1)
	switch {
	case pk.ratio() > Failed || pk99 > 3*floor:
		return verdict{Holds, fmt.Sprintf("At the peak (%.0f rps) sync dropped %s of requests and its API p99 was %s, against %s and %s at the base (%.0f rps): capacity that serves the base fails the peak's users.%s",
			hi, pct(pk.ratio()), ms(pk99), pct(bs.ratio()), ms(bs99), lo, also), n}
	case pk.ratio() <= Clean && pk99 <= 1.5*floor:
		return verdict{DoesNotHold, fmt.Sprintf("Sync took the peak of %.0f rps as it took the base of %.0f rps: drops %s, API p99 %s against %s; on this machine its capacity already covers this peak.%s",
			hi, lo, pct(pk.ratio()), ms(pk99), ms(bs99), also), n}
	}
	return verdict{Mixed, fmt.Sprintf("At the peak (%.0f rps) sync dropped %s and its API p99 was %s against %s at the base: slower, but not failing.%s",
		hi, pct(pk.ratio()), ms(pk99), ms(bs99), also), n}
}

func noSurge(whose string, lo, hi float64) verdict {
	if hi <= 0 {
		return notExercised("No surge: results.json has no offered rate per second to find one in.")
	}
	return notExercised("No surge: %sthe offered rate stayed between %.0f and %.0f rps (a surge needs its peak at twice its lowest).", whose, lo, hi)
}

// Thresholds of sync-cascades.
const (
	// CascadeRise is how many times its p99 before the fault A's
	// per-second p99 inside D's fault window must reach for the slowness
	// to count as having travelled to A...
	CascadeRise = 3.0
	// CascadeRiseMs ...and by how many milliseconds at least: a p99 of
	// 2 ms tripling to 6 ms is noise, not a cascade.
	CascadeRiseMs = 50.0
	// FailFast is the most, as a fraction of the no-breaker run's, that
	// A's in-window p99 may be with breakers for the breakers to count as
	// having made A fail fast.
	FailFast = 0.5
)

// dFault keeps the faults that hit a chain's last service, D: the
// notification service itself or the provider it calls.
func dFault(f results.FaultWindow) bool {
	return target("notification", "kill", "pause", "restart")(f) || target("provider", "outage", "slowdown", "latency")(f)
}

// chainRun is one chain pattern and what its hops saw around D's faults.
type chainRun struct {
	key          string
	p            *results.Pattern
	ws           []results.FaultWindow // D's faults
	win          []int                 // their seconds, plus RestartSlack
	a            tally                 // A's requests and drops in win
	pre99, win99 float64               // medians of A's per-second p99 before the first fault and in win
}

// measureChain reads key's A around the faults ws: in their seconds (plus
// RestartSlack) and in the attack's seconds before the first of them,
// other faults' seconds left out (all of the calm seconds when the fault
// came first).
func (in *run) measureChain(key string, p *results.Pattern, ws []results.FaultWindow) *chainRun {
	s := p.Series
	c := &chainRun{key: key, p: p, ws: ws, win: seconds(s, ws, RestartSlack)}
	c.a = count(s, c.win)
	first := ws[0].StartS
	for _, w := range ws {
		first = min(first, w.StartS)
	}
	skip := seconds(s, in.faults(p, func(results.FaultWindow) bool { return true }), RestartSlack)
	var pre, calm []int
	for i, t := range s.T {
		if t > s.AttackEndS || slices.Contains(skip, i) {
			continue
		}
		calm = append(calm, i)
		if t <= first {
			pre = append(pre, i)
		}
	}
	if len(pre) == 0 {
		pre = calm
	}
	c.pre99, c.win99 = median(s.APIP99, pre), median(s.APIP99, c.win)
	return c
}

// slower: A's p99 in the window rose by CascadeRise and CascadeRiseMs.
func (c *chainRun) slower() bool {
	return c.win99 >= CascadeRise*c.pre99 && c.win99 >= c.pre99+CascadeRiseMs
}

// reached: D's fault reached A, as drops or as waiting.
func (c *chainRun) reached() bool { return c.a.ratio() > Failed || c.slower() }

// rejected and opened sum the hops' breaker rejections and trips.
func (c *chainRun) rejected() (rejected, opened int64) {
	for _, h := range c.p.Summary.Chain {
		rejected += h.Rejected
		opened += h.Opened
	}
	return rejected, opened
}

// failedFast: with breakers, A was answered fast while D was down: the
// breakers acted (one opened or rejected calls; in a real run A's breaker
// opened first and spared the relays most calls to reject), and A's
// in-window p99 was at most FailFast of the no-breaker run's or did not
// rise at all (when the failure came back fast without breakers too, e.g.
// a killed D refuses connections, there is nothing to halve).
func (c *chainRun) failedFast(nocb *chainRun) bool {
	rej, opened := c.rejected()
	return (rej > 0 || opened > 0) && (c.win99 <= FailFast*nocb.win99 || !c.slower())
}

// hopNames are c's hops in chain order, A first.
func (c *chainRun) hopNames() []string {
	var names []string
	for _, h := range c.p.Summary.Chain {
		names = append(names, h.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(c.p.Series.Chain)) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	return names
}

// damage says how far the fault travelled, from the last hop back to A:
// "D 1204 errors, C 1190, B 1180, A 1175 drops (23%)". A killed, paused
// or restarted D counts no errors of its own (its callers do): it is said
// to be down. It fills n with each hop's errors in the window.
func (c *chainRun) damage(n map[string]float64, prefix string) string {
	down := ""
	for _, w := range c.ws {
		if w.Target == "notification" && down == "" {
			down = map[string]string{"kill": "killed", "pause": "paused", "restart": "restarted"}[w.Kind]
		}
	}
	var parts []string
	named := false
	names := c.hopNames()
	for j := len(names) - 1; j >= 0; j-- {
		name := names[j]
		if j == 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f drops (%s)", name, c.a.drops, pct(c.a.ratio())))
			continue
		}
		hs := c.p.Series.Chain[name]
		if hs == nil {
			continue
		}
		var errs int64
		for _, i := range c.win {
			if i < len(hs.Errors) {
				errs += hs.Errors[i]
			}
		}
		n[prefix+"_"+strings.ToLower(name)+"_window_errors"] = float64(errs)
		switch {
		case j == len(names)-1 && errs == 0 && down != "":
			parts = append(parts, name+" "+down)
		case !named:
			parts = append(parts, fmt.Sprintf("%s %d errors", name, errs))
			named = true
		default:
			parts = append(parts, fmt.Sprintf("%s %d", name, errs))
		}
	}
	return strings.Join(parts, ", ")
}

// numbers adds c's A figures to n under prefix.
func (c *chainRun) numbers(n map[string]float64, prefix string) {
	n[prefix+"_a_window_requests"] = c.a.sent
	n[prefix+"_a_window_drop_ratio"] = c.a.ratio()
	n[prefix+"_a_pre_p99_ms"] = c.pre99
	n[prefix+"_a_window_p99_ms"] = c.win99
}

// cascades: only with chain patterns (summary.chain_depth > 2; the pattern
// is the key's part before the first ".", a breaker on every hop is
// summary.chain_breaker) and a fault on D, the chain's last service (a
// notification kill, pause or restart, or a provider outage, slowdown or
// latency). A is compared inside D's fault windows (plus RestartSlack)
// with A before the first of them: its drop ratio in the window, and the
// medians of its per-second API p99 there and before.
//
// The fault reached A in a run when A's drop ratio in the window was
// above Failed (1%), or its p99 there was at least CascadeRise (3x) its
// p99 before and at least CascadeRiseMs (50 ms) above it. With breakers,
// A failed fast when the breakers acted (a hop's breaker, A's included,
// opened or rejected calls) and A's in-window p99 was at most FailFast (half) of the
// no-breaker run's, or did not rise as above.
// It holds when the sync chain without breakers let the fault reach A and,
// with breakers, A failed fast (or no breaker run exists: the evidence
// says the breakers went untested); it does not hold when the fault did
// not reach A without breakers; mixed when the breakers did not make A
// fail fast. The async chain, when it ran, is evidence only (A's drops,
// p99, lost, peak lag): the claim is about sync chains.
func cascades(in *run) verdict {
	var chains []string
	var nocb, cb, async *chainRun
	for _, k := range in.r.Keys() {
		p := in.r.Patterns[k]
		if p.Summary.ChainDepth <= 2 {
			continue
		}
		chains = append(chains, k)
		ws := in.faults(p, dFault)
		if len(ws) == 0 {
			continue
		}
		pat := patternOf(k)
		switch {
		case pat == "sync" && !p.Summary.ChainBreaker && nocb == nil:
			nocb = in.measureChain(k, p, ws)
		case pat == "sync" && p.Summary.ChainBreaker && cb == nil:
			cb = in.measureChain(k, p, ws)
		case pat == "async" && async == nil:
			async = in.measureChain(k, p, ws)
		}
	}
	switch {
	case len(chains) == 0:
		return notExercised("Needs a chain of services (A→B→C→D, services.chain.depth > 2, as in the claims-chain profile) with a fault on D; this run has no chain (%s).", strings.Join(in.r.Keys(), ", "))
	case nocb == nil && cb == nil && async == nil:
		return notExercised("The chain ran (%s), but no fault hit its last service D (a notification kill, pause or restart, or a provider outage, slowdown or latency), so there was nothing to cascade.", strings.Join(chains, ", "))
	case nocb == nil:
		return notExercised("Needs a sync chain without circuit breakers and a fault on D; the chains with a fault on D here are %s.", strings.Join(slices.DeleteFunc([]string{keyOf(cb), keyOf(async)}, func(s string) bool { return s == "" }), " and "))
	}

	n := map[string]float64{"fault_s": span(nocb.ws)}
	nocb.numbers(n, "sync_nocb")
	lead := fmt.Sprintf("D's fault (%s) on the sync chain without breakers (%s): in the window %s; A's p99 went from %s before the fault to %s inside.",
		window(nocb.ws), nocb.key, nocb.damage(n, "sync_nocb"), ms(nocb.pre99), ms(nocb.win99))

	brk := ""
	if cb != nil {
		cb.numbers(n, "sync_cb")
		rej, opened := cb.rejected()
		n["sync_cb_rejected"], n["sync_cb_breaker_opened"] = float64(rej), float64(opened)
		brk = fmt.Sprintf(" With a breaker on every hop (%s) the breakers opened %d times and rejected %d calls at once: in the window %s; A's p99 %s before, %s inside.",
			cb.key, opened, rej, cb.damage(n, "sync_cb"), ms(cb.pre99), ms(cb.win99))
	}

	also := ""
	if async != nil {
		async.numbers(n, "async")
		s := async.p.Summary
		peak, at := s.PeakLag, ""
		for _, h := range s.Chain {
			if h.PeakLag >= peak && h.PeakLag > 0 {
				peak, at = h.PeakLag, " (into "+h.Name+")"
			}
		}
		n["async_lost"], n["async_peak_lag"] = float64(s.Lost), float64(peak)
		how := "kept A out of it"
		if async.a.ratio() > Clean || async.slower() {
			how = "did not keep A out of it"
		}
		backlog := "no backlog formed"
		if peak > 0 {
			backlog = fmt.Sprintf("the backlog peaked at %d%s", peak, at)
		}
		also = fmt.Sprintf(" The async chain (%s) %s: A dropped %s in the window (p99 %s before, %s inside), lost %d; %s.",
			async.key, how, pct(async.a.ratio()), ms(async.pre99), ms(async.win99), s.Lost, backlog)
	}

	switch {
	case !nocb.reached():
		return verdict{DoesNotHold, lead + " The fault did not reach A: its callers saw neither drops (at most 1%) nor waiting." + brk + also, n}
	case cb == nil:
		return verdict{Holds, lead + " The failure cascaded to A's callers. No chain with breakers ran, so whether breakers stop it is untested here." + also, n}
	case cb.failedFast(nocb):
		still := ""
		if cb.a.ratio() > Failed {
			still = fmt.Sprintf(" They made the failure fast, they did not make it go away: A still dropped %s, since every reaction needs D.", pct(cb.a.ratio()))
		}
		return verdict{Holds, lead + " The failure cascaded to A's callers." + brk + " The breakers failed A's calls fast." + still + also, n}
	}
	why := fmt.Sprintf("A's p99 inside (%s) stayed above half of the no-breaker run's (%s)", ms(cb.win99), ms(nocb.win99))
	if rej, opened := cb.rejected(); rej == 0 && opened == 0 {
		why = "no relay's breaker ever opened"
	}
	return verdict{Mixed, lead + " The failure cascaded to A's callers." + brk + " But the breakers did not make A fail fast: " + why + "." + also, n}
}

func keyOf(c *chainRun) string {
	if c == nil {
		return ""
	}
	return c.key
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
	st := count(p.Series, seconds(p.Series, ws, RestartSlack))
	n := map[string]float64{"downtime_s": span(ws), "sync_window_requests": st.sent, "sync_window_drops": st.drops, "sync_window_drop_ratio": st.ratio()}
	asyncOK, also := true, ""
	if _, a := in.pattern("async"); a != nil {
		if aws := in.faults(a, target("notification", "restart", "kill")); len(aws) > 0 {
			at := count(a.Series, seconds(a.Series, aws, RestartSlack))
			n["async_window_drop_ratio"], n["async_lost"], n["async_notify_p99_ms"] = at.ratio(), float64(a.Summary.Lost), a.Summary.Notify.P99
			asyncOK = at.ratio() <= Clean && a.Summary.Lost == 0
			also = fmt.Sprintf(" Async dropped %s in its window and lost %d: the backlog waited in Kafka (time-to-notify p99 %s).", pct(at.ratio()), a.Summary.Lost, ms(a.Summary.Notify.P99))
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
