package claims

import (
	"fmt"
	"math"
)

// Downstream is what a provider with a bounded concurrency serves within
// an SLO on the API's p99, as modelled.
type Downstream struct {
	Slots      int     // calls served at once
	MeanS      float64 // one call's mean latency (log-normal, as the provider draws it)
	Throughput float64 // Slots / MeanS: the most it serves (Little's law)
	// Expected is the highest arrival rate at which the p99 of the wait
	// for a slot stays within WaitS: the SLO's p99 less the provider's own
	// p99 (the call that follows the wait).
	Expected float64
	WaitS    float64
}

func (d Downstream) String() string {
	return fmt.Sprintf("the provider serves ~%.0f/s (%d slots at mean %s) and, for the API's p99 to hold, its queue's p99 wait must stay within %s: ~%.0f/s expected (%.0f/s of headroom)",
		d.Throughput, d.Slots, ms(1000*d.MeanS), ms(1000*d.WaitS), d.Expected, d.Throughput-d.Expected)
}

// DownstreamModel models a provider of slots with a log-normal latency of
// median p50 and 99th percentile p99 (seconds) behind a queue, against an
// SLO on the API's p99 of sloP99 seconds, as an M/G/c queue: the chance
// of waiting is Erlang C, the wait beyond it exponential at rate
// (cμ − λ), scaled by Allen–Cunneen's (1 + cv²)/2 for the service's
// variability. Expected is the λ at which P(wait > sloP99 − p99) = 1%.
func DownstreamModel(slots int, p50, p99, sloP99 float64) Downstream {
	d := Downstream{Slots: slots}
	if slots <= 0 || p50 <= 0 {
		return d
	}
	sigma := 0.0
	if p99 > p50 {
		sigma = math.Log(p99/p50) / 2.3263478740408408
	}
	d.MeanS = p50 * math.Exp(sigma*sigma/2)
	mu := 1 / d.MeanS
	d.Throughput = float64(slots) * mu
	d.WaitS = max(sloP99-p99, 0)
	k := (1 + math.Exp(sigma*sigma) - 1) / 2
	lo, hi := 0.0, d.Throughput
	for range 100 {
		l := (lo + hi) / 2
		p := erlangC(slots, l/mu) * math.Exp(-(d.Throughput-l)*d.WaitS/k)
		if p > 0.01 {
			hi = l
		} else {
			lo = l
		}
	}
	d.Expected = lo
	return d
}

// erlangC is the chance that an arrival waits in an M/M/c queue with c
// servers and offered load a (λ/μ < c).
func erlangC(c int, a float64) float64 {
	if a >= float64(c) {
		return 1
	}
	sum, term := 0.0, 1.0 // term = aⁿ/n!
	for n := range c {
		if n > 0 {
			term *= a / float64(n)
		}
		sum += term
	}
	last := term * a / float64(c) * float64(c) / (float64(c) - a)
	return last / (sum + last)
}
