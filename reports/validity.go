package reports

import (
	"fmt"
	"strings"

	"github.com/commbench/commbench/results"
)

// judged says whether the run judged the pattern's validity at all:
// results from before it did have summary.validity "".
func judged(s *results.Summary) bool { return s.Validity != "" }

// notOK says whether the machine or the generator, not the pattern, set
// the pattern's numbers.
func notOK(s *results.Summary) bool { return judged(s) && s.Validity != results.ValidityOK }

// validityBanners name, in red, each pattern that is not ok and why: its
// validity, or a final ledger read that failed (lost unknown).
func validityBanners(r *results.Results, prefix string) []banner {
	var bs []banner
	for _, name := range r.Keys() {
		s := &r.Patterns[name].Summary
		var why []string
		if notOK(s) {
			why = append(why, boundReason(r, s)+boundCauses(&r.Patterns[name].Series))
		}
		if s.LostUnknown {
			why = append(why, "lost is unknown: the final ledger read failed, so lost, delivered, duplicated and dead-lettered are not known")
		}
		if len(why) == 0 {
			continue
		}
		text := prefix + name + " is not ok: " + strings.Join(why, "; ") + "."
		if notOK(s) {
			text += " Read its numbers as the machine's, not the pattern's; its bound seconds are shaded grey on the charts."
		}
		bs = append(bs, banner{Class: "danger", Text: text})
	}
	return bs
}

// boundReason is why a pattern is not ok: the run's own sentence, or one
// made from its counts when the run did not write one.
func boundReason(r *results.Results, s *results.Summary) string {
	if s.ValidityReason != "" {
		return strings.TrimSuffix(s.ValidityReason, ".")
	}
	th := thresholds(r)
	switch s.Validity {
	case results.ValidityMachineBound:
		return fmt.Sprintf("the machine, not the pattern, set these numbers for %d s (host CPU ≥ %.0f%% of %d cores)", s.MachineBoundS, 100*th.HostBusy, hostCores(r))
	case results.ValidityGeneratorBound:
		return fmt.Sprintf("the load generator fell behind for %d s (more than %s%% of a second's sends left more than %s ms late)", s.GeneratorBoundS, sigText(100*th.LateFraction), sigText(th.LateByMs))
	}
	return fmt.Sprintf("%s for %d s", s.Validity, s.BoundS)
}

// validityFact is the header's line on how the run judged its seconds;
// "" for results from before it did.
func validityFact(r *results.Results) string {
	seen := false
	for _, p := range r.Patterns {
		seen = seen || judged(&p.Summary)
	}
	if !seen {
		return ""
	}
	th := thresholds(r)
	fact := fmt.Sprintf("a second is machine-bound at host CPU ≥ %.0f%% of %d cores, generator-bound when more than %s%% of its sends leave more than %s ms late; a pattern is not ok when more than %s%% of its attack seconds are bound",
		100*th.HostBusy, hostCores(r), sigText(100*th.LateFraction), sigText(th.LateByMs), sigText(100*th.BoundFraction))
	if !r.Run.Host.CPUMeasured {
		fact += "; the host's CPU was not measured, so no second could be machine-bound"
	}
	return fact
}

// validityWarnings are what the run could not measure or record, pattern
// by pattern, and the bound seconds of the patterns that are still ok.
func validityWarnings(r *results.Results) []string {
	var ws []string
	add := func(format string, args ...any) { ws = append(ws, fmt.Sprintf(format, args...)) }
	for _, name := range r.Keys() {
		s := &r.Patterns[name].Summary
		if judged(s) && !notOK(s) && s.BoundS > 0 {
			add("%s: %d s bound (%s), under the %s%% of its attack seconds that makes a pattern not ok; they are shaded grey%s",
				name, s.BoundS, boundSplit(s), sigText(100*thresholds(r).BoundFraction), boundCauses(&r.Patterns[name].Series))
		}
		if s.LostUnknown {
			add("%s: lost unknown: the final ledger read failed", name)
		}
		if s.SampleGaps > 0 {
			add("%s: %s ledger samples could not be read: the per-second time-to-notify has holes there (the summary's comes from the whole-run histogram)", name, count(int64(s.SampleGaps)))
		}
		if s.Clamped > 0 {
			add("%s: %s API latencies were beyond the histograms' range and recorded at its edge: the slowest are understated", name, count(s.Clamped))
		}
		if s.LedgerClamped > 0 {
			add("%s: %s times-to-notify were beyond the ledger's range and recorded at its edge: the slowest are understated", name, count(s.LedgerClamped))
		}
		if s.NoID > 0 {
			add("%s: %s accepted answers carried no usable reaction id: the ledger cannot reconcile them", name, count(s.NoID))
		}
		for _, proc := range s.CPUNotMeasured {
			why := ""
			if proc == "broker" && r.Run.Broker.Kind == "external" {
				why = " (external broker)"
			}
			// Without the pattern's name: it is the same in every pattern.
			add("%s CPU not measured%s: CPU per 1,000's total leaves it out", proc, why)
		}
	}
	return ws
}

// boundSplit says what bound a pattern's seconds: "machine", "generator",
// or "12 machine, 3 generator".
func boundSplit(s *results.Summary) string {
	switch {
	case s.MachineBoundS > 0 && s.GeneratorBoundS > 0:
		return fmt.Sprintf("%d machine, %d generator", s.MachineBoundS, s.GeneratorBoundS)
	case s.GeneratorBoundS > 0:
		return "generator"
	}
	return "machine"
}

// validityMetrics are the summary table's first rows: each pattern's
// verdict, its bound seconds, how late the generator sent and, where
// there were any, the seconds the ledger could not be read.
func validityMetrics(sh shown) []metric {
	judgedOnly := func(f func(s *results.Summary) float64) func(*results.Pattern) (float64, bool) {
		return func(p *results.Pattern) (float64, bool) { return f(&p.Summary), judged(&p.Summary) }
	}
	m := []metric{
		{group: groupValidity, label: "verdict", categorical: true,
			value: judgedOnly(func(s *results.Summary) float64 {
				if notOK(s) {
					return 1
				}
				return 0
			}),
			format: func(_ float64, p *results.Pattern) string { return p.Summary.Validity },
			class: func(p *results.Pattern) string {
				if notOK(&p.Summary) {
					return "worse"
				}
				return ""
			}},
		{group: groupValidity, label: "bound seconds", dir: lower,
			value: judgedOnly(func(s *results.Summary) float64 { return float64(s.BoundS) }),
			format: func(v float64, p *results.Pattern) string {
				if v == 0 {
					return "0"
				}
				return fmt.Sprintf("%d of %.0f s (%s)", p.Summary.BoundS, p.Series.AttackEndS, boundSplit(&p.Summary))
			}},
		{group: groupValidity, label: "late sends (of sent)", dir: lower,
			value: judgedOnly(func(s *results.Summary) float64 { return float64(s.LateSends) }),
			format: func(v float64, p *results.Pattern) string {
				return count(int64(v)) + " (" + pct(v, float64(p.Summary.Requests)) + ")"
			}},
		{group: groupValidity, label: "generator's send lag p99, ms", dir: lower, format: fmtMs,
			value: judgedOnly(func(s *results.Summary) float64 { return s.SendLag.P99 })},
	}
	if sh.gaps {
		m = append(m, metric{group: groupValidity, label: "ledger samples not read", dir: lower, format: fmtCount,
			value: judgedOnly(func(s *results.Summary) float64 { return float64(s.SampleGaps) })})
	}
	return m
}

// boundCauses lists the bound seconds' measured causes, the first few
// with their evidence: "; t = 16 s os-run-queue (…), t = 17 s dial (…)";
// "" for results from before the run measured them.
func boundCauses(se *results.Series) string {
	const show = 4
	var parts []string
	more := 0
	for i, c := range se.BoundCause {
		if c == "" {
			continue
		}
		if len(parts) == show {
			more++
			continue
		}
		t := float64(i + 1)
		if i < len(se.T) {
			t = se.T[i]
		}
		p := fmt.Sprintf("t = %s s %s", sigText(t), c)
		if i < len(se.BoundEvidence) && se.BoundEvidence[i] != "" {
			p += " (" + se.BoundEvidence[i] + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	if more > 0 {
		parts = append(parts, fmt.Sprintf("%d more in results.json", more))
	}
	return "; measured causes: " + strings.Join(parts, ", ")
}
