package profiles

import (
	"math"
	"testing"
	"time"

	"github.com/commbench/commbench/targets/provider"
)

func TestThroughput(t *testing.T) {
	ms := func(v float64) Duration { return Duration(time.Duration(v * float64(time.Millisecond))) }
	tests := []struct {
		name string
		have Provider
		mean float64 // ms
		rps  float64
	}{
		// σ = ln(30/8)/2.326 = 0.568, mean = 8·e^(0.161) = 9.40 ms; 4 at a time: 425/s
		{"surge's provider", Provider{Latency: Latency{P50: ms(8), P99: ms(30)}, Capacity: 4}, 9.40, 425},
		// no spread: the mean is the median
		{"constant latency", Provider{Latency: Latency{P50: ms(10), P99: ms(10)}, Capacity: 32}, 10, 3200},
		{"no latency", Provider{Capacity: 1}, 0, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.have.Latency.Mean().Seconds() * 1000; math.Abs(got-tt.mean) > 0.01 {
				t.Errorf("mean = %.3f ms, want %.2f", got, tt.mean)
			}
			got := tt.have.Throughput()
			if math.IsInf(tt.rps, 1) != math.IsInf(got, 1) || !math.IsInf(got, 1) && math.Abs(got-tt.rps) > 1 {
				t.Errorf("throughput = %.1f/s, want %.0f", got, tt.rps)
			}
		})
	}
}

// TestSurgeHitsTheModelledBottleneck pins the headline profile's sizing:
// the peak at least 3x what the provider serves, the base below it, so
// that the bottleneck is the notification side's, not the machine's.
func TestSurgeHitsTheModelledBottleneck(t *testing.T) {
	p, err := Lookup(".", "surge")
	if err != nil {
		t.Fatal(err)
	}
	capRPS := p.Services.Provider.Throughput()
	var peak float64
	for _, s := range p.Stages {
		peak = max(peak, s.Rate, s.To)
	}
	base := p.Stages[0].Rate
	if peak < 3*capRPS {
		t.Errorf("peak %.0f rps is under 3x the provider's %.0f/s", peak, capRPS)
	}
	if base >= capRPS {
		t.Errorf("base %.0f rps is not under the provider's %.0f/s", base, capRPS)
	}
}

// TestMeanIsTheProvidersMean: the model's mean is the provider's, as it
// draws (targets/provider), the cap at 10·p99 included.
func TestMeanIsTheProvidersMean(t *testing.T) {
	// The draws are random: the tolerance is several standard errors of a
	// mean of n draws (the long tail's is ~1%), so that the test fails on a
	// wrong formula, not on an unlucky sample.
	for _, tc := range []struct {
		p50, p99 time.Duration
		tol      float64
	}{
		{10 * time.Millisecond, 10 * time.Millisecond, 0.02}, // no spread: p50
		{5 * time.Millisecond, 40 * time.Millisecond, 0.02},  // the provider's defaults
		{8 * time.Millisecond, 30 * time.Millisecond, 0.02},  // surge
		{1 * time.Millisecond, 200 * time.Millisecond, 0.06}, // a tail long enough for the cap to matter
	} {
		got := Latency{P50: Duration(tc.p50), P99: Duration(tc.p99)}.Mean()
		pv := provider.New(provider.Config{P50: tc.p50, P99: tc.p99})
		const n = 400_000
		var sum float64
		for range n {
			sum += float64(pv.Latency())
		}
		drawn := sum / n
		if d := math.Abs(float64(got)-drawn) / drawn; d > tc.tol {
			t.Errorf("Mean(%v, %v) = %v; the provider's draws average %v (%.1f%% apart)", tc.p50, tc.p99, got, time.Duration(drawn), 100*d)
		}
	}
}
