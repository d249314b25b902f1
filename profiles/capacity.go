package profiles

import (
	"math"
	"time"
)

// z99 is the standard normal's 99th percentile: a log-normal latency with
// median P50 and 99th percentile P99 has σ = ln(P99/P50) / z99, as the
// provider draws it (targets/provider).
const z99 = 2.3263478740408408

// Mean is the mean latency of one call as the provider draws it
// (targets/provider): log-normal with μ = ln P50 and σ = ln(P99/P50)/z99,
// each draw capped at 10·P99. For X log-normal and the cap c,
//
//	E[min(X, c)] = exp(μ + σ²/2)·Φ((ln c − μ − σ²)/σ) + c·(1 − Φ((ln c − μ)/σ))
//
// which is P50·exp(σ²/2) but for the cap's sliver.
func (l Latency) Mean() time.Duration {
	if l.P50 <= 0 {
		return 0
	}
	mu := math.Log(float64(l.P50))
	if l.P99 <= l.P50 {
		return l.P50.Std()
	}
	sigma := (math.Log(float64(l.P99)) - mu) / z99
	c := 10 * float64(l.P99)
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	lc := math.Log(c)
	m := math.Exp(mu+sigma*sigma/2)*phi((lc-mu-sigma*sigma)/sigma) + c*(1-phi((lc-mu)/sigma))
	return time.Duration(m)
}

// Throughput is how many calls a second the provider serves at most, as
// modelled: Capacity calls at a time, each taking the mean latency
// (Little's law). It is the notification side's modelled capacity, the
// bottleneck a surge profile is meant to hit; +Inf for a provider that
// takes no time.
func (p Provider) Throughput() float64 {
	m := p.Latency.Mean()
	if m <= 0 {
		return math.Inf(1)
	}
	return float64(p.Capacity) / m.Seconds()
}
