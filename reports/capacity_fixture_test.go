package reports

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/commbench/commbench/capacity"
	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// syntheticCapacity is a made-up capacity run of surge's services at
// replicas 1, 2 and 4 with a plan for a 1,500 rps peak, searched by the
// real search (capacity.Run) over a fake of each step:
//
//   - sync's API p99 crosses 100 ms at its knee, 380 rps a replica scaled
//     by the USL (σ 0.08, κ 0.002): the prediction of ×4 from ×1 and ×2
//     is within 20%;
//   - async's API holds to 2,600 rps, but its consumers fall behind above
//     700, 1,300 and 1,000 rps at ×1, ×2, ×4 (a shared bottleneck the two
//     smaller scales do not show): the prediction of ×4 misses;
//   - hybrid's steps are machine-bound from 800 rps: no capacity, the
//     machine is the limit.
//
// It is deterministic: testdata/capacity/results.json is its output.
func syntheticCapacity(t *testing.T) *results.Results {
	t.Helper()
	file := filepath.Join("..", "profiles", "surge.yaml")
	p, err := profiles.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	yaml, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	o := capacity.Options{Profile: p, ProfileFile: "profiles/surge.yaml", ProfileYAML: yaml,
		Patterns: []pattern.Pattern{pattern.Sync, pattern.Async, pattern.Hybrid}, Scales: []int{1, 2, 4},
		PeakRPS: 1500, PeakFor: time.Minute, Budget: -1, OutRoot: filepath.Join(t.TempDir(), "runs"), StepFunc: fakeStep}
	r, _, err := capacity.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	r.Run.ID, r.Run.Started, r.Run.Finished = "20261207-220000-capacity-surge", started, started.Add(14*time.Minute)
	r.Run.Machine = results.Machine{OS: "linux", Arch: "amd64", CPUs: 2, CPUModel: "AMD EPYC", MemoryBytes: 24 << 30, GoVersion: "go1.26.8", Java: "17.0.13"}
	r.Run.Broker = results.BrokerInfo{Kind: "local", Version: "4.1.1", Label: "Apache Kafka 4.1.1 (local, KRaft)", Addrs: []string{"127.0.0.1:9092"}, Partitions: 16}
	r.Run.Version = "test"
	r.Claims = claims.EvaluateCapacity(r)
	return r
}

// usl is the Universal Scalability Law's capacity at n replicas.
func usl(lambda, sigma, kappa float64, n int) float64 {
	return (&results.USL{Lambda: lambda, Sigma: sigma, Kappa: kappa}).At(float64(n))
}

// fakeStep is one step of syntheticCapacity's patterns.
func fakeStep(_ context.Context, req capacity.StepRequest) (results.CapacityStep, error) {
	rps, n := req.RPS, req.Replicas
	st := results.CapacityStep{RPS: rps, Replicas: n, DurationS: math.Max(20, math.Ceil(10000/rps)), Validity: results.ValidityOK,
		Dir: "steps/" + req.Pattern.String() + "-x" + strconv.Itoa(n) + "-" + strconv.Itoa(int(rps))}
	st.Requests = int64(rps * st.DurationS)
	// knee: p99 is 100 ms at it, 5 ms at half of it.
	knee := func(k float64) float64 { return math.Min(30000, 100*math.Exp(6*(rps/k-1))) }
	switch req.Pattern {
	case pattern.Sync:
		k := usl(380, 0.08, 0.002, n)
		st.APIP99Ms = knee(k) + 1.2
		st.NotifyP99Ms = 0.9 * st.APIP99Ms
		if u := rps / k; u > 1 {
			st.Drops = math.Min(0.4, 0.3*(u-1))
		}
		st.CPUSecondsPerMillion = 88 + 6*float64(n-1) + 12*rps/k
	case pattern.Async:
		consumers := map[int]float64{1: 700, 2: 1300, 4: 1000}[n]
		st.APIP99Ms = knee(2600) + 2.5
		noise := 6 + 0.02*rps
		if rps > consumers {
			st.LagSlope = 0.97 * (rps - consumers)
			st.NotifyP99Ms = math.Min(60000, 5000*(1+4*(rps/consumers-1)))
		} else {
			st.LagSlope = 0.4
			st.NotifyP99Ms = 35 + 900*math.Pow(rps/consumers, 6)
		}
		st.LagSlopeLo, st.LagSlopeHi = st.LagSlope-noise, st.LagSlope+noise
		st.CPUSecondsPerMillion = 131 + 9*float64(n-1) + 10*rps/2600
	case pattern.Hybrid:
		st.APIP99Ms = 38 + 10*rps/800
		st.NotifyP99Ms = 60 + 0.2*rps
		st.LagSlope, st.LagSlopeLo, st.LagSlopeHi = 0.2, -7, 7.4
		st.CPUSecondsPerMillion = 150 + 8*float64(n-1)
		if rps >= 800 {
			st.Validity = results.ValidityMachineBound
		}
	}
	st.APIP50Ms = 0.18*st.APIP99Ms + 0.4
	st.NotifyP50Ms = 0.3 * st.NotifyP99Ms
	for _, v := range []*float64{&st.APIP50Ms, &st.APIP99Ms, &st.NotifyP50Ms, &st.NotifyP99Ms, &st.LagSlope, &st.LagSlopeLo, &st.LagSlopeHi, &st.Drops, &st.CPUSecondsPerMillion} {
		*v = sig(*v)
	}
	return st, nil
}
