package harness_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// The chain tests: A → B → C → D with D paused (SIGSTOP) in the middle of
// the attack. Sync without breakers, the hang travels back to A: its
// errors and latency rise. With a breaker on every hop, A fails fast: its
// callers get 503s from open breakers instead of waiting out timeouts.
// Async, A does not notice, and nothing is lost.

// chainProfile is a 10 s run at 100 rps through a chain of four with D
// paused from 2 s to 6 s.
func chainProfile(t *testing.T, patterns ...pattern.Pattern) *profiles.Profile {
	t.Helper()
	p := faultProfile(t, 10*time.Second, patterns,
		profiles.Fault{At: dur(2 * time.Second), For: dur(4 * time.Second), Target: profiles.TargetNotification, Kind: profiles.KindPause})
	p.Services.Reaction.Timeout = dur(time.Second)
	p.Services.Chain = profiles.Chain{Depth: 4, TripFailures: 5, OpenFor: dur(time.Second), Timeout: dur(time.Second)}
	return p
}

// hopIn sums a hop's errors and calls over the seconds that overlap w
// (plus slack), and takes the highest p99 among them.
func hopIn(pat *results.Pattern, hop string, w results.FaultWindow, slack float64) (errs, calls int64, p99 float64, states []string) {
	hs := pat.Series.Chain[hop]
	for i, t := range pat.Series.T {
		if t > w.StartS && t-1 < w.EndS+slack && i < len(hs.Calls) {
			errs += hs.Errors[i]
			calls += hs.Calls[i]
			p99 = max(p99, hs.P99[i])
			if i < len(hs.Breaker) {
				states = append(states, hs.Breaker[i])
			}
		}
	}
	return errs, calls, p99, states
}

func checkChainShape(t *testing.T, key string, pat *results.Pattern) {
	t.Helper()
	s := pat.Summary
	if s.ChainDepth != 4 || len(s.Chain) != 4 {
		t.Fatalf("%s: chain depth %d with %d hops, want 4 and 4", key, s.ChainDepth, len(s.Chain))
	}
	for i, want := range []string{"A", "B", "C", "D"} {
		h := s.Chain[i]
		if h.Name != want || pat.Series.Chain[want] == nil || len(pat.Series.Chain[want].Calls) != len(pat.Series.T) {
			t.Fatalf("%s: hop %d is %+v with series %v, want %s with one sample a second", key, i, h, pat.Series.Chain[want] != nil, want)
		}
		if h.Calls == 0 {
			t.Errorf("%s: hop %s counted no calls", key, want)
		}
	}
}

func TestChainSyncCascade(t *testing.T) {
	p := chainProfile(t, pattern.Sync)
	yes, no := true, false
	p.Variants = []profiles.Variant{{Name: "nocb", Breaker: &no}, {Name: "cb", Breaker: &yes}}
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"sync.nocb", "sync.cb"} {
		pat, w := window(t, res, key, profiles.KindPause)
		checkChainShape(t, key, pat)
		in, before := split(pat, w, 1)
		t.Logf("%s: A in the pause %+v, before %+v; drops %+v", key, in, before, pat.Summary.Drops)
		for _, h := range pat.Summary.Chain {
			t.Logf("%s: hop %s %s: calls %d errors %d rejected %d opened %d p50/p99 %.1f/%.1f ms",
				key, h.Name, h.Service, h.Calls, h.Errors, h.Rejected, h.Opened, h.Latency.P50, h.Latency.P99)
		}
		if before.drops != 0 {
			t.Errorf("%s: %d drops before D was paused", key, before.drops)
		}
		if in.drops == 0 {
			t.Errorf("%s: A dropped nothing while D was paused: the failure did not reach A", key)
		}
		for _, hop := range []string{"B", "C"} {
			if errs, _, _, _ := hopIn(pat, hop, w, 1); errs == 0 {
				t.Errorf("%s: hop %s counted no errors while D was paused", key, hop)
			}
		}
	}
	nocb, cb := res.Patterns["sync.nocb"], res.Patterns["sync.cb"]
	_, w := window(t, res, "sync.nocb", profiles.KindPause)
	// Without breakers, every call in the pause waits out A's timeout (1 s):
	// a lower bound, not a measured speed.
	if in, _ := split(nocb, w, 1); in.p99 < 1000 {
		t.Errorf("sync.nocb: A's p99 in the pause %.0f ms, want at least A's 1 s timeout", in.p99)
	}
	if nocb.Summary.Drops.HTTP503 != 0 {
		t.Errorf("sync.nocb: %d answers 503 without a breaker, want timeouts (504) only", nocb.Summary.Drops.HTTP503)
	}
	// With breakers, A's callers get 503 from an open breaker: A failed fast.
	rejected := int64(0)
	for _, h := range cb.Summary.Chain {
		rejected += h.Rejected
	}
	_, _, _, states := hopIn(cb, "A", w, 1)
	if a := cb.Summary.Chain[0]; cb.Summary.Drops.HTTP503 == 0 || !slices.Contains(states, "open") || a.Rejected == 0 || a.Opened == 0 {
		t.Errorf("sync.cb: %d answers 503, A's breaker %v in the pause, opened %d, rejected %d: want fast 503s from an open breaker", cb.Summary.Drops.HTTP503, states, a.Opened, a.Rejected)
	}
	if !cb.Summary.ChainBreaker || nocb.Summary.ChainBreaker {
		t.Errorf("chain_breaker: nocb %v, cb %v", nocb.Summary.ChainBreaker, cb.Summary.ChainBreaker)
	}
	t.Logf("sync.cb: %d calls rejected by open breakers", rejected)
}

func TestChainAsyncAbsorbs(t *testing.T) {
	b := localKafka(t)
	p := chainProfile(t, pattern.Async)
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Existing: b})
	if err != nil {
		t.Fatal(err)
	}
	pat, w := window(t, res, "async", profiles.KindPause)
	checkChainShape(t, "async", pat)
	s := pat.Summary
	for _, h := range s.Chain {
		t.Logf("async: hop %s %s: calls %d errors %d p99 %.1f ms peak lag %d", h.Name, h.Service, h.Calls, h.Errors, h.Latency.P99, h.PeakLag)
	}
	in, _ := split(pat, w, 1)
	t.Logf("async: A in the pause %+v; accepted %d delivered %d lost %d", in, s.Accepted, s.Delivered, s.Lost)
	if s.Drops.Total != 0 {
		t.Errorf("async: A dropped %d while D was paused: the pause reached the producer", s.Drops.Total)
	}
	if s.Lost != 0 || !s.Drained || s.Delivered < s.Accepted {
		t.Errorf("async: lost %d, delivered %d of %d (drained %v), want every accepted reaction delivered", s.Lost, s.Delivered, s.Accepted, s.Drained)
	}
	if s.Chain[3].PeakLag == 0 {
		t.Errorf("async: D's group never lagged while D was paused")
	}
	// Every relay forwarded every reaction (at least once).
	for _, h := range s.Chain[1:3] {
		if h.Calls < s.Accepted {
			t.Errorf("async: relay %s forwarded %d, want at least the %d accepted", h.Name, h.Calls, s.Accepted)
		}
	}
}
