package harness

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/validity"
)

// The host's side of a run (issue: verdicts you can trust): every second,
// how busy the machine was and how late the generator sent, and from
// those whether the second measured the pattern or the machine.

// hostMeter reads the host's busy cores once a second; nil where
// /proc/stat cannot be read (then no second is machine-bound).
type hostMeter struct{ cpu *host.CPU }

func newHostMeter() hostMeter {
	c, err := host.NewCPU()
	if err != nil {
		return hostMeter{}
	}
	return hostMeter{cpu: c}
}

// sample returns the busy cores since the last sample and, of them, the
// cores the hypervisor stole; -1 when not measured.
func (m hostMeter) sample() (busy, steal float64) {
	if m.cpu == nil {
		return -1, -1
	}
	c, err := m.cpu.Sample()
	if err != nil {
		return -1, -1
	}
	return c, m.cpu.Steal
}

// hostInfo is what results.json says of the host the verdicts judged.
func hostInfo() results.HostInfo {
	_, err := host.ReadTimes()
	h := results.HostInfo{Cores: host.Cores(), CPUMeasured: err == nil}
	if _, nerr := exec.LookPath("nice"); nerr == nil {
		h.SUTNice = host.SUTNice()
	}
	return h
}

// validityInfo is th as results.json records it.
func validityInfo(th validity.Thresholds) results.ValidityThresholds {
	return results.ValidityThresholds{
		HostBusy:      th.HostBusy,
		LateByMs:      float64(th.LateBy) / float64(time.Millisecond),
		LateFraction:  th.LateFraction,
		BoundFraction: th.BoundFraction,
	}
}

// thresholds are the profile's validity thresholds.
func (r *patternRun) thresholds() validity.Thresholds { return r.p.Validity.Thresholds() }

// StealBound is the steal time (cores, over a second) from which a
// generator-bound second whose late sends the generator cannot explain
// (unknown, or the OS run queue) is the hypervisor's: 20 ms, two of
// /proc/stat's ticks. On a 2-core VM here, 30-s runs at 5,000 rps had
// 622, 6,571, 2,650 and 772 late sends beside 0.74, 6.4, 2.7 and 1.1 s of
// steal.
const StealBound = 0.02

// recordHost appends one second's host and generator accounting to the
// series, and the second's validity. Called with r.mu held.
func (r *patternRun) recordHost(sec loadgen.Second, hostCores, stealCores float64) string {
	s := &r.series
	s.HostCPU = append(s.HostCPU, hostCores)
	s.StealCPU = append(s.StealCPU, stealCores)
	s.SendLagP50 = append(s.SendLagP50, sec.SendLagP50)
	s.SendLagP99 = append(s.SendLagP99, sec.SendLagP99)
	s.SendLagMax = append(s.SendLagMax, sec.SendLagMax)
	s.LateSends = append(s.LateSends, sec.Late)
	v := r.thresholds().Of(validity.Second{HostCores: hostCores, Sent: sec.Recorded, Late: sec.Late}, host.Cores())
	bound, cause, evidence := "", "", ""
	switch v {
	case validity.MachineBound:
		cause = "host-busy"
		evidence = fmt.Sprintf("the host used %.2f of %d cores", hostCores, host.Cores())
	case validity.GeneratorBound:
		c := loadgen.CauseOf(sec)
		cause, evidence = c.String(), loadgen.Evidence(sec, c)
		switch {
		case stealCores >= StealBound && (c == loadgen.CauseOSRunQueue || c == loadgen.CauseUnknown):
			// The hypervisor ran another guest on this machine's CPUs: a
			// thread on a stolen CPU is late however it is scheduled.
			cause = "steal"
			evidence = fmt.Sprintf("the hypervisor took %.0f ms of this second's CPU for other guests (steal); %s", 1000*stealCores, evidence)
			v = validity.MachineBound
		case c == loadgen.CauseOSRunQueue:
			// The OS gave the generator's CPU to another process: the
			// machine set this second, not the generator.
			v = validity.MachineBound
		}
	}
	if v != validity.OK {
		bound = string(v)
	}
	s.Bound = append(s.Bound, bound)
	s.BoundCause = append(s.BoundCause, cause)
	s.BoundEvidence = append(s.BoundEvidence, evidence)
	return bound
}

// judge sets the summary's validity from the verdicts of the attack's
// seconds, those that ended by attackS (the drain's are shaded but not
// judged), as recordHost marked them.
func judge(s *results.Summary, series *results.Series, attackS float64, th validity.Thresholds) {
	var vs []validity.Verdict
	causes := map[string]int{}
	for i, t := range series.T {
		if t > attackS+0.5 || i >= len(series.Bound) {
			break
		}
		vs = append(vs, validity.Verdict(series.Bound[i]))
		if i < len(series.BoundCause) && series.BoundCause[i] != "" {
			causes[series.BoundCause[i]]++
		}
	}
	j := th.JudgeVerdicts(vs, host.Cores())
	s.Validity, s.ValidityReason = string(j.Verdict), j.Reason
	if j.Verdict != validity.OK && len(causes) > 0 {
		if j.Verdict == validity.MachineBound && causes["host-busy"] < j.MachineS {
			// Not every machine-bound second was a busy host: say what was.
			s.ValidityReason = fmt.Sprintf("the machine, not the pattern, set these numbers for %d s", j.MachineS)
			if j.GeneratorS > 0 {
				s.ValidityReason += fmt.Sprintf(" (and %d s generator-bound)", j.GeneratorS)
			}
		}
		s.ValidityReason += "; bound seconds by measured cause: " + causeCounts(causes)
	}
	s.BoundS, s.MachineBoundS, s.GeneratorBoundS = j.BoundS, j.MachineS, j.GeneratorS
}

// summarizeHost fills the generator's send lag, its saturation and the
// pattern's validity. Called with r.mu held.
func (r *patternRun) summarizeHost(s *results.Summary, rec *loadgen.Recorder, attackS float64) {
	th := r.thresholds()
	lag := rec.SendLag()
	if lag.TotalCount() > 0 {
		s.SendLag = results.LagPercentiles{P50: ms(lag.ValueAtQuantile(50)), P99: ms(lag.ValueAtQuantile(99)), Max: ms(lag.Max())}
	}
	if s.Requests > 0 && float64(s.LateSends) > th.LateFraction*float64(s.Requests) {
		s.Saturated = true
	}
	judge(s, &r.series, attackS, th)
}

// validityWarnings are what the run's warnings say of a pattern's
// validity and of the numbers it could not record.
func validityWarnings(key string, s *results.Summary) []string {
	var w []string
	if s.Validity != "" && s.Validity != string(validity.OK) {
		w = append(w, fmt.Sprintf("%s is %s: %s; no claim or gate decides from it", key, s.Validity, s.ValidityReason))
	}
	if s.Saturated {
		w = append(w, fmt.Sprintf("%s: the generator fell behind: achieved %.0f of %.0f rps offered, %d sends (%.1f%%) more than the late threshold after their intended time (send lag p99 %.2f ms): its latency numbers understate the load",
			key, s.AchievedRPS, s.OfferedRPS, s.LateSends, pct(s.LateSends, s.Requests), s.SendLag.P99))
	}
	if s.LostUnknown {
		w = append(w, key+": the final ledger read failed: lost, delivered and dead-lettered are unknown")
	}
	if s.SampleGaps > 0 {
		w = append(w, fmt.Sprintf("%s: %d per-second ledger reads failed: the per-second time-to-notify has holes (the summary's comes from the whole-run histogram)", key, s.SampleGaps))
	}
	if s.Clamped > 0 || s.NoID > 0 || s.LedgerClamped > 0 {
		w = append(w, fmt.Sprintf("%s: numbers not recorded as measured: %d API latencies outside the histograms' range, %d accepted answers without a usable id, %d time-to-notify values outside the ledger's range", key, s.Clamped, s.NoID, s.LedgerClamped))
	}
	return w
}

func pct(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) / float64(whole) * 100
}

// causeCounts says how many seconds each cause bound, the most first:
// "12 s steal, 3 s host-busy".
func causeCounts(m map[string]int) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(a, b int) bool {
		if m[names[a]] != m[names[b]] {
			return m[names[a]] > m[names[b]]
		}
		return names[a] < names[b]
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%d s %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}
