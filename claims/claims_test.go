package claims

import (
	"fmt"
	"strings"
	"testing"

	"github.com/commbench/commbench/results"
)

// steady is a made-up run: sync, async and hybrid at 100 rps for 60 s,
// then 5 s of drain; sync's callers wait longer than async's, async's
// authors wait longer than sync's; nothing dropped, lost or faulted.
func steady() *results.Results {
	r := &results.Results{
		Schema:   results.SchemaVersion,
		Run:      results.RunInfo{Profile: "test", ProfileYAML: "name: test\n"},
		Order:    []string{"sync", "async", "hybrid"},
		Patterns: map[string]*results.Pattern{},
	}
	for _, name := range r.Order {
		r.Patterns[name] = pattern(func(float64) float64 { return 100 })
	}
	set := func(name string, api50, api99, n50, n99 float64) {
		s := &r.Patterns[name].Summary
		s.API.P50, s.API.P99, s.Notify.P50, s.Notify.P99 = api50, api99, n50, n99
	}
	set("sync", 10, 40, 8, 30)
	set("async", 3, 10, 20, 200)
	set("hybrid", 9, 30, 9, 60)
	return r
}

// pattern is one pattern's results with the offered rate rate(t) over a
// 60 s attack and a 5 s drain, everything sent, accepted and answered in
// 10 ms at p99 each second.
func pattern(rate func(t float64) float64) *results.Pattern {
	const attack, n = 60, 65
	p := &results.Pattern{Runs: 1}
	s := &p.Series
	s.AttackEndS = attack
	s.Drops = map[string][]int64{}
	for _, c := range results.DropClasses {
		s.Drops[c] = make([]int64, n)
	}
	var sent float64
	for i := range n {
		t := float64(i + 1)
		v := 0.0
		if t <= attack {
			v = rate(t)
		}
		sent += v
		s.T = append(s.T, t)
		s.OfferedRPS = append(s.OfferedRPS, v)
		s.AchievedRPS = append(s.AchievedRPS, v)
		s.AcceptedRPS = append(s.AcceptedRPS, v)
		s.APIP99 = append(s.APIP99, 10)
		s.PathSync = append(s.PathSync, int64(v))
		s.PathAsync = append(s.PathAsync, 0)
	}
	p.Summary.Requests, p.Summary.Accepted, p.Summary.Delivered = int64(sent), int64(sent), int64(sent)
	p.Summary.Drained = true
	return p
}

// withSurge makes every pattern's offered rate 100 rps, 1,000 rps from 20 s to
// 40 s, then 100 rps again.
func withSurge(r *results.Results) {
	for name := range r.Patterns {
		s := r.Patterns[name].Summary
		r.Patterns[name] = pattern(func(t float64) float64 {
			if t > 20 && t <= 40 {
				return 1000
			}
			return 100
		})
		r.Patterns[name].Summary.API, r.Patterns[name].Summary.Notify = s.API, s.Notify
	}
}

// drop makes pattern name drop n requests a second in (from, to].
func drop(r *results.Results, name string, from, to float64, n int64) {
	p := r.Patterns[name]
	for i, t := range p.Series.T {
		if t > from && t <= to {
			p.Series.Drops["http_503"][i] += n
			p.Series.AcceptedRPS[i] -= float64(n)
			p.Summary.Drops.Total += n
			p.Summary.Drops.HTTP503 += n
			p.Summary.Accepted -= n
		}
	}
}

// p99 sets pattern name's per-second API p99 to v in (from, to].
func p99(r *results.Results, name string, from, to, v float64) {
	p := r.Patterns[name]
	for i, t := range p.Series.T {
		if t > from && t <= to {
			p.Series.APIP99[i] = v
		}
	}
}

// trace gives pattern name hop p50s and every delivery traced.
func trace(r *results.Results, name string, api, handoff, queue, processing, provider float64) {
	s := &r.Patterns[name].Summary
	s.Traced = s.Delivered
	s.Hops.API.P50, s.Hops.Handoff.P50, s.Hops.Queue.P50, s.Hops.Processing.P50, s.Hops.Provider.P50 = api, handoff, queue, processing, provider
}

func fault(r *results.Results, target, kind string, from, to float64) {
	r.Run.Faults = append(r.Run.Faults, results.FaultWindow{Target: target, Kind: kind, StartS: from, EndS: to})
}

// chains replaces the run's patterns with chain patterns A→B→C→D
// (summary.chain_depth 4) under keys; a sync key whose variant name has a
// "g" or a "y" or is "cb" runs with breakers (the rule reads
// summary.chain_breaker, not the name). Every hop handles 100 calls a
// second without errors; A's p99 is 10 ms.
func chains(r *results.Results, keys ...string) {
	r.Patterns, r.Order = map[string]*results.Pattern{}, keys
	for _, k := range keys {
		p := pattern(func(float64) float64 { return 100 })
		_, v, _ := strings.Cut(k, ".")
		p.Summary.ChainDepth = 4
		p.Summary.ChainBreaker = strings.HasPrefix(k, "sync") && (v == "cb" || strings.ContainsAny(v, "gy"))
		p.Series.Chain = map[string]*results.HopSeries{}
		for _, h := range []string{"A", "B", "C", "D"} {
			svc := map[string]string{"A": "reaction", "D": "notification"}[h]
			if svc == "" {
				svc = "relay"
			}
			p.Summary.Chain = append(p.Summary.Chain, results.HopSummary{Name: h, Service: svc, Calls: p.Summary.Requests})
			hs := &results.HopSeries{}
			for _, v := range p.Series.AchievedRPS {
				hs.Calls = append(hs.Calls, int64(v))
				hs.Errors = append(hs.Errors, 0)
				hs.P99 = append(hs.P99, 10)
			}
			p.Series.Chain[h] = hs
		}
		r.Patterns[k] = p
	}
}

// hopErrors makes the named hops of key fail n calls a second in (from,
// to]; hop A's errors are drops.
func hopErrors(r *results.Results, key string, from, to float64, n int64, hops ...string) {
	for _, h := range hops {
		if h == "A" {
			drop(r, key, from, to, n)
		}
		hs := r.Patterns[key].Series.Chain[h]
		for i, t := range r.Patterns[key].Series.T {
			if t > from && t <= to {
				hs.Errors[i] += n
			}
		}
	}
}

// hopCalls sets the named hops' calls of key to n a second in (from, to].
func hopCalls(r *results.Results, key string, from, to float64, n int64, hops ...string) {
	for _, h := range hops {
		hs := r.Patterns[key].Series.Chain[h]
		for i, t := range r.Patterns[key].Series.T {
			if t > from && t <= to {
				hs.Calls[i] = n
			}
		}
	}
}

// variants replaces the run's patterns with pattern keys of profile
// variants (sync.r1, async.m3, ...), their profile given as yaml.
func variants(r *results.Results, yaml string, keys map[string][4]float64) {
	r.Run.ProfileYAML = yaml
	r.Patterns, r.Order = map[string]*results.Pattern{}, nil
	for k, v := range keys {
		p := pattern(func(float64) float64 { return 100 })
		p.Summary.API.P50, p.Summary.API.P99, p.Summary.Notify.P50, p.Summary.Notify.P99 = v[0], v[1], v[2], v[3]
		r.Patterns[k] = p
	}
	r.Order = r.Keys()
}

// The profiles are whole (stages included): claims reads them with
// profiles.Parse, which validates them.
const scaleYAML = `name: claims-scale
patterns: [sync]
stages: [{for: 10s, rate: 100}]
services:
  notification: {replicas: 1}
variants:
  - {name: r1, replicas: 1}
  - {name: lb, replicas: 1, balancer: nginx}
  - {name: r2, replicas: 2}
`

// surgeYAML's downstream serves 400 notifications a second (capacity 4,
// every call 10 ms): withSurge's base of 100 rps is within it, its peak of
// 1,000 rps is not.
const surgeYAML = `name: surge-test
patterns: [sync, async]
stages: [{for: 10s, rate: 100}]
services:
  provider: {latency: {p50: 10ms, p99: 10ms}, capacity: 4}
`

// surgeAt returns a have that runs withSurge under a profile whose provider
// has the given capacity, p50 and p99.
func surgeAt(capacity int, p50, p99 string) func(*results.Results) {
	return func(r *results.Results) {
		withSurge(r)
		r.Run.ProfileYAML = fmt.Sprintf("name: surge-test\npatterns: [sync, async]\nstages: [{for: 10s, rate: 100}]\nservices:\n  provider: {latency: {p50: %s, p99: %s}, capacity: %d}\n", p50, p99, capacity)
	}
}

// bound marks pattern name's seconds in (from, to] as bound with kind.
func bound(r *results.Results, name, kind string, from, to float64) {
	s := &r.Patterns[name].Series
	if len(s.Bound) < len(s.T) {
		s.Bound = append(s.Bound, make([]string, len(s.T)-len(s.Bound))...)
	}
	for i, t := range s.T {
		if t > from && t <= to {
			s.Bound[i] = kind
		}
	}
}

const fanoutYAML = `name: fanout
patterns: [async]
stages: [{for: 10s, rate: 100}]
variants:
  - {name: m1, groups: [notification]}
  - {name: m3, groups: [notification, analytics, search]}
`

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		id    string
		have  func(r *results.Results) // changes to steady()
		want  string
		words []string // in the evidence
	}{
		// sync-blocks-caller
		{"blocks: sync slower", "sync-blocks-caller", nil, Holds, []string{"10.0 ms at p50", "3.00 ms"}},
		{"blocks: sync as fast", "sync-blocks-caller", func(r *results.Results) {
			r.Patterns["sync"].Summary.API.P50, r.Patterns["sync"].Summary.API.P99 = 2, 5
		}, DoesNotHold, []string{"no longer than async's"}},
		{"blocks: p99 only", "sync-blocks-caller", func(r *results.Results) {
			r.Patterns["sync"].Summary.API.P50 = 2
		}, Mixed, nil},
		{"blocks: variants stand in, and are named", "sync-blocks-caller", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 40, 8, 30}, "async.r1": {3, 10, 20, 200}})
		}, Holds, []string{"(Compared: sync.r1 and async.r1.)"}},
		{"blocks: a broker fault does not decide it", "sync-blocks-caller", func(r *results.Results) {
			fault(r, "broker", "kill", 30, 40)
			r.Patterns["async"].Summary.API.P99 = 3000 // the produce waited out the broker
			for name, v := range map[string][3]float64{"sync": {10, 40, 8}, "async": {3, 10, 20}} {
				s := &r.Patterns[name].Series
				s.APIP50, s.NotifyP50 = make([]float64, len(s.T)), make([]float64, len(s.T))
				for i, t := range s.T {
					s.APIP50[i], s.APIP99[i], s.NotifyP50[i] = v[0], v[1], v[2]
					if name == "async" && t > 30 && t <= 42 {
						s.APIP99[i] = 3000
					}
				}
			}
		}, Holds, []string{"Left out: fault windows; the latencies are medians", "async's callers waited 3.00 ms and 10.0 ms"}},
		{"blocks: no async", "sync-blocks-caller", func(r *results.Results) { delete(r.Patterns, "async") }, NotExercised, []string{"async"}},

		// sync-provision-for-peak
		{"peak: sync drops at the peak", "sync-provision-for-peak", func(r *results.Results) {
			surgeAt(4, "10ms", "10ms")(r)
			drop(r, "sync", 20, 40, 200)
		}, Holds, []string{"1000 rps", "20%", "the provider serves ~400/s: capacity 4 at mean 10.0 ms", "2.5x"}},
		// The rule can come out against the claim: sync took a peak
		// above what its downstream was modelled to serve.
		{"peak: sync takes a peak above its downstream's capacity", "sync-provision-for-peak", surgeAt(4, "10ms", "10ms"), DoesNotHold, []string{"took the peak", "although the peak exceeded"}},
		{"peak: slower only", "sync-provision-for-peak", func(r *results.Results) {
			surgeAt(4, "10ms", "10ms")(r)
			p99(r, "sync", 20, 40, 20)
		}, Mixed, nil},
		// The surge profile of issue 12: 256 slots at ~7.5 ms serve
		// ~34,000/s, far above any peak here.
		{"peak: within the downstream's capacity", "sync-provision-for-peak", func(r *results.Results) {
			surgeAt(256, "5ms", "40ms")(r)
			drop(r, "sync", 20, 40, 200)
		}, NotExercised, []string{"stayed within", "capacity 256 at mean 7.4"}},
		{"peak: three replicas triple it", "sync-provision-for-peak", func(r *results.Results) {
			surgeAt(4, "10ms", "10ms")(r)
			r.Patterns["sync"].Summary.Replicas = 3
		}, NotExercised, []string{"~1200/s: 3 replicas, each capacity 4"}},
		{"peak: the base is above it too", "sync-provision-for-peak", surgeAt(1, "20ms", "20ms"), NotExercised, []string{"Even the base (100 rps)", "~50/s"}},
		{"peak: no profile to model the downstream from", "sync-provision-for-peak", withSurge, NotExercised, []string{"does not parse"}},
		{"peak: no surge", "sync-provision-for-peak", nil, NotExercised, []string{"No surge"}},

		// sync-cascades (variant names made up: the rule reads the summary)
		{"cascades: to A, and breakers fail it fast", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.plain", "sync.guarded", "async.chain")
			fault(r, "provider", "outage", 30, 40)
			hopErrors(r, "sync.plain", 30, 40, 100, "D", "C", "B", "A")
			p99(r, "sync.plain", 30, 40, 2000)
			hopErrors(r, "sync.guarded", 30, 40, 100, "D", "C", "B", "A")
			r.Patterns["sync.guarded"].Summary.Chain[2].Rejected = 900
			r.Patterns["sync.guarded"].Summary.Chain[2].Opened = 3
			r.Patterns["async.chain"].Summary.Chain[3].PeakLag = 2500
		}, Holds, []string{"D 1000 errors, C 1000, B 1000, A 1000 drops (83%)", "10.0 ms before the fault to 2000 ms inside", "breakers opened 3 times and rejected 900 calls", "failed A's calls fast", "A still dropped 83%", "What the breakers changed, in the window: A's p99 2000 ms → 10.0 ms, A's drops 83% → 83%, calls reaching D 1200 → 1200.", "The async chain (async.chain) kept A out of it", "peaked at 2500 (into D)"}},
		{"cascades: no breaker run", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.a")
			fault(r, "provider", "slowdown", 30, 40)
			p99(r, "sync.a", 30, 40, 900)
		}, Holds, []string{`"unless circuit breakers stop it" half was not exercised`}},
		{"cascades: a killed D refuses fast, with or without breakers", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.x", "sync.y")
			fault(r, "notification", "kill", 30, 40)
			for _, k := range []string{"sync.x", "sync.y"} {
				hopErrors(r, k, 30, 40, 100, "C", "B", "A")
				hopCalls(r, k, 30, 40, 0, "D")
			}
			r.Patterns["sync.y"].Summary.Chain[1].Rejected = 800
		}, Holds, []string{"D killed, C 1000 errors, B 1000, A 1000 drops"}},
		// As a real claims-chain run: A's own breaker opened first, so the
		// relays' breakers tripped but had nothing to reject.
		{"cascades: breakers trip, A's rejects", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.nocb", "sync.cb")
			fault(r, "notification", "pause", 20, 35)
			hopErrors(r, "sync.nocb", 20, 35, 100, "C", "B", "A")
			p99(r, "sync.nocb", 20, 35, 2004)
			hopErrors(r, "sync.cb", 20, 35, 100, "A")
			p99(r, "sync.cb", 20, 24, 2002)
			p99(r, "sync.cb", 24, 35, 2.4)
			r.Patterns["sync.cb"].Summary.Chain[1].Opened, r.Patterns["sync.cb"].Summary.Chain[2].Opened = 3, 3
		}, Holds, []string{"D paused, C 1500 errors", "opened 6 times and rejected 0 calls", "failed A's calls fast"}},
		{"cascades: D's fault stays at D", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.nocb", "sync.cb")
			fault(r, "provider", "outage", 30, 40)
			hopErrors(r, "sync.nocb", 30, 40, 100, "D")
			p99(r, "sync.nocb", 30, 40, 30) // slower, not by 50 ms
		}, DoesNotHold, []string{"did not reach A", "D 1000 errors, C 0, B 0, A 0 drops (0%)"}},
		{"cascades: breakers as slow as none", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.nocb", "sync.cb")
			fault(r, "provider", "slowdown", 30, 40)
			p99(r, "sync.nocb", 30, 40, 2000)
			p99(r, "sync.cb", 30, 40, 1900)
			r.Patterns["sync.cb"].Summary.Chain[3].Rejected = 40
		}, Mixed, []string{"above half of the no-breaker run's (2000 ms)"}},
		{"cascades: breakers never opened", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.nocb", "sync.cb")
			fault(r, "provider", "outage", 30, 40)
			hopErrors(r, "sync.nocb", 30, 40, 100, "D", "C", "B", "A")
			hopErrors(r, "sync.cb", 30, 40, 100, "D", "C", "B", "A")
		}, Mixed, []string{"no relay's breaker ever opened"}},
		{"cascades: no chain", "sync-cascades", nil, NotExercised, []string{"no chain"}},
		{"cascades: no fault on D", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.nocb", "async.nocb")
			fault(r, "broker", "pause", 30, 40)
		}, NotExercised, []string{"no fault hit its last service D"}},
		{"cascades: breakers only", "sync-cascades", func(r *results.Results) {
			chains(r, "sync.cb", "async")
			fault(r, "notification", "restart", 30, 40)
		}, NotExercised, []string{"without circuit breakers", "sync.cb and async"}},

		// sync-couples-deployments
		{"coupling: sync fails in the restart", "sync-couples-deployments", func(r *results.Results) {
			fault(r, "notification", "restart", 30, 40)
			drop(r, "sync", 30, 40, 100)
		}, Holds, []string{"notification restart 30–40 s", "1000 of 1200"}},
		{"coupling: nobody noticed", "sync-couples-deployments", func(r *results.Results) {
			fault(r, "notification", "kill", 30, 40)
		}, DoesNotHold, []string{"did not reach"}},
		{"coupling: async failed too", "sync-couples-deployments", func(r *results.Results) {
			fault(r, "notification", "restart", 30, 40)
			drop(r, "sync", 30, 40, 100)
			drop(r, "async", 30, 40, 100)
		}, Mixed, nil},
		{"coupling: a pause is no deployment", "sync-couples-deployments", func(r *results.Results) {
			fault(r, "notification", "pause", 30, 40)
		}, NotExercised, nil},

		// async-absorbs-surge
		{"surge: absorbed", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag, r.Patterns["async"].Summary.DrainS = 5000, 4
		}, Holds, []string{"peaked at 5000", "lost 0"}},
		{"surge: lost", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag, r.Patterns["async"].Summary.Lost = 5000, 3
		}, DoesNotHold, []string{"lost 3"}},
		{"surge: dropped", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag = 5000
			drop(r, "async", 20, 25, 10)
		}, DoesNotHold, []string{"dropped 50"}},
		{"surge: drops in a broker fault do not count here", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag = 5000
			fault(r, "broker", "kill", 50, 55)
			drop(r, "async", 50, 55, 10)
		}, Holds, nil},
		// Dead letters are data loss too: their authors were never notified.
		{"surge: dead-lettered", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag, r.Patterns["async"].Summary.DeadLettered = 5000, 7
		}, DoesNotHold, []string{"dead-lettered 7 accepted reactions", "never notified 7"}},
		{"surge: never notified from summary.never_notified", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			s := &r.Patterns["async"].Summary
			s.PeakLag, s.Lost, s.DeadLettered, s.NeverNotified = 5000, 2, 3, 5
		}, DoesNotHold, []string{"lost 2 accepted reactions", "dead-lettered 3 accepted", "never notified 5"}},
		{"surge: dead letters a provider outage may explain", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag, r.Patterns["async"].Summary.DeadLettered = 5000, 7
			fault(r, "provider", "outage", 50, 55)
		}, Mixed, []string{"dead-lettered 7", "provider outage 50–55 s", "does not say when"}},
		{"surge: no backlog", "async-absorbs-surge", withSurge, Mixed, []string{"no backlog"}},
		{"surge: none", "async-absorbs-surge", nil, NotExercised, nil},

		// async-retries-dead-letters
		{"retries: delivered late", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "outage", 30, 40)
			drop(r, "sync", 30, 40, 100)
			r.Patterns["async"].Summary.DeadLettered = 12
		}, Holds, []string{"12 were dead-lettered", "at least 988 of them were delivered after", "Sync failed 100%"}},
		{"retries: nothing to dead-letter", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "outage", 30, 40)
		}, Holds, []string{"dead-letter half was not exercised", "at least 1000"}},
		// Only dead letters: the retries gave up on every reaction of the
		// outage, none is shown delivered by a retry.
		{"retries: only dead letters", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "outage", 30, 40)
			r.Patterns["async"].Summary.DeadLettered = 1000
		}, DoesNotHold, []string{"accepted 1000 reactions and dead-lettered 1000", "gave up rather than delivered"}},
		{"retries: nothing accepted in the outage", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "outage", 30, 40)
			drop(r, "async", 30, 40, 100)
			r.Patterns["async"].Summary.Drops = results.Drops{} // left out of the window's count, as if dropped elsewhere
			for i := range r.Patterns["async"].Series.Drops["http_503"] {
				r.Patterns["async"].Series.Drops["http_503"][i] = 0
			}
		}, NotExercised, []string{"accepted no reaction"}},
		{"retries: lost", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "outage", 30, 40)
			r.Patterns["async"].Summary.Lost = 5
		}, DoesNotHold, []string{"lost 5"}},
		{"retries: still retrying", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "outage", 30, 40)
			r.Patterns["async"].Summary.Drained = false
		}, Mixed, nil},
		{"retries: a slowdown fails nothing", "async-retries-dead-letters", func(r *results.Results) {
			fault(r, "provider", "slowdown", 30, 40)
		}, NotExercised, nil},

		// async-eventual-consistency
		{"eventual: async later", "async-eventual-consistency", nil, Holds, []string{"20.0 ms vs sync's 8.00 ms"}},
		{"eventual: async as fast", "async-eventual-consistency", func(r *results.Results) {
			r.Patterns["async"].Summary.Notify.P50, r.Patterns["async"].Summary.Notify.P99 = 5, 20
		}, DoesNotHold, nil},
		{"eventual: p99 only", "async-eventual-consistency", func(r *results.Results) {
			r.Patterns["async"].Summary.Notify.P50 = 5
		}, Mixed, nil},
		{"eventual: no sync", "async-eventual-consistency", func(r *results.Results) { delete(r.Patterns, "sync") }, NotExercised, nil},

		// broker-spof
		{"broker: async fails, hybrid goes around", "broker-spof", func(r *results.Results) {
			fault(r, "broker", "kill", 30, 40)
			drop(r, "async", 30, 40, 100)
		}, Holds, []string{"async failed 1000", "Hybrid kept answering"}},
		{"broker: a hybrid loss is cited, not left out", "broker-spof", func(r *results.Results) {
			fault(r, "broker", "kill", 30, 40)
			drop(r, "async", 30, 40, 100)
			r.Patterns["hybrid"].Summary.Lost = 1
		}, Holds, []string{"Hybrid kept answering", "Loss: hybrid lost 1 accepted reaction(s)"}},
		{"broker: async rides it out", "broker-spof", func(r *results.Results) {
			fault(r, "broker", "pause", 30, 35)
		}, DoesNotHold, []string{"rode out"}},
		{"broker: no broker fault", "broker-spof", nil, NotExercised, []string{"--broker local"}},

		// tracing-harder
		{"tracing: traces broke at the broker", "tracing-harder", func(r *results.Results) {
			trace(r, "sync", 1, 0.2, 2, 0.5, 6)
			trace(r, "async", 1, 0.2, 2.5, 0.5, 6)
			r.Patterns["async"].Summary.Traced /= 2
		}, Holds, []string{"50% of its deliveries, sync's for 100%", "Traces broke"}},
		// A long queue hop is not a harder trace: traced completely, the
		// claim does not hold, and the evidence says where the wait was.
		{"tracing: complete, the wait past the broker", "tracing-harder", func(r *results.Results) {
			trace(r, "sync", 1, 0.2, 0.3, 0.5, 6)
			trace(r, "async", 1, 0.2, 15, 0.5, 6)
		}, DoesNotHold, []string{"as completely as sync", "fetch 15.0 ms", "21.5 ms of the 22.7 ms"}},
		{"tracing: both incomplete", "tracing-harder", func(r *results.Results) {
			trace(r, "sync", 1, 0.2, 2, 0.5, 6)
			trace(r, "async", 1, 0.2, 2.5, 0.5, 6)
			r.Patterns["sync"].Summary.Traced /= 2
			r.Patterns["async"].Summary.Traced /= 2
		}, Mixed, []string{"Neither was traced completely"}},
		{"tracing: no sync hops", "tracing-harder", func(r *results.Results) {
			trace(r, "async", 1, 0.2, 2.5, 0.5, 6)
		}, NotExercised, []string{"for sync"}},
		{"tracing: no hops in results.json", "tracing-harder", nil, NotExercised, []string{"hops_ms"}},

		// lb-hop-3-5ms
		{"lb: 4 ms", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 20, 8, 18}, "sync.lb": {14, 25, 8, 18}, "sync.r2": {11, 21, 8, 18}})
		}, Holds, []string{"added 4.00 ms", "lower bound"}},
		// Against the claim: the balancer's processing alone cost more.
		{"lb: 7 ms", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 20, 8, 18}, "sync.lb": {17, 30, 8, 18}})
		}, DoesNotHold, []string{"added 7.00 ms", "more than the claim's 3–5 ms"}},
		{"lb: loopback has no round trip", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 20, 8, 18}, "sync.lb": {10.2, 20.5, 8, 18}})
		}, NotExercised, []string{"added 0.20 ms", "sync.lb", "no network round trip"}},
		{"lb: replicas differ", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 20, 8, 18}, "sync.r2": {10.3, 20.5, 8, 18}})
		}, NotExercised, []string{"same number of replicas", "not be the balancer's alone"}},
		{"lb: knobs from the summary", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, "name: x\n", map[string][4]float64{"sync.direct": {10, 20, 8, 18}, "sync.via": {16, 21, 8, 18}})
			r.Patterns["sync.direct"].Summary.Replicas, r.Patterns["sync.direct"].Summary.Balancer = 1, "none"
			r.Patterns["sync.via"].Summary.Replicas, r.Patterns["sync.via"].Summary.Balancer = 1, "nginx"
		}, DoesNotHold, []string{"added 6.00 ms"}},
		{"lb: no variants", "lb-hop-3-5ms", nil, NotExercised, nil},

		// fanout-free-for-producer
		{"fanout: producer unchanged", "fanout-free-for-producer", func(r *results.Results) {
			variants(r, fanoutYAML, map[string][4]float64{"async.m1": {3, 10, 20, 200}, "async.m3": {3.1, 10.5, 25, 220}})
		}, Holds, []string{"3 consumer groups instead of 1"}},
		{"fanout: producer slowed", "fanout-free-for-producer", func(r *results.Results) {
			variants(r, fanoutYAML, map[string][4]float64{"async.m1": {3, 10, 20, 200}, "async.m3": {6, 40, 25, 220}})
		}, DoesNotHold, []string{"rose from 10.0 ms to 40.0 ms"}},
		{"fanout: a little", "fanout-free-for-producer", func(r *results.Results) {
			variants(r, fanoutYAML, map[string][4]float64{"async.m1": {3, 10, 20, 200}, "async.m3": {3.5, 12.5, 25, 220}})
		}, Mixed, nil},
		{"fanout: groups from the summary", "fanout-free-for-producer", func(r *results.Results) {
			variants(r, "name: x\n", map[string][4]float64{"async.one": {3, 10, 20, 200}, "async.two": {3, 10, 20, 200}})
			r.Patterns["async.one"].Summary.Replicas = 1
			r.Patterns["async.two"].Summary.Replicas = 1
			r.Patterns["async.two"].Summary.Groups = []results.GroupSummary{{Name: "analytics"}}
		}, Holds, []string{"2 consumer groups instead of 1"}},
		{"fanout: one group", "fanout-free-for-producer", nil, NotExercised, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := steady()
			if tc.have != nil {
				tc.have(r)
			}
			got := find(t, Evaluate(r), tc.id)
			if got.Verdict != tc.want {
				t.Errorf("verdict %q, want %q; evidence: %s", got.Verdict, tc.want, got.Evidence)
			}
			for _, w := range tc.words {
				if !strings.Contains(got.Evidence, w) {
					t.Errorf("evidence %q lacks %q", got.Evidence, w)
				}
			}
			if got.Evidence == "" || got.Claim == "" {
				t.Errorf("claim %q with evidence %q: want both", got.Claim, got.Evidence)
			}
			// A decided verdict names what it was decided from, so that
			// judge reads those patterns, not every pattern of the run.
			if got.Verdict != NotExercised {
				in := &run{r: r, prof: parseProfile(r.Run)}
				for _, rl := range rules {
					if rl.id == tc.id {
						rl.eval(in)
					}
				}
				if len(in.read.keys) == 0 {
					t.Errorf("%s decided %q without recording a pattern it read", tc.id, got.Verdict)
				}
			}
		})
	}
}

func find(t *testing.T, cs []results.Claim, id string) results.Claim {
	t.Helper()
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no claim %q in %v", id, cs)
	return results.Claim{}
}

// TestEvaluateEveryRule: one claim per rule, in order, with a known
// verdict, even for results with nothing in them.
func TestEvaluateEveryRule(t *testing.T) {
	for _, r := range []*results.Results{steady(), {Patterns: map[string]*results.Pattern{}}} {
		cs := Evaluate(r)
		if len(cs) != len(rules) {
			t.Fatalf("got %d claims, want %d", len(cs), len(rules))
		}
		for i, c := range cs {
			if c.ID != rules[i].id {
				t.Errorf("claim %d is %q, want %q", i, c.ID, rules[i].id)
			}
			if !contains(Verdicts, c.Verdict) {
				t.Errorf("%s: verdict %q is none of %v", c.ID, c.Verdict, Verdicts)
			}
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestCascadesNumbers: the figures behind sync-cascades, by role (not by
// variant name) and with their units.
func TestCascadesNumbers(t *testing.T) {
	r := steady()
	chains(r, "sync.plain", "sync.guarded", "async.chain")
	fault(r, "provider", "outage", 30, 40)
	hopErrors(r, "sync.plain", 30, 40, 100, "D", "C", "B", "A")
	p99(r, "sync.plain", 30, 40, 2000)
	r.Patterns["sync.guarded"].Summary.Chain[2].Rejected = 900
	r.Patterns["async.chain"].Summary.Lost = 2
	got := find(t, Evaluate(r), "sync-cascades").Numbers
	for k, want := range map[string]float64{
		"fault_s": 10, "sync_nocb_a_window_p99_ms": 2000, "sync_nocb_a_pre_p99_ms": 10, "sync_nocb_a_window_drop_ratio": 0.83,
		"sync_nocb_d_window_errors": 1000, "sync_nocb_b_window_errors": 1000, "sync_cb_rejected": 900, "sync_cb_a_window_p99_ms": 10,
		"async_a_window_drop_ratio": 0, "async_lost": 2,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}

func TestKnobsOf(t *testing.T) {
	const parsed = `name: k
patterns: [sync, async]
stages: [{for: 10s, rate: 100}]
services:
  notification: {replicas: 2}
  kafka: {groups: [notification, analytics]}
variants:
  - {name: one, replicas: 1, balancer: none, groups: [notification]}
  - {name: lb1, replicas: 1}
`
	for _, tt := range []struct {
		yaml   string
		key    string
		want   knobs
		wantOK bool
	}{
		{parsed, "sync", knobs{2, "nginx", 2}, true},         // the profile's: nginx is the default in front of 2 replicas
		{parsed, "sync.2", knobs{2, "nginx", 2}, true},       // a repeat is its first run
		{parsed, "async.one", knobs{1, "none", 1}, true},     // a variant's knobs over the profile's
		{parsed, "sync.lb1", knobs{1, "nginx", 2}, true},     // the profile's balancer stays, as profiles.Apply keeps it
		{parsed, "sync.one.3", knobs{1, "none", 1}, true},    // a variant's repeat has the variant's knobs
		{parsed, "sync.nope", knobs{}, false},                // a variant the profile does not name
		{"name: x\n", "sync", knobs{1, "none", 1}, true},     // a profile that does not parse: one process, direct
		{"name: x\n", "sync.r1", knobs{1, "none", 1}, false}, // and no variants
	} {
		r := steady()
		r.Run.ProfileYAML = tt.yaml
		in := &run{r: r, prof: parseProfile(r.Run)}
		got, ok := in.knobsOf(tt.key)
		if ok != tt.wantOK || ok && got != tt.want {
			t.Errorf("knobsOf(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestInconclusive: a verdict decided from bound seconds, from a pattern
// that is not ok or does not know what it lost, or in a partial run, is
// inconclusive with the reason and what the numbers would have said; a
// clean one, one from results that record no validity, and one whose
// bound seconds lie outside what the rule read keep their verdict.
func TestInconclusive(t *testing.T) {
	peakHolds := func(r *results.Results) {
		surgeAt(4, "10ms", "10ms")(r)
		drop(r, "sync", 20, 40, 200)
	}
	for _, tc := range []struct {
		name  string
		id    string
		have  func(r *results.Results)
		want  string
		words []string
	}{
		// Holds as TestEvaluate has it, then contended.
		{"clean: validity ok, no bound second", "sync-blocks-caller", func(r *results.Results) {
			for _, k := range r.Keys() {
				r.Patterns[k].Summary.Validity = results.ValidityOK
				bound(r, k, "", 0, 0)
			}
		}, Holds, nil},
		{"holds, a bound second in the pattern", "sync-blocks-caller", func(r *results.Results) {
			bound(r, "async", results.ValidityMachineBound, 10, 11)
		}, Inconclusive, []string{"Inconclusive: async was machine-bound in 1 of its 65 seconds", `numbers say "holds": Sync's callers waited`}},
		{"does not hold, a bound second", "sync-blocks-caller", func(r *results.Results) {
			r.Patterns["sync"].Summary.API.P50, r.Patterns["sync"].Summary.API.P99 = 2, 5
			bound(r, "sync", results.ValidityGeneratorBound, 10, 12)
			bound(r, "sync", results.ValidityMachineBound, 12, 13)
		}, Inconclusive, []string{"sync was machine-bound in 1 and generator-bound in 2 of its 65 seconds", `say "does not hold"`}},
		{"mixed, a bound second", "sync-blocks-caller", func(r *results.Results) {
			r.Patterns["sync"].Summary.API.P50 = 2
			bound(r, "sync", results.ValidityMachineBound, 10, 11)
		}, Inconclusive, []string{`say "mixed"`}},
		// A whole-run read follows the pattern's validity: bound seconds
		// within its bound_fraction are said, not decided on.
		{"whole run, validity ok, bound seconds within", "async-eventual-consistency", func(r *results.Results) {
			r.Patterns["async"].Summary.Validity = results.ValidityOK
			bound(r, "async", results.ValidityGeneratorBound, 10, 12)
			late(r, "async", 10, 12, 2) // 4 of 6,000 sends
		}, Holds, []string{"Bound seconds: async was generator-bound in 2 of its 65 seconds (4 of its 6000 sends at risk, 0.067%); the pattern is ok (at most 5% of its attack seconds bound)"}},
		{"whole run, validity ok, too many sends at risk", "async-eventual-consistency", func(r *results.Results) {
			r.Patterns["async"].Summary.Validity = results.ValidityOK
			bound(r, "async", results.ValidityGeneratorBound, 10, 12)
			late(r, "async", 10, 12, 4) // 8 of 6,000
		}, Inconclusive, []string{"async was generator-bound in 2 of its 65 seconds, with 8 of its 6000 sends at risk"}},
		{"whole run, validity ok, a machine-bound second puts all its sends at risk", "async-eventual-consistency", func(r *results.Results) {
			r.Patterns["async"].Summary.Validity = results.ValidityOK
			bound(r, "async", results.ValidityMachineBound, 10, 11)
		}, Inconclusive, []string{"with 100 of its 6000 sends at risk"}},
		{"whole run, validity unrecorded, a bound second", "async-eventual-consistency", func(r *results.Results) {
			bound(r, "async", results.ValidityGeneratorBound, 10, 11)
		}, Inconclusive, []string{"async was generator-bound in 1 of its 65 seconds"}},
		// A rule that reads seconds one by one (here the seconds outside
		// the faults) is decided again without the bound ones, left out
		// of both patterns it compares; the verdict stands when it is the
		// same and at least ⅔ of the seconds remain (settle.go).
		{"calm: bound seconds change nothing", "sync-blocks-caller", func(r *results.Results) {
			calmSeries(r)
			bound(r, "async", results.ValidityGeneratorBound, 10, 12)
		}, Holds, []string{"Left out: fault windows", "async's callers waited 3.00 ms and 10.0 ms",
			"Bound seconds: async was generator-bound in 2 of the 48 seconds this verdict reads (t = 11–12 s)",
			"the seconds read left: sync 46 of its 48, async 46 of its 48", `Read with them, the numbers say "holds" too`}},
		{"calm: most seconds bound", "sync-blocks-caller", func(r *results.Results) {
			calmSeries(r)
			bound(r, "async", results.ValidityGeneratorBound, 0, 50)
		}, Inconclusive, []string{"async was generator-bound in 38 of the 48 seconds this verdict reads",
			"the bound seconds are too many to leave out: without them the seconds read left are sync 10 of its 48, async 10 of its 48, and at least ⅔ must be"}},
		{"a pattern not ok", "async-eventual-consistency", func(r *results.Results) {
			r.Patterns["async"].Summary.Validity = results.ValidityGeneratorBound
			r.Patterns["async"].Summary.ValidityReason = "the generator sent late for 31 s"
		}, Inconclusive, []string{"async is generator-bound (the generator sent late for 31 s)"}},
		{"a partial run", "sync-blocks-caller", func(r *results.Results) {
			r.Run.Partial, r.Run.PartialReason = true, "interrupted"
		}, Inconclusive, []string{"the run was partial (interrupted)"}},
		{"a partial run exercises nothing more", "broker-spof", func(r *results.Results) {
			r.Run.Partial = true
		}, NotExercised, nil},
		{"surge absorbed with async not ok: contention only makes it worse", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag, r.Patterns["async"].Summary.DrainS = 5000, 4
			bound(r, "async", results.ValidityMachineBound, 20, 30)
			r.Patterns["async"].Summary.Validity, r.Patterns["async"].Summary.BoundS = results.ValidityMachineBound, 10
		}, Holds, []string{"async is machine-bound over its whole attack, 10 s bound", "can only make worse"}},
		{"surge dropped with async not ok: the machine may have set it", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag = 5000
			drop(r, "async", 20, 25, 10)
			bound(r, "async", results.ValidityMachineBound, 20, 30)
			r.Patterns["async"].Summary.Validity, r.Patterns["async"].Summary.BoundS = results.ValidityMachineBound, 10
		}, Inconclusive, []string{"async is machine-bound", `say "does not hold"`}},
		{"lost unknown can support no loss statement", "async-absorbs-surge", func(r *results.Results) {
			withSurge(r)
			r.Patterns["async"].Summary.PeakLag, r.Patterns["async"].Summary.DrainS = 5000, 4
			r.Patterns["async"].Summary.LostUnknown = true
		}, Inconclusive, []string{"async's final ledger read failed"}},

		// The window: sync-provision-for-peak reads sync's peak and base
		// seconds only.
		{"peak: bound seconds in the peak change nothing", "sync-provision-for-peak", func(r *results.Results) {
			peakHolds(r)
			bound(r, "sync", results.ValidityMachineBound, 25, 30)
		}, Holds, []string{"Bound seconds: sync was machine-bound in 5 of the 60 seconds this verdict reads (t = 26–30 s)", "sync 55 of its 60", "change nothing"}},
		{"peak: bound seconds in the peak, sync not ok", "sync-provision-for-peak", func(r *results.Results) {
			peakHolds(r)
			bound(r, "sync", results.ValidityMachineBound, 25, 30)
			r.Patterns["sync"].Summary.Validity, r.Patterns["sync"].Summary.BoundS = results.ValidityMachineBound, 5
		}, Holds, []string{"sync is machine-bound over its whole attack, 5 s bound", "change nothing", `say "holds"`}},
		{"peak: a bound second in the drain is outside its window", "sync-provision-for-peak", func(r *results.Results) {
			peakHolds(r)
			bound(r, "sync", results.ValidityMachineBound, 62, 63)
		}, Holds, nil},
		{"peak: async is only quoted", "sync-provision-for-peak", func(r *results.Results) {
			peakHolds(r)
			r.Patterns["async"].Summary.Validity, r.Patterns["async"].Summary.ValidityReason = results.ValidityMachineBound, "the machine set these numbers for 31 s"
		}, Holds, []string{"Quoted, not decided from: async is machine-bound (the machine set these numbers for 31 s)."}},
		{"peak: sync not ok although its window is clean", "sync-provision-for-peak", func(r *results.Results) {
			peakHolds(r)
			r.Patterns["sync"].Summary.Validity, r.Patterns["sync"].Summary.BoundS = results.ValidityMachineBound, 9
		}, Holds, []string{"none in the", "sync is machine-bound over its whole attack (9 s bound"}},

		// A rule over variants records the keys it compared.
		{"lb: the balancer's run was bound", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 20, 8, 18}, "sync.lb": {14, 25, 8, 18}, "sync.r2": {11, 21, 8, 18}})
			bound(r, "sync.lb", results.ValidityMachineBound, 1, 2)
		}, Inconclusive, []string{"sync.lb was machine-bound in 1"}},
		{"lb: a variant it did not compare was bound", "lb-hop-3-5ms", func(r *results.Results) {
			variants(r, scaleYAML, map[string][4]float64{"sync.r1": {10, 20, 8, 18}, "sync.lb": {14, 25, 8, 18}, "sync.r2": {11, 21, 8, 18}})
			bound(r, "sync.r2", results.ValidityMachineBound, 1, 2)
		}, Holds, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := steady()
			tc.have(r)
			got := find(t, Evaluate(r), tc.id)
			if got.Verdict != tc.want {
				t.Errorf("verdict %q, want %q; evidence: %s", got.Verdict, tc.want, got.Evidence)
			}
			for _, w := range tc.words {
				if !strings.Contains(got.Evidence, w) {
					t.Errorf("evidence %q lacks %q", got.Evidence, w)
				}
			}
		})
	}
}

// late sets n late sends in each of pattern name's seconds in (from, to].
func late(r *results.Results, name string, from, to float64, n int64) {
	s := &r.Patterns[name].Series
	if len(s.LateSends) < len(s.T) {
		s.LateSends = append(s.LateSends, make([]int64, len(s.T)-len(s.LateSends))...)
	}
	for i, t := range s.T {
		if t > from && t <= to {
			s.LateSends[i] = n
		}
	}
}

// calmSeries gives sync and async a broker fault at 30–40 s and constant
// per-second latencies outside it (sync 10/40 ms, async 3/10 ms).
func calmSeries(r *results.Results) {
	fault(r, "broker", "kill", 30, 40)
	for name, v := range map[string][3]float64{"sync": {10, 40, 8}, "async": {3, 10, 20}} {
		s := &r.Patterns[name].Series
		s.APIP50, s.NotifyP50 = make([]float64, len(s.T)), make([]float64, len(s.T))
		for i := range s.T {
			s.APIP50[i], s.APIP99[i], s.NotifyP50[i] = v[0], v[1], v[2]
		}
	}
}

// TestJudgeUnrecorded: a rule that records none of its reads is judged
// against every pattern of the run.
func TestJudgeUnrecorded(t *testing.T) {
	r := steady()
	bound(r, "hybrid", results.ValidityMachineBound, 1, 2)
	in := &run{r: r}
	got := in.judge(verdict{verdict: Holds, evidence: "It held."})
	if got.verdict != Inconclusive || !strings.Contains(got.evidence, "hybrid was machine-bound in 1") {
		t.Errorf("got %q: %s; want inconclusive, hybrid named", got.verdict, got.evidence)
	}
	if got.numbers["bound_s"] != 1 {
		t.Errorf("bound_s = %v, want 1", got.numbers["bound_s"])
	}
}
