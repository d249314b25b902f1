package claims

import (
	"fmt"
	"math"
	"time"

	"github.com/commbench/commbench/targets/provider"
)

// z99 is the standard normal quantile of 0.99, as package provider uses it.
const z99 = 2.326347874040841

// downstream is the notification side's modelled capacity: what its
// providers serve a second, each notification replica calling its own.
type downstream struct {
	replicas int
	slots    int     // the provider's capacity: calls served at once
	meanMs   float64 // the mean of one call's latency, as the provider draws it
	rps      float64 // replicas × slots / mean
}

// String says it for the evidence: "the provider serves ~2520/s: capacity
// 32 at mean 12.7 ms".
func (d downstream) String() string {
	if d.replicas > 1 {
		return fmt.Sprintf("the providers serve ~%.0f/s: %d replicas, each capacity %d at mean %s", d.rps, d.replicas, d.slots, ms(d.meanMs))
	}
	return fmt.Sprintf("the provider serves ~%.0f/s: capacity %d at mean %s", d.rps, d.slots, ms(d.meanMs))
}

// downstreamOf models key's downstream from the profile as it ran (a
// variant changes the replicas, never the provider) and the replicas key
// ran with; ok is false when the profile does not parse or does not name
// key's variant.
func (in *run) downstreamOf(key string) (downstream, bool) {
	kn, ok := in.knobsOf(key)
	if !ok || in.prof == nil {
		return downstream{}, false
	}
	pv := in.prof.Services.Provider
	slots := pv.Capacity
	if slots <= 0 {
		slots = provider.DefaultCapacity
	}
	mean := meanLatency(time.Duration(pv.Latency.P50), time.Duration(pv.Latency.P99))
	d := downstream{replicas: max(kn.replicas, 1), slots: slots, meanMs: float64(mean) / 1e6}
	d.rps = float64(d.replicas*slots) / mean.Seconds()
	return d, true
}

// meanLatency is the mean of the provider's latency with median p50 and
// 99th percentile p99, exactly as package provider draws it: log-normal,
// mu = ln p50 and sigma = ln(p99/p50)/z99, each draw capped at 10 p99; a
// zero p50 or p99 takes the provider's default. For X log-normal and the
// cap c,
//
//	E[min(X, c)] = exp(mu + sigma²/2)·Φ((ln c − mu − sigma²)/sigma) + c·(1 − Φ((ln c − mu)/sigma))
//
// which is p50·exp(sigma²/2) but for the cap's sliver.
func meanLatency(p50, p99 time.Duration) time.Duration {
	if p50 == 0 {
		p50 = provider.DefaultP50
	}
	if p99 == 0 {
		p99 = max(provider.DefaultP99, p50)
	}
	mu := math.Log(float64(p50))
	sigma := (math.Log(float64(p99)) - mu) / z99
	if sigma <= 0 {
		return p50
	}
	c := 10 * float64(p99)
	phi := func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }
	lc := math.Log(c)
	m := math.Exp(mu+sigma*sigma/2)*phi((lc-mu-sigma*sigma)/sigma) + c*(1-phi((lc-mu)/sigma))
	return time.Duration(m)
}
