package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// Before the attack, the run predicts how busy the host will be at each
// planned pattern's peak, and warns when the prediction reaches the
// machine-bound threshold: the numbers would be the machine's, not the
// pattern's. A prediction comes only from a like run — an earlier run of
// the same profile, pattern and variant on a host of as many cores (its
// seconds of host CPU against the rate the generator sent) — or, for the
// generator's share alone, from the calibration; and a fit is never
// extrapolated more than maxExtrapolation× beyond the rates it was fitted
// on. Another profile's run says nothing about this one: its services,
// knobs and faults differ. When nothing fits, the run says so once.

// maxEarlierRuns bounds how many earlier run folders are read.
const maxEarlierRuns = 30

// maxExtrapolation bounds how far beyond its fitted rates a fit is used:
// a peak above maxExtrapolation × the highest fitted rate (or below the
// lowest over maxExtrapolation) gets no prediction.
const maxExtrapolation = 2.0

// noLikeRun is what the run says, once, for the patterns it cannot predict.
const noLikeRun = "no prediction: no like run"

// cpuFit is host busy cores ≈ Idle + PerRPS · rate, fitted by least
// squares over an earlier run's attack seconds at rates MinRPS to MaxRPS.
type cpuFit struct {
	Idle, PerRPS   float64
	MinRPS, MaxRPS float64
	From           string // the run it was fitted on
	N              int    // seconds fitted
}

func (f cpuFit) at(rps float64) float64 { return f.Idle + f.PerRPS*rps }

// covers reports whether rps is within maxExtrapolation× of the fitted
// rates.
func (f cpuFit) covers(rps float64) bool {
	return rps <= f.MaxRPS*maxExtrapolation && rps >= f.MinRPS/maxExtrapolation
}

// fitCPU fits host CPU against the achieved rate over the attack seconds
// of p; ok is false when p has too few measured seconds or no spread of
// rates to fit a line on.
func fitCPU(p *results.Pattern) (cpuFit, bool) {
	s := p.Series
	var n, sx, sy, sxx, sxy float64
	lo, hi := 0.0, 0.0
	for i, t := range s.T {
		if t > s.AttackEndS || i >= len(s.HostCPU) || i >= len(s.AchievedRPS) || s.HostCPU[i] < 0 {
			continue
		}
		x, y := s.AchievedRPS[i], s.HostCPU[i]
		if n == 0 {
			lo, hi = x, x
		}
		lo, hi = min(lo, x), max(hi, x)
		n++
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if n < 10 || den <= 0 {
		return cpuFit{}, false
	}
	b := (n*sxy - sx*sy) / den
	return cpuFit{Idle: (sy - b*sx) / n, PerRPS: max(b, 0), MinRPS: lo, MaxRPS: hi, N: int(n)}, true
}

// like names what an earlier run must share with this one for its host
// CPU to predict this one's.
type like struct {
	profile string
	pattern pattern.Pattern
	variant string
}

// earlierFit finds the newest like run folder under root (same profile,
// pattern and variant, any repeat, a host of as many cores) whose host
// CPU can be fitted at rates that cover peak.
func earlierFit(root string, l like, peak float64) (cpuFit, bool) {
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
		if err != nil || r.Run.Host.Cores != host.Cores() || r.Run.Profile != l.profile {
			continue // another machine's, another profile's, or not a run
		}
		for _, key := range r.Order {
			k, err := results.ParseKey(key)
			if err != nil || k.Pattern != l.pattern || k.Variant != l.variant {
				continue
			}
			if f, ok := fitCPU(r.Patterns[key]); ok && f.covers(peak) {
				f.From = name + " (" + key + ")"
				return f, true
			}
		}
	}
	return cpuFit{}, false
}

// generatorShare is the generator's own busy cores at rps, from the
// calibration saved in cacheDir: its CPU per request at the rate it was
// measured at, when rps is within maxExtrapolation× of that rate.
func generatorShare(cacheDir string, rps float64) (cores float64, from string, ok bool) {
	b, err := os.ReadFile(CachePath(cacheDir))
	if err != nil {
		return 0, "", false
	}
	var c CalibrationRun
	if json.Unmarshal(b, &c) != nil || c.CeilingRule != CeilingRule || c.CPURate <= 0 || c.CPUUsPerReq <= 0 {
		return 0, "", false
	}
	if rps > c.CPURate*maxExtrapolation || rps < c.CPURate/maxExtrapolation {
		return 0, "", false
	}
	return c.CPUUsPerReq * rps / 1e6, fmt.Sprintf("the calibration of %s (%.1f µs per request at %.0f rps)", c.At.Format("2006-01-02 15:04"), c.CPUUsPerReq, c.CPURate), true
}

// peakRate is the profile's highest arrival rate.
func peakRate(p *profiles.Profile) float64 {
	var peak float64
	for _, s := range p.Stages {
		peak = max(peak, s.Rate, s.To)
	}
	return peak
}

// predictPeaks predicts, before any attack, each planned pattern's host
// CPU at its peak: a line for each it can predict, a warning for each
// that would reach the machine-bound threshold, and one line naming those
// it cannot.
func (f *runFolder) predictPeaks(o RunOptions, runs []plannedRun) {
	cores := host.Cores()
	var none []string
	seen := map[string]bool{}
	for _, pl := range runs {
		key := results.Key{Pattern: pl.pattern, Variant: pl.variant.Name}.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		peak := peakRate(pl.profile)
		th := pl.profile.Validity.Thresholds().HostBusy
		busy := th * float64(cores)
		if fit, ok := earlierFit(o.OutRoot, like{o.Profile.Name, pl.pattern, pl.variant.Name}, peak); ok {
			want := fit.at(peak)
			if want < busy {
				o.Logf("%s: at its peak of %.0f rps this pattern should keep the host at ~%.1f of %d cores (fitted on %s)", key, peak, want, cores, fit.From)
				continue
			}
			f.warn(o, fmt.Sprintf("%s: predicted before the attack: at the peak of %.0f rps the host would be ~%.1f of %d cores busy (≥ %.0f%%), fitted on %s: expect machine-bound seconds; lower the peak or run on a larger machine",
				key, peak, want, cores, th*100, strings.TrimSpace(fit.From)))
			continue
		}
		// The calibration knows the generator alone: enough to warn when
		// that alone reaches the threshold, not to predict the host.
		if gen, from, ok := generatorShare(o.Broker.CacheDir, peak); ok && gen >= busy {
			f.warn(o, fmt.Sprintf("%s: predicted before the attack: at the peak of %.0f rps the generator alone would keep ~%.1f of %d cores busy (≥ %.0f%%), from %s: expect machine-bound seconds; lower the peak or run on a larger machine",
				key, peak, gen, cores, th*100, from))
			continue
		}
		none = append(none, key)
	}
	if len(none) == 0 {
		return
	}
	msg := fmt.Sprintf("%s for %s (an earlier run of profile %s and that pattern on a %d-core host, at rates within %g× of the peak, in %s)",
		noLikeRun, strings.Join(none, ", "), o.Profile.Name, cores, maxExtrapolation, o.OutRoot)
	if gen, from, ok := generatorShare(o.Broker.CacheDir, peakRate(o.Profile)); ok {
		msg += fmt.Sprintf("; the generator alone should use ~%.2f cores at the peak, from %s", gen, from)
	}
	o.Logf("%s", msg)
}
