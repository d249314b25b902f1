package profiles

import (
	"math"
	"testing"
	"time"
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
