package claims

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// The claim about chains of sync calls: a failure cascades unless circuit
// breakers stop it.

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
	pre          []int                 // the calm seconds before the first of them
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
	c.pre = pre
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

// dCalls is how many calls the chain's last hop handled in the window:
// what reached D.
func (c *chainRun) dCalls() (int64, bool) {
	names := c.hopNames()
	if len(names) < 2 {
		return 0, false
	}
	hs := c.p.Series.Chain[names[len(names)-1]]
	if hs == nil {
		return 0, false
	}
	var n int64
	for _, i := range c.win {
		if i < len(hs.Calls) {
			n += hs.Calls[i]
		}
	}
	return n, true
}

// changed says what the breakers changed, cb against nocb, in D's fault
// window: A's p99 and drops, and the calls that still reached D.
func changed(nocb, cb *chainRun, n map[string]float64) string {
	s := fmt.Sprintf(" What the breakers changed, in the window: A's p99 %s → %s, A's drops %s → %s", ms(nocb.win99), ms(cb.win99), pct(nocb.a.ratio()), pct(cb.a.ratio()))
	if a, ok := nocb.dCalls(); ok {
		if b, ok := cb.dCalls(); ok {
			n["sync_nocb_d_window_calls"], n["sync_cb_d_window_calls"] = float64(a), float64(b)
			s += fmt.Sprintf(", calls reaching D %d → %d", a, b)
		}
	}
	return s + "."
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
// fail fast. With a breaker run the evidence says what the breakers
// changed (A's p99 and drops in the window, the calls that still reached
// D); without one it says the "unless" half was not exercised. The async
// chain, when it ran, is evidence only (A's drops, p99, lost, peak lag):
// the claim is about sync chains.
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

	// The verdict is decided from the sync chains: the no-breaker one in
	// its window and the calm seconds before it, the breaker one as a
	// whole (its breakers' counts span the run); the async chain is quoted.
	in.get(nocb.key)
	in.window(nocb.key, nocb.pre, nocb.win)
	if cb != nil {
		in.get(cb.key)
	}
	if async != nil {
		in.getAside(async.key)
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
			cb.key, opened, rej, cb.damage(n, "sync_cb"), ms(cb.pre99), ms(cb.win99)) + changed(nocb, cb, n)
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
		also = fmt.Sprintf(" The async chain (%s) %s: A dropped %s in the window (p99 %s before, %s inside), %s; %s.",
			async.key, how, pct(async.a.ratio()), ms(async.pre99), ms(async.win99), lostText(s), backlog)
	}

	switch {
	case !nocb.reached():
		return verdict{DoesNotHold, lead + " The fault did not reach A: its callers saw neither drops (at most 1%) nor waiting." + brk + also, n}
	case cb == nil:
		return verdict{Holds, lead + " The failure cascaded to A's callers. The claim's \"unless circuit breakers stop it\" half was not exercised: no sync chain with breakers ran (services.chain.breaker, as in the claims-chain profile's variants)." + also, n}
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
