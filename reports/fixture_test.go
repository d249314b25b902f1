package reports

import (
	"encoding/base64"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/loadgen"
)

// synthetic is a made-up run of the three patterns, attack seconds long
// plus a short drain, shaped like the surge profile: 500 rps, a surge to
// 2,000 rps, and a provider outage from 60% to 75% of the attack. sync
// drops (503, timeouts) in the outage, async builds lag and drains it,
// hybrid falls back to Kafka. It is deterministic: testdata/results.json
// is synthetic(120, 1), testdata/b/results.json synthetic(120, 2) and
// the size test draws synthetic(3600, 1).
func synthetic(attack int, seed uint64) *loadgen.Results {
	rng := rand.New(rand.NewPCG(seed, 2))
	at := func(f float64) float64 { return math.Round(f * float64(attack)) }
	outFrom, outTo := at(0.6), at(0.75)
	surgeFrom, surgeTo := at(0.2), at(0.45)
	offered := func(t float64) float64 {
		switch {
		case t < surgeFrom:
			return 500
		case t < surgeFrom+5:
			return 500 + 1500*(t-surgeFrom)/5
		case t < surgeTo:
			return 2000
		case t < surgeTo+5:
			return 2000 - 1500*(t-surgeTo)/5
		}
		return 500
	}
	inOutage := func(t float64) bool { return t > outFrom && t <= outTo }
	started := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	faults := []loadgen.FaultWindow{{Target: "provider", Kind: "outage", StartS: outFrom, EndS: outTo}}
	r := &loadgen.Results{
		Schema: loadgen.SchemaVersion,
		Run: loadgen.RunInfo{
			ID: "20261124-140000-surge", Profile: "surge",
			Description: "500 rps, a surge to 2,000 rps, a provider outage; notification capacity below peak.",
			ProfileFile: "profiles/surge.yaml",
			ProfileYAML: "name: surge\npatterns: [sync, async, hybrid]\nstages:\n  - {for: 24s, rate: 500}\n  - {for: 5s, rate: 500, to: 2000}\n",
			Started:     started, Finished: started.Add(7 * time.Minute), Repeat: 1,
			Machine:  loadgen.Machine{OS: "linux", Arch: "amd64", CPUs: 2, CPUModel: "AMD EPYC", MemoryBytes: 24 << 30, GoVersion: "go1.26.8"},
			Broker:   loadgen.BrokerInfo{Kind: "embedded", Version: "kfake", Label: "embedded kfake (not Apache Kafka) at 127.0.0.1:9092", Addrs: []string{"127.0.0.1:9092"}, Partitions: 8},
			Faults:   faults,
			Warnings: []string{"Kafka was embedded kfake (not Apache Kafka): its timings are not Apache Kafka's"},
			Version:  "test",
		},
		Order:    []string{"sync", "async", "hybrid"},
		Patterns: map[string]*loadgen.Pattern{},
	}
	r.Run.Calibration = &loadgen.Calibration{At: started.Add(-time.Hour), CeilingRPS: 12000, FloorRPS: 1000}
	r.Run.Calibration.FloorMs.P50, r.Run.Calibration.FloorMs.P99 = 0.21, 0.93

	drainS := map[string]int{"sync": 1, "async": 12, "hybrid": 6}
	for _, name := range r.Order {
		n := attack + drainS[name]
		s := loadgen.Series{AttackEndS: float64(attack), Drops: map[string][]int64{}, CPU: map[string][]float64{}, RSSMB: map[string][]float64{}}
		for _, class := range loadgen.DropClasses {
			s.Drops[class] = make([]int64, n)
		}
		api, unc, notify := hist(), hist(), hist()
		var sum loadgen.Summary
		lag, delivered, offeredSum := 0.0, int64(0), 0.0
		for i := range n {
			t := float64(i + 1)
			off := 0.0
			if t <= float64(attack) {
				off = offered(t)
			}
			out := inOutage(t)
			offeredSum += off
			achieved := off * (1 - 0.004*rng.Float64())
			if t > surgeFrom+6 && t < surgeTo-6 && name == "sync" {
				achieved = off * (0.97 + 0.02*rng.Float64()) // the generator falls behind
			}
			var drop503, dropTimeout float64
			p50, p99, pmax := 3+rng.Float64(), 9+4*rng.Float64(), 20+30*rng.Float64()
			n50, n99 := 2.5+rng.Float64(), 10+5*rng.Float64()
			pathSync, pathAsync := 0.0, 0.0
			switch name {
			case "sync":
				if out {
					drop503, dropTimeout = achieved*0.9, achieved*0.05
					p50, p99, pmax = 1.2, 2000+500*rng.Float64(), 5000
				} else if off > 1000 {
					p50, p99, pmax = 40+20*rng.Float64(), 300+100*rng.Float64(), 900
				}
				pathSync = achieved - drop503 - dropTimeout
				n50, n99 = p50*0.8, p99*0.9
			case "async":
				p50, p99, pmax = 2.5+rng.Float64(), 6+2*rng.Float64(), 15+10*rng.Float64()
				pathAsync = achieved
				capacity := 1200.0
				if out {
					capacity = 0
				}
				lag = max(0, lag+achieved-capacity)
				n50, n99 = 5+lag/capacityOr(capacity)*1000, 15+lag/capacityOr(capacity)*1500
			case "hybrid":
				if out || off > 1500 {
					pathAsync = achieved
					p50, p99, pmax = 52+rng.Float64(), 60+10*rng.Float64(), 120
					lag = max(0, lag+achieved-1100)
				} else {
					pathSync = achieved * 0.98
					pathAsync = achieved - pathSync
					lag = max(0, lag-900)
				}
				if out {
					lag = max(0, lag+achieved)
				}
				n50, n99 = 4+lag/2, 15+lag
			}
			if t > float64(attack) {
				achieved, pathSync, pathAsync, drop503, dropTimeout = 0, 0, 0, 0, 0
				p50, p99, pmax = 0, 0, 0
				lag = max(0, lag-1500)
			}
			accepted := pathSync + pathAsync
			delivered += int64(accepted)
			s.T = append(s.T, t)
			s.OfferedRPS = append(s.OfferedRPS, off)
			s.AchievedRPS = append(s.AchievedRPS, achieved)
			s.AcceptedRPS = append(s.AcceptedRPS, accepted)
			s.PathSync = append(s.PathSync, int64(pathSync))
			s.PathAsync = append(s.PathAsync, int64(pathAsync))
			s.APIP50 = append(s.APIP50, p50)
			s.APIP99 = append(s.APIP99, p99)
			s.APIMax = append(s.APIMax, pmax)
			s.NotifyP50 = append(s.NotifyP50, n50)
			s.NotifyP99 = append(s.NotifyP99, n99)
			s.Delivered = append(s.Delivered, delivered)
			if name != "sync" {
				s.Lag = append(s.Lag, int64(lag))
				sum.PeakLag = max(sum.PeakLag, int64(lag))
			}
			s.Drops["http_503"][i] = int64(drop503)
			s.Drops["timeout"][i] = int64(dropTimeout)
			procs := map[string]float64{"reaction": achieved / 3000, "notification": accepted / 2500, "generator": achieved / 4000}
			if name != "sync" {
				procs["broker"] = pathAsync / 3500
			}
			for _, proc := range slices.Sorted(maps.Keys(procs)) {
				v := procs[proc]
				s.CPU[proc] = append(s.CPU[proc], math.Round((v+0.01*rng.Float64())*1000)/1000)
				s.RSSMB[proc] = append(s.RSSMB[proc], 20+v*10)
			}
			// Histograms: a few values a second stand for the second.
			for range int(achieved / 50) {
				v := p50 * math.Exp(rng.NormFloat64()*math.Log(p99/p50)/2.33)
				api.RecordValue(int64(math.Min(v, 60000) * 1000))
				unc.RecordValue(int64(math.Min(v*0.8, 60000) * 1000))
			}
			for range int(accepted / 50) {
				v := n50 * math.Exp(rng.NormFloat64()*math.Log(max(n99, n50*1.1)/n50)/2.33)
				notify.RecordValue(int64(math.Min(v, 600000) * 1000))
			}
			sum.Requests += int64(achieved)
			sum.Accepted += int64(accepted)
			sum.AcceptedSync += int64(pathSync)
			sum.AcceptedAsync += int64(pathAsync)
			sum.Drops.HTTP503 += int64(drop503)
			sum.Drops.Timeout += int64(dropTimeout)
		}
		sum.Drops.Total = sum.Drops.HTTP503 + sum.Drops.Timeout
		sum.OfferedRPS = offeredSum / float64(attack)
		sum.AchievedRPS = float64(sum.Requests) / float64(attack)
		sum.GoodputRPS = float64(sum.Accepted) / float64(attack)
		sum.Saturated = name == "sync"
		sum.LateSends = map[bool]int64{true: 4211}[name == "sync"]
		sum.API = percentiles(api)
		sum.APIUncorrected = percentiles(unc)
		sum.Notify = percentiles(notify)
		sum.Delivered = sum.Accepted
		sum.Indeterminate = sum.Drops.Timeout
		if name == "async" {
			sum.Duplicated, sum.DeadLettered = 3, 12
		}
		if name == "hybrid" {
			sum.Lost = 1
		}
		sum.DrainS, sum.Drained = float64(drainS[name])-0.4, true
		sum.CPUSecondsPer1k = map[string]float64{"reaction": 0.31, "notification": 0.42, "generator": 0.25, "total": 0.98}
		if name != "sync" {
			sum.CPUSecondsPer1k["broker"] = 0.37
			sum.CPUSecondsPer1k["total"] = 1.35
		}
		sum.Hops, sum.Traced = syntheticHops[name], sum.Delivered
		pat := &loadgen.Pattern{Summary: sum, Series: s, Runs: 1, Faults: faults}
		pat.Histograms.API = encode(api)
		pat.Histograms.APIUncorrected = encode(unc)
		pat.Histograms.Notify = encode(notify)
		r.Patterns[name] = pat
	}
	return r
}

// syntheticHops are the patterns' hops, shaped like a run's: sync's queue
// is the wire, async's is Kafka; the outage's waits are in processing.
var syntheticHops = map[string]loadgen.Hops[loadgen.HopPercentiles]{
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

func hp(p50, p99, hi float64) loadgen.HopPercentiles {
	return loadgen.HopPercentiles{P50: p50, P99: p99, Max: hi}
}

func capacityOr(c float64) float64 { return max(c, 600) }

func hist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 600_000_000, 3) }

func percentiles(h *hdrhistogram.Histogram) loadgen.Percentiles {
	q := func(p float64) float64 { return float64(h.ValueAtQuantile(p)) / 1000 }
	return loadgen.Percentiles{P50: q(50), P90: q(90), P99: q(99), P999: q(99.9), Max: float64(h.Max()) / 1000}
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
