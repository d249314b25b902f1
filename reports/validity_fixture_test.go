package reports

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/validity"
)

// addValidity fills in what a run on a host of cores records about its
// machine (issue 12): host CPU and the generator's send lag per second,
// each second's and each pattern's validity, judged by package validity
// with its defaults. The host's busy cores follow the processes' CPU:
// async, with the broker busiest, saturates a 2-core host at the surge's
// peak (machine-bound); sync's generator falls behind in the surge, as
// synthetic has it (generator-bound); hybrid stays under the line but
// for three seconds (ok, with 3 s shaded). Deterministic; it overwrites
// whatever an earlier call set.
func addValidity(r *results.Results, cores int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	th := validity.Thresholds{}.WithDefaults()
	r.Run.Host = results.HostInfo{Cores: cores, CPUMeasured: true}
	r.Run.Validity = results.ValidityThresholds{HostBusy: th.HostBusy, LateByMs: float64(th.LateBy.Milliseconds()),
		LateFraction: th.LateFraction, BoundFraction: th.BoundFraction}
	scale := map[string]float64{"sync": 0.7, "async": 0.75, "hybrid": 0.62}
	for _, name := range r.Keys() {
		p := r.Patterns[name]
		s, sum := &p.Series, &p.Summary
		attack := int(s.AttackEndS)
		surge := surgeSeconds(s.OfferedRPS)
		n := len(s.T)
		s.HostCPU, s.SendLagP50, s.SendLagP99, s.SendLagMax = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		s.LateSends = make([]int64, n)
		var secs []validity.Second
		for i := range n {
			busy := 0.1 + 0.03*math.Sin(float64(i))
			for _, proc := range slices.Sorted(maps.Keys(s.CPU)) {
				busy += scale[name] * s.CPU[proc][i]
			}
			if name == "hybrid" && slices.Contains([]int{surge[0] + 8, surge[0] + 9, surge[0] + 15}, i) {
				busy += 0.3 // three seconds of something else on the host
			}
			s.HostCPU[i] = round3(min(busy, float64(cores)))
			late, p99 := 0.001, 0.3+0.3*rng.Float64()
			switch {
			case name == "sync" && i > surge[0]+6 && i < surge[1]-6:
				late, p99 = 0.06+0.06*rng.Float64(), 8+22*rng.Float64()
			case s.HostCPU[i] >= th.HostBusy*float64(cores):
				late, p99 = 0.015, 1.5+1.5*rng.Float64()
			}
			s.SendLagP50[i], s.SendLagP99[i], s.SendLagMax[i] = round3(0.04+0.02*rng.Float64()), round3(p99), round3(p99*(3+4*rng.Float64()))
			sent := int64(s.AchievedRPS[i])
			s.LateSends[i] = int64(late * float64(sent))
			if i < attack {
				secs = append(secs, validity.Second{HostCores: s.HostCPU[i], Sent: sent, Late: s.LateSends[i]})
			}
		}
		j := th.Judge(secs, cores)
		s.Bound = j.Bound
		sum.Validity, sum.ValidityReason = string(j.Verdict), j.Reason
		sum.BoundS, sum.MachineBoundS, sum.GeneratorBoundS = j.BoundS, j.MachineS, j.GeneratorS
		sum.LateSends = sum64(s.LateSends)
		sum.SendLag = results.LagPercentiles{P50: median(s.SendLagP50), P99: quantile(s.SendLagP99, 0.97), Max: slices.Max(s.SendLagMax)}
		sum.NeverNotified = sum.Lost + sum.DeadLettered
	}
	r.Patterns["sync"].Summary.Clamped = 7
	r.Patterns["hybrid"].Summary.SampleGaps = 2
	hy := &r.Patterns["hybrid"].Series
	for _, i := range []int{70, 71} { // the ledger's reads of these seconds failed
		hy.NotifyP50[i], hy.NotifyP99[i] = 0, 0
	}
}

// surgeSeconds are the first and last second of the offered rate's peak.
func surgeSeconds(offered []float64) [2]int {
	top := slices.Max(offered)
	first, last := -1, -1
	for i, v := range offered {
		if v == top {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return [2]int{first, last}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func sum64(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

func median(v []float64) float64 { return quantile(v, 0.5) }

func quantile(v []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[min(int(q*float64(len(s))), len(s)-1)]
}
