package profiles

import (
	"math"
	"time"
)

// z99 is the standard normal's 99th percentile: a log-normal latency with
// median P50 and 99th percentile P99 has σ = ln(P99/P50) / z99, as the
// provider draws it (targets/provider).
const z99 = 2.3263478740408408

// Mean is the mean of the log-normal latency l describes:
// P50 · exp(σ²/2).
func (l Latency) Mean() time.Duration {
	if l.P50 <= 0 {
		return 0
	}
	sigma := 0.0
	if l.P99 > l.P50 {
		sigma = math.Log(float64(l.P99)/float64(l.P50)) / z99
	}
	return time.Duration(float64(l.P50) * math.Exp(sigma*sigma/2))
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
