package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/results"
)

// Before the attack, the run predicts how busy the host will be at the
// profile's peak, from an earlier run of the same pattern on this machine
// (its seconds of host CPU against the rate the generator sent), and
// warns when the prediction reaches the machine-bound threshold: the
// numbers would be the machine's, not the pattern's.

// maxEarlierRuns bounds how many earlier run folders are read.
const maxEarlierRuns = 30

// cpuFit is host busy cores ≈ Idle + PerRPS · rate, fitted by least
// squares over an earlier run's attack seconds.
type cpuFit struct {
	Idle, PerRPS float64
	From         string // the run it was fitted on
	N            int    // seconds fitted
}

func (f cpuFit) at(rps float64) float64 { return f.Idle + f.PerRPS*rps }

// fitCPU fits host CPU against the achieved rate over the attack seconds
// of p; ok is false when p has too few measured seconds or no spread of
// rates to fit a line on.
func fitCPU(p *results.Pattern) (cpuFit, bool) {
	s := p.Series
	var n, sx, sy, sxx, sxy float64
	for i, t := range s.T {
		if t > s.AttackEndS || i >= len(s.HostCPU) || i >= len(s.AchievedRPS) || s.HostCPU[i] < 0 {
			continue
		}
		x, y := s.AchievedRPS[i], s.HostCPU[i]
		n++
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if n < 10 || den <= 0 {
		return cpuFit{}, false
	}
	b := (n*sxy - sx*sy) / den
	return cpuFit{Idle: (sy - b*sx) / n, PerRPS: max(b, 0), N: int(n)}, true
}

// earlierFit finds the newest run folder under root with a pattern of the
// same pattern name (any variant or repeat) whose host CPU can be fitted.
func earlierFit(root, patternName string) (cpuFit, bool) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return cpuFit{}, false
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // the folders start with their time
	slices.Reverse(names)
	for _, name := range names[:min(len(names), maxEarlierRuns)] {
		r, err := results.Read(filepath.Join(root, name))
		if err != nil || r.Run.Host.Cores != host.Cores() {
			continue // another machine's, or not a run
		}
		for _, key := range r.Order {
			k, err := results.ParseKey(key)
			if err != nil || string(k.Pattern) != patternName {
				continue
			}
			if f, ok := fitCPU(r.Patterns[key]); ok {
				f.From = name + " (" + key + ")"
				return f, true
			}
		}
	}
	return cpuFit{}, false
}

// predictPeak warns, before the attack, when the profile's peak would
// keep the host at or above the machine-bound threshold; it says nothing
// when no earlier run of the pattern on this machine can tell.
func (r *patternRun) predictPeak() {
	f, ok := earlierFit(r.o.OutRoot, string(r.pattern))
	if !ok {
		return
	}
	var peak float64
	for _, s := range r.p.Stages {
		peak = max(peak, s.Rate, s.To)
	}
	cores := host.Cores()
	th := r.thresholds()
	want := f.at(peak)
	if want < th.HostBusy*float64(cores) {
		r.o.Logf("%s: at its peak of %.0f rps this pattern should keep the host at ~%.1f of %d cores (fitted on %s)", r.label, peak, want, cores, f.From)
		return
	}
	w := fmt.Sprintf("%s: predicted before the attack: at the peak of %.0f rps the host would be ~%.1f of %d cores busy (≥ %.0f%%), fitted on %s: expect machine-bound seconds; lower the peak or run on a larger machine",
		r.key, peak, want, cores, th.HostBusy*100, strings.TrimSpace(f.From))
	r.o.Logf("WARNING: %s", w)
	r.warnings = append(r.warnings, w)
}
