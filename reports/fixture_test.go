package reports

import (
	"encoding/base64"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/results"
)

// synthetic is a made-up run of the three patterns, attack seconds long
// plus a short drain, shaped like the surge profile: 500 rps, a surge to
// 2,000 rps, and a provider outage from 60% to 75% of the attack. sync
// drops (503, timeouts) in the outage, async builds lag and drains it,
// hybrid falls back to Kafka. It is deterministic: testdata/results.json
// is synthetic(120, 1), testdata/b/results.json synthetic(120, 2) and
// the size test draws synthetic(3600, 1).
func synthetic(attack int, seed uint64) *results.Results {
	rng := rand.New(rand.NewPCG(seed, 2))
	sh := newSurge(attack)
	started := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	faults := []results.FaultWindow{{Target: "provider", Kind: "outage", StartS: sh.outFrom, EndS: sh.outTo}}
	r := &results.Results{
		Schema: results.SchemaVersion,
		Run: results.RunInfo{
			ID: "20261124-140000-surge", Profile: "surge",
			Description: "500 rps, a surge to 2,000 rps, a provider outage; notification capacity below peak.",
			ProfileFile: "profiles/surge.yaml",
			ProfileYAML: "name: surge\npatterns: [sync, async, hybrid]\nstages:\n  - {for: 24s, rate: 500}\n  - {for: 5s, rate: 500, to: 2000}\n",
			Started:     started, Finished: started.Add(7 * time.Minute), Repeat: 1,
			Machine:  results.Machine{OS: "linux", Arch: "amd64", CPUs: 2, CPUModel: "AMD EPYC", MemoryBytes: 24 << 30, GoVersion: "go1.26.8"},
			Broker:   results.BrokerInfo{Kind: "embedded", Version: "kfake", Label: "embedded kfake (not Apache Kafka) at 127.0.0.1:9092", Addrs: []string{"127.0.0.1:9092"}, Partitions: 8},
			Faults:   faults,
			Warnings: []string{"Kafka was embedded kfake (not Apache Kafka): its timings are not Apache Kafka's"},
			Version:  "test",
		},
		Order:    []string{"sync", "async", "hybrid"},
		Patterns: map[string]*results.Pattern{},
	}
	r.Run.Calibration = &results.Calibration{At: started.Add(-time.Hour), CeilingRPS: 12000, FloorRPS: 1000, CPURate: 5000, CPUUsPerReq: 38.5, BudgetS: 25}
	r.Run.Calibration.FloorMs.P50, r.Run.Calibration.FloorMs.P99 = 0.21, 0.93

	drainS := map[string]int{"sync": 1, "async": 12, "hybrid": 6}
	for _, name := range r.Order {
		r.Patterns[name] = sh.pattern(rng, name, drainS[name])
		r.Patterns[name].Faults = faults
	}
	addValidity(r, 2, seed)
	return r
}

// surge is the shape of synthetic's run, in seconds from the attack's
// start.
type surge struct {
	attack                             int
	surgeFrom, surgeTo, outFrom, outTo float64
}

func newSurge(attack int) surge {
	at := func(f float64) float64 { return math.Round(f * float64(attack)) }
	return surge{attack: attack, surgeFrom: at(0.2), surgeTo: at(0.45), outFrom: at(0.6), outTo: at(0.75)}
}

func (sh surge) offered(t float64) float64 {
	switch {
	case t < sh.surgeFrom:
		return 500
	case t < sh.surgeFrom+5:
		return 500 + 1500*(t-sh.surgeFrom)/5
	case t < sh.surgeTo:
		return 2000
	case t < sh.surgeTo+5:
		return 2000 - 1500*(t-sh.surgeTo)/5
	}
	return 500
}

func (sh surge) inOutage(t float64) bool { return t > sh.outFrom && t <= sh.outTo }

// surgeSecond is one second of one of synthetic's patterns.
type surgeSecond struct {
	off, achieved, drop503, dropTimeout float64
	p50, p99, pmax, n50, n99            float64 // API and time-to-notify, ms
	pathSync, pathAsync                 float64
}

// second is the pattern name's second ending at t; lag carries the
// backlog from one second to the next.
func (sh surge) second(rng *rand.Rand, name string, t float64, lag *float64) surgeSecond {
	var x surgeSecond
	if t <= float64(sh.attack) {
		x.off = sh.offered(t)
	}
	out := sh.inOutage(t)
	x.achieved = x.off * (1 - 0.004*rng.Float64())
	if t > sh.surgeFrom+6 && t < sh.surgeTo-6 && name == "sync" {
		x.achieved = x.off * (0.97 + 0.02*rng.Float64()) // the generator falls behind
	}
	x.p50, x.p99, x.pmax = 3+rng.Float64(), 9+4*rng.Float64(), 20+30*rng.Float64()
	x.n50, x.n99 = 2.5+rng.Float64(), 10+5*rng.Float64()
	switch name {
	case "sync":
		if out {
			x.drop503, x.dropTimeout = x.achieved*0.9, x.achieved*0.05
			x.p50, x.p99, x.pmax = 1.2, 2000+500*rng.Float64(), 5000
		} else if x.off > 1000 {
			x.p50, x.p99, x.pmax = 40+20*rng.Float64(), 300+100*rng.Float64(), 900
		}
		x.pathSync = x.achieved - x.drop503 - x.dropTimeout
		x.n50, x.n99 = x.p50*0.8, x.p99*0.9
	case "async":
		x.p50, x.p99, x.pmax = 2.5+rng.Float64(), 6+2*rng.Float64(), 15+10*rng.Float64()
		x.pathAsync = x.achieved
		capacity := 1200.0
		if out {
			capacity = 0
		}
		*lag = max(0, *lag+x.achieved-capacity)
		x.n50, x.n99 = 5+*lag/capacityOr(capacity)*1000, 15+*lag/capacityOr(capacity)*1500
	case "hybrid":
		if out || x.off > 1500 {
			x.pathAsync = x.achieved
			x.p50, x.p99, x.pmax = 52+rng.Float64(), 60+10*rng.Float64(), 120
			*lag = max(0, *lag+x.achieved-1100)
		} else {
			x.pathSync = x.achieved * 0.98
			x.pathAsync = x.achieved - x.pathSync
			*lag = max(0, *lag-900)
		}
		if out {
			*lag = max(0, *lag+x.achieved)
		}
		x.n50, x.n99 = 4+*lag/2, 15+*lag
	}
	if t > float64(sh.attack) {
		x.achieved, x.pathSync, x.pathAsync, x.drop503, x.dropTimeout = 0, 0, 0, 0, 0
		x.p50, x.p99, x.pmax = 0, 0, 0
		*lag = max(0, *lag-1500)
	}
	return x
}

// pattern is the pattern name's series and summary over the attack and
// drain seconds of drain.
func (sh surge) pattern(rng *rand.Rand, name string, drain int) *results.Pattern {
	n := sh.attack + drain
	s := results.Series{AttackEndS: float64(sh.attack), Drops: map[string][]int64{}, CPU: map[string][]float64{}, RSSMB: map[string][]float64{}}
	for _, class := range results.DropClasses {
		s.Drops[class] = make([]int64, n)
	}
	api, unc, notify := hist(), hist(), hist()
	var sum results.Summary
	lag, delivered, offeredSum := 0.0, int64(0), 0.0
	for i := range n {
		t := float64(i + 1)
		x := sh.second(rng, name, t, &lag)
		offeredSum += x.off
		accepted := x.pathSync + x.pathAsync
		delivered += int64(accepted)
		s.T = append(s.T, t)
		s.OfferedRPS = append(s.OfferedRPS, x.off)
		s.AchievedRPS = append(s.AchievedRPS, x.achieved)
		s.AcceptedRPS = append(s.AcceptedRPS, accepted)
		s.PathSync = append(s.PathSync, int64(x.pathSync))
		s.PathAsync = append(s.PathAsync, int64(x.pathAsync))
		s.APIP50, s.APIP99, s.APIMax = append(s.APIP50, x.p50), append(s.APIP99, x.p99), append(s.APIMax, x.pmax)
		s.NotifyP50, s.NotifyP99 = append(s.NotifyP50, x.n50), append(s.NotifyP99, x.n99)
		s.Delivered = append(s.Delivered, delivered)
		if name != "sync" {
			s.Lag = append(s.Lag, int64(lag))
			sum.PeakLag = max(sum.PeakLag, int64(lag))
		}
		s.Drops["http_503"][i] = int64(x.drop503)
		s.Drops["timeout"][i] = int64(x.dropTimeout)
		procs := map[string]float64{"reaction": x.achieved / 3000, "notification": accepted / 2500, "generator": x.achieved / 4000}
		if name != "sync" {
			procs["broker"] = x.pathAsync / 3500
		}
		for _, proc := range slices.Sorted(maps.Keys(procs)) {
			v := procs[proc]
			s.CPU[proc] = append(s.CPU[proc], math.Round((v+0.01*rng.Float64())*1000)/1000)
			s.RSSMB[proc] = append(s.RSSMB[proc], 20+v*10)
		}
		// Histograms: a few values a second stand for the second.
		for range int(x.achieved / 50) {
			v := x.p50 * math.Exp(rng.NormFloat64()*math.Log(x.p99/x.p50)/2.33)
			api.RecordValue(int64(math.Min(v, 60000) * 1000))
			unc.RecordValue(int64(math.Min(v*0.8, 60000) * 1000))
		}
		for range int(accepted / 50) {
			v := x.n50 * math.Exp(rng.NormFloat64()*math.Log(max(x.n99, x.n50*1.1)/x.n50)/2.33)
			notify.RecordValue(int64(math.Min(v, 600000) * 1000))
		}
		sum.Requests += int64(x.achieved)
		sum.Accepted += int64(accepted)
		sum.AcceptedSync += int64(x.pathSync)
		sum.AcceptedAsync += int64(x.pathAsync)
		sum.Drops.HTTP503 += int64(x.drop503)
		sum.Drops.Timeout += int64(x.dropTimeout)
	}
	sum.OfferedRPS = offeredSum / float64(sh.attack)
	sum.API, sum.APIUncorrected, sum.Notify = percentiles(api), percentiles(unc), percentiles(notify)
	pat := &results.Pattern{Summary: syntheticSummary(sum, name, sh.attack, drain), Series: s, Runs: 1}
	pat.Histograms.API, pat.Histograms.APIUncorrected, pat.Histograms.Notify = encode(api), encode(unc), encode(notify)
	return pat
}

// syntheticSummary completes the summary sum of the pattern name from
// the counts its seconds added up.
func syntheticSummary(sum results.Summary, name string, attack, drain int) results.Summary {
	sum.Drops.Total = sum.Drops.HTTP503 + sum.Drops.Timeout
	sum.AchievedRPS = float64(sum.Requests) / float64(attack)
	sum.GoodputRPS = float64(sum.Accepted) / float64(attack)
	sum.Saturated = name == "sync"
	sum.LateSends = map[bool]int64{true: 4211}[name == "sync"]
	sum.Delivered = sum.Accepted
	sum.Indeterminate = sum.Drops.Timeout
	if name == "async" {
		sum.Duplicated, sum.DeadLettered = 3, 12
	}
	if name == "hybrid" {
		sum.Lost = 1
	}
	sum.DrainS, sum.Drained = float64(drain)-0.4, true
	sum.CPUSecondsPer1k = map[string]float64{"reaction": 0.31, "notification": 0.42, "generator": 0.25, "total": 0.98}
	if name != "sync" {
		sum.CPUSecondsPer1k["broker"] = 0.37
		sum.CPUSecondsPer1k["total"] = 1.35
	}
	sum.Hops, sum.Traced = syntheticHops[name], sum.Delivered
	return sum
}

// syntheticHops are the patterns' hops, shaped like a run's: sync's queue
// is the wire, async's is Kafka; the outage's waits are in processing.
var syntheticHops = map[string]results.Hops[results.HopPercentiles]{
	"sync": {
		API: hp(0.21, 1.8, 12), Handoff: hp(0.04, 0.3, 4),
		Queue: hp(0.12, 2.1, 30), Processing: hp(0.3, 48, 900), Provider: hp(5.1, 39, 80),
	},
	"async": {
		API: hp(0.2, 1.5, 10), Handoff: hp(0.04, 0.3, 3),
		Queue: hp(4.2, 2400, 9100), Processing: hp(0.4, 310, 5200), Provider: hp(5, 38, 79),
	},
	"hybrid": {
		API: hp(0.22, 1.9, 11), Handoff: hp(0.05, 51, 60),
		Queue: hp(0.15, 900, 4000), Processing: hp(0.35, 120, 2000), Provider: hp(5.1, 39, 81),
	},
}

func hp(p50, p99, hi float64) results.HopPercentiles {
	return results.HopPercentiles{P50: p50, P99: p99, Max: hi}
}

func capacityOr(c float64) float64 { return max(c, 600) }

func hist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 600_000_000, 3) }

func percentiles(h *hdrhistogram.Histogram) results.Percentiles {
	q := func(p float64) float64 { return float64(h.ValueAtQuantile(p)) / 1000 }
	return results.Percentiles{P50: q(50), P90: q(90), P99: q(99), P999: q(99.9), Max: float64(h.Max()) / 1000}
}

func encode(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		panic(err)
	}
	if _, err := base64.StdEncoding.DecodeString(string(b)); err != nil {
		panic(err) // Encode gives base64 already
	}
	return string(b)
}

// syntheticChain is a made-up run of the claims-chain profile: a chain
// A→B→C→D at 300 rps for 90 s, run sync without breakers (sync.nocb),
// sync with a breaker on every hop (sync.cb) and async. D is killed from
// 20 to 30 s and the provider is 5x slower from 50 to 65 s. Without
// breakers the kill comes back to A as fast errors and the slowdown as
// waiting up to the relays' 2 s timeout; with breakers A fails fast, and
// a little longer (an open breaker waits 5 s before a trial call); async
// answers A throughout and D's lag absorbs both. It is deterministic:
// testdata/chain/results.json is syntheticChain(1).
func syntheticChain(seed uint64) *results.Results {
	rng := rand.New(rand.NewPCG(seed, 3))
	const attack, rate = 90, 300.0
	killFrom, killTo, slowFrom, slowTo := 20.0, 30.0, 50.0, 65.0
	killed := func(t float64) bool { return t > killFrom && t <= killTo }
	slow := func(t float64) bool { return t > slowFrom && t <= slowTo }
	started := time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC)
	faults := []results.FaultWindow{
		{Target: "notification", Kind: "kill", StartS: killFrom, EndS: killTo},
		{Target: "provider", Kind: "slowdown", StartS: slowFrom, EndS: slowTo, Detail: "factor 5"},
	}
	r := &results.Results{
		Schema: results.SchemaVersion,
		Run: results.RunInfo{
			ID: "20261124-170000-claims-chain", Profile: "claims-chain",
			Description: "A→B→C→D at 300 rps: D killed, then the provider 5x slower; sync without and with breakers, async.",
			ProfileFile: "profiles/claims-chain.yaml",
			ProfileYAML: "name: claims-chain\npatterns: [sync, async]\nservices:\n  chain: {depth: 4}\nvariants:\n  - {name: nocb, breaker: false}\n  - {name: cb, breaker: true, patterns: [sync]}\n",
			Started:     started, Finished: started.Add(6 * time.Minute), Repeat: 1,
			Machine: results.Machine{OS: "linux", Arch: "amd64", CPUs: 2, CPUModel: "AMD EPYC", MemoryBytes: 24 << 30, GoVersion: "go1.26.8"},
			Broker:  results.BrokerInfo{Kind: "local", Version: "4.3.1", Label: "Apache Kafka 4.3.1 (local, KRaft)", Addrs: []string{"127.0.0.1:9092"}, Partitions: 8},
			Faults:  faults,
			Version: "test",
		},
		Order:    []string{"sync.nocb", "sync.cb", "async"},
		Patterns: map[string]*results.Pattern{},
	}
	hops := []string{"A", "B", "C", "D"}
	services := []string{"reaction", "relay", "relay", "notification"}
	for _, key := range r.Order {
		async, breaker := key == "async", key == "sync.cb"
		n := attack + 2
		if async {
			n = attack + 8
		}
		s := results.Series{AttackEndS: attack, Drops: map[string][]int64{}, CPU: map[string][]float64{}, RSSMB: map[string][]float64{}, Chain: map[string]*results.HopSeries{}}
		for _, class := range results.DropClasses {
			s.Drops[class] = make([]int64, n)
		}
		for _, h := range hops {
			s.Chain[h] = &results.HopSeries{}
		}
		api, unc, notify := hist(), hist(), hist()
		hopHist := []*hdrhistogram.Histogram{hist(), hist(), hist(), hist()}
		sum := results.Summary{ChainDepth: 4, ChainBreaker: breaker}
		chain := make([]results.HopSummary, 4)
		for i, h := range hops {
			chain[i] = results.HopSummary{Name: h, Service: services[i]}
		}
		lag, delivered, openUntil := 0.0, int64(0), 0.0
		for i := range n {
			t := float64(i + 1)
			sent := 0.0
			if t <= attack {
				sent = rate * (1 - 0.004*rng.Float64())
			}
			// Per hop, A first: calls, errors, rejected and p99 this second.
			var calls, errs, rej [4]float64
			var p99 [4]float64
			d99 := 38 + 6*rng.Float64()
			for j := range 4 {
				calls[j], p99[j] = sent, d99+float64(3-j)*1.5
			}
			var dropKind string
			capacity := 1.0 // D's share of its normal throughput (async)
			switch {
			case killed(t):
				capacity = 0
			case slow(t):
				capacity = 0.35
			}
			if sent == 0 {
				calls, p99 = [4]float64{}, [4]float64{}
			}
			switch {
			case sent == 0:
			case async:
				// A, B and C go on; D reads what it can, the rest waits in Kafka.
				backlog := lag + sent
				done := min(backlog, rate*1.8*capacity)
				lag = backlog - done
				calls[3] = done
				if killed(t) {
					p99[3] = 0
				} else if slow(t) {
					p99[3] = 190 + 20*rng.Float64()
				}
				// A and the relays wait for a produce only.
				p99[0], p99[1], p99[2] = 6+2*rng.Float64(), 4+rng.Float64(), 4+rng.Float64()
			case killed(t) || (breaker && t > killTo && t <= openUntil):
				// A killed D refuses at once: every hop fails fast. With
				// breakers, C's opens at the first failures, B's and A's
				// follow, and stay open until a trial call passes.
				calls[3] = 0
				errs = [4]float64{sent, sent, sent, 0}
				p99 = [4]float64{4 + rng.Float64(), 2.5, 1.5, 0}
				dropKind = "http_5xx"
				if breaker {
					if t == killFrom+1 {
						openUntil = killTo + 5
					}
					calls = [4]float64{sent, 8, 2, 0}
					errs = [4]float64{sent, 8, 2, 0}
					rej = [4]float64{sent - 8, 6, 2, 0}
					p99 = [4]float64{1.2, 0.9, 0.8, 0}
					dropKind = "http_503"
				}
				if t > killTo {
					calls[3], errs[3] = 1, 0 // the trial call
				}
			case slow(t):
				// The provider is slower: D waits for provider slots, the
				// relays wait for D until their 2 s timeout, A for them.
				k := min(1, (t-slowFrom)/4)
				timedOut := sent * 0.12 * k
				p99[3] = 200 + 1700*k + 80*rng.Float64()
				p99[2], p99[1] = min(p99[3]+5, 2000), min(p99[3]+8, 2000)
				p99[0] = p99[1] + 350*k + 50*rng.Float64()
				errs = [4]float64{timedOut, timedOut, timedOut, 0}
				dropKind = "timeout"
				if breaker && t > slowFrom+2 {
					// C's breaker opens on the timeouts: calls fail fast.
					calls[3], calls[2], calls[1] = sent*0.1, sent*0.1, sent
					errs = [4]float64{sent * 0.9, sent * 0.9, sent * 0.9, 0}
					rej = [4]float64{0, sent * 0.9, sent * 0.9, 0}
					p99 = [4]float64{48 + 10*rng.Float64(), 42, 40, p99[3]}
					dropKind = "http_503"
				}
			}
			drops := errs[0]
			accepted := sent - drops
			delivered += int64(calls[3] - errs[3])
			s.T = append(s.T, t)
			s.OfferedRPS = append(s.OfferedRPS, map[bool]float64{true: rate}[t <= attack])
			s.AchievedRPS = append(s.AchievedRPS, sent)
			s.AcceptedRPS = append(s.AcceptedRPS, accepted)
			if async {
				s.PathSync, s.PathAsync = append(s.PathSync, 0), append(s.PathAsync, int64(accepted))
				s.Lag = append(s.Lag, int64(lag))
				sum.PeakLag = max(sum.PeakLag, int64(lag))
			} else {
				s.PathSync, s.PathAsync = append(s.PathSync, int64(accepted)), append(s.PathAsync, 0)
			}
			a50 := 0.0
			if sent > 0 {
				a50 = min(p99[0], 9+2*rng.Float64())
			}
			s.APIP50 = append(s.APIP50, a50)
			s.APIP99 = append(s.APIP99, p99[0])
			s.APIMax = append(s.APIMax, p99[0]*1.4)
			n50, n99 := a50, p99[0]
			if async {
				n50, n99 = 12+lag/rate*1000, 40+lag/rate*1600
			}
			if calls[3]-errs[3] <= 0 {
				n50, n99 = 0, 0
			}
			s.NotifyP50 = append(s.NotifyP50, n50)
			s.NotifyP99 = append(s.NotifyP99, n99)
			s.Delivered = append(s.Delivered, delivered)
			if dropKind != "" {
				s.Drops[dropKind][i] = int64(drops)
			}
			for j, h := range hops {
				hs := s.Chain[h]
				hs.Calls = append(hs.Calls, int64(calls[j]))
				hs.Errors = append(hs.Errors, int64(errs[j]))
				hs.P99 = append(hs.P99, sig(p99[j]))
				if async && j > 0 {
					l := int64(0)
					if j == 3 {
						l = int64(lag)
					}
					hs.Lag = append(hs.Lag, l)
				}
				if breaker && j < 3 {
					state := "closed"
					if rej[j] > 0 {
						state = "open"
					}
					hs.Breaker = append(hs.Breaker, state)
				}
				c := &chain[j]
				c.Calls += int64(calls[j])
				c.Errors += int64(errs[j])
				c.Rejected += int64(rej[j])
				if j == 0 {
					// The load generator counts A's rejections among its
					// drops, and no trips: only its breaker's state.
					c.Rejected = 0
				} else if rej[j] > 0 && (i == 0 || s.Chain[h].Breaker[i-1] != "open") {
					c.Opened++
				}
				if j > 0 && async {
					c.PeakLag = max(c.PeakLag, hs.Lag[i])
				}
				for range int(calls[j] / 30) {
					if p99[j] > 0 {
						hopHist[j].RecordValue(int64(p99[j] / 3 * math.Exp(rng.NormFloat64()*0.45) * 1000))
					}
				}
			}
			procs := map[string]float64{"reaction": sent / 3000, "relay": sent / 2000, "notification": calls[3] / 2500, "generator": sent / 4000}
			if async {
				procs["broker"] = sent / 1200
			}
			for _, proc := range slices.Sorted(maps.Keys(procs)) {
				v := procs[proc]
				s.CPU[proc] = append(s.CPU[proc], math.Round((v+0.01*rng.Float64())*1000)/1000)
				s.RSSMB[proc] = append(s.RSSMB[proc], 20+v*10)
			}
			for range int(sent / 30) {
				v := max(a50, 0.1) * math.Exp(rng.NormFloat64()*math.Log(max(p99[0], a50*1.1, 0.2)/max(a50, 0.1))/2.33)
				api.RecordValue(int64(math.Min(v, 60000) * 1000))
				unc.RecordValue(int64(math.Min(v*0.9, 60000) * 1000))
			}
			for range int((calls[3] - errs[3]) / 30) {
				if n50 > 0 {
					v := n50 * math.Exp(rng.NormFloat64()*math.Log(max(n99, n50*1.1)/n50)/2.33)
					notify.RecordValue(int64(math.Min(v, 600000) * 1000))
				}
			}
			sum.Requests += int64(sent)
			sum.Accepted += int64(accepted)
			if dropKind != "" {
				sum.Drops.Total += int64(drops)
				switch dropKind {
				case "timeout":
					sum.Drops.Timeout += int64(drops)
				case "http_503":
					sum.Drops.HTTP503 += int64(drops)
				default:
					sum.Drops.HTTP5xx += int64(drops)
				}
			}
		}
		if async {
			sum.AcceptedAsync = sum.Accepted
		} else {
			sum.AcceptedSync = sum.Accepted
		}
		sum.OfferedRPS, sum.AchievedRPS = rate, float64(sum.Requests)/attack
		sum.GoodputRPS = float64(sum.Accepted) / attack
		sum.API, sum.APIUncorrected, sum.Notify = percentiles(api), percentiles(unc), percentiles(notify)
		sum.Delivered = sum.Accepted
		sum.DrainS, sum.Drained = 0.6, true
		if async {
			sum.DrainS = 6.2
		}
		sum.Indeterminate = sum.Drops.Timeout
		sum.CPUSecondsPer1k = map[string]float64{"reaction": 0.31, "relay": 0.52, "notification": 0.4, "generator": 0.25, "total": 1.48}
		if async {
			sum.CPUSecondsPer1k["broker"], sum.CPUSecondsPer1k["total"] = 0.81, 2.29
		}
		for j := range chain {
			chain[j].Latency = percentiles(hopHist[j])
		}
		chain[0].Latency = sum.API // A's latency is the API's
		sum.Chain = chain
		pat := &results.Pattern{Summary: sum, Series: s, Runs: 1, Faults: faults}
		pat.Histograms.API, pat.Histograms.APIUncorrected, pat.Histograms.Notify = encode(api), encode(unc), encode(notify)
		r.Patterns[key] = pat
	}
	return r
}
