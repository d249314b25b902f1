package claims

import (
	"fmt"
)

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
// key's variant. The provider's capacity and mean latency are the
// profile's (profiles.Provider.Throughput, defaults filled in by Parse).
func (in *run) downstreamOf(key string) (downstream, bool) {
	kn, ok := in.knobsOf(key)
	if !ok || in.prof == nil {
		return downstream{}, false
	}
	pv := in.prof.Services.Provider
	mean := pv.Latency.Mean()
	d := downstream{replicas: max(kn.replicas, 1), slots: pv.Capacity, meanMs: float64(mean) / 1e6}
	d.rps = float64(d.replicas) * pv.Throughput()
	return d, true
}
