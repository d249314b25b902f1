package validity

import (
	"strings"
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	th := Thresholds{} // the defaults: 90% of the cores, 1% late by 1 ms
	tests := []struct {
		name string
		have Second
		want Verdict
	}{
		{"headroom, on time", Second{HostCores: 1.2, Sent: 1000, Late: 10}, OK},
		// 1.8 of 2 cores is exactly 90%
		{"host at the threshold", Second{HostCores: 1.8, Sent: 1000}, MachineBound},
		{"host busy and generator late: the machine is named", Second{HostCores: 1.95, Sent: 1000, Late: 500}, MachineBound},
		// 11 of 1,000 is over 1%
		{"generator late", Second{HostCores: 1.0, Sent: 1000, Late: 11}, GeneratorBound},
		{"host not measured", Second{HostCores: -1, Sent: 1000}, OK},
		{"nothing sent", Second{HostCores: 0.1}, OK},
		// 2 of 125 is 1.6%, but two late sends are the timer's noise
		{"too few late sends", Second{HostCores: 0.3, Sent: 125, Late: 2}, OK},
		{"five late of a small second", Second{HostCores: 0.3, Sent: 125, Late: MinLate}, GeneratorBound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := th.Of(tt.have, 2); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	ok := Second{HostCores: 1, Sent: 100}
	busy := Second{HostCores: 1.9, Sent: 100}
	late := Second{HostCores: 1, Sent: 100, Late: 50}
	secs := func(n int, s Second) []Second {
		out := make([]Second, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	tests := []struct {
		name   string
		have   []Second
		want   Verdict
		boundS int
	}{
		{"all ok", secs(100, ok), OK, 0},
		// 5 of 100 is not more than 5%
		{"5% bound is still ok", append(secs(95, ok), secs(5, busy)...), OK, 5},
		{"6% machine-bound", append(secs(94, ok), secs(6, busy)...), MachineBound, 6},
		{"generator-bound", append(secs(90, ok), secs(10, late)...), GeneratorBound, 10},
		{"mostly machine", append(append(secs(80, ok), secs(12, busy)...), secs(8, late)...), MachineBound, 20},
		{"no seconds", nil, OK, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Thresholds{}.Judge(tt.have, 2)
			if got.Verdict != tt.want || got.BoundS != tt.boundS {
				t.Errorf("got %q with %d bound s, want %q with %d", got.Verdict, got.BoundS, tt.want, tt.boundS)
			}
			if (got.Verdict == OK) != (got.Reason == "") {
				t.Errorf("reason %q for verdict %q", got.Reason, got.Verdict)
			}
			if len(got.Bound) != len(tt.have) {
				t.Errorf("%d per-second marks for %d seconds", len(got.Bound), len(tt.have))
			}
		})
	}
	j := Thresholds{}.Judge(append(secs(80, ok), secs(20, busy)...), 2)
	if !strings.Contains(j.Reason, "20 s") || !strings.Contains(j.Reason, "90%") {
		t.Errorf("reason %q should name the seconds and the threshold", j.Reason)
	}
}

func TestThresholdsCustom(t *testing.T) {
	th := Thresholds{HostBusy: 0.5, LateBy: 5 * time.Millisecond, LateFraction: 0.1, BoundFraction: 0.5}
	if got := th.Of(Second{HostCores: 1.0, Sent: 10}, 2); got != MachineBound {
		t.Errorf("50%% of 2 cores: got %q", got)
	}
	if got := th.Of(Second{HostCores: 0.2, Sent: 100, Late: 10}, 2); got != OK {
		t.Errorf("10 of 100 late is not more than 10%%: got %q", got)
	}
}
