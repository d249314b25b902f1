package results

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/commbench/commbench/hdrcodec"
)

// Limits of what Read accepts: a results.json comes from other machines
// (CI artifacts, a colleague's run), and every command that reads one
// (report, compare, claims, gate, merge) relies on Validate's checks
// instead of repeating them.
const (
	// MaxSeconds is the longest per-second series: a day.
	MaxSeconds = MaxIntervals
	// MaxPatterns is how many patterns a results.json may hold.
	MaxPatterns = 1000
	// MaxFileBytes is the largest results.json Read reads: 512 MiB.
	MaxFileBytes = 512 << 20
)

// nameRE is what run ids, profile names and pattern keys are made of: they
// become file and folder names (compare-<id>.html, <key>-api.hlog,
// reports/runs/<time>-<profile>-merged), so no slash and no leading dot.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`)

// Validate checks what the readers of a results.json rely on: the run's
// id and profile and every pattern key are plain names, every pattern is
// there and every key of the order is one of them, every per-second
// series is as long as its seconds (or empty), and every histogram
// decodes within hdrcodec's bounds. The error names the field, in the
// JSON's terms.
func (r *Results) Validate() error {
	if r.Patterns == nil {
		return errors.New("no patterns")
	}
	if len(r.Patterns) > MaxPatterns || len(r.Order) > MaxPatterns {
		return fmt.Errorf("patterns: more than %d", MaxPatterns)
	}
	for field, v := range map[string]string{"run.id": r.Run.ID, "run.profile": r.Run.Profile} {
		if v != "" && !nameRE.MatchString(v) {
			return fmt.Errorf("%s %q: want letters, digits, '.', '-' and '_', not starting with '.'", field, v)
		}
	}
	for i, k := range r.Order {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("order[%d]: %w", i, err)
		}
		// Readers walk the order and look each key up (merge,
		// commbench run's summary, the peak prediction).
		if _, ok := r.Patterns[k]; !ok {
			return fmt.Errorf("order[%d]: %q is not in patterns", i, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r.Patterns)) {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("patterns: %w", err)
		}
		p := r.Patterns[k]
		if p == nil {
			return fmt.Errorf("patterns.%s: null", k)
		}
		if err := p.validate(); err != nil {
			return fmt.Errorf("patterns.%s.%w", k, err)
		}
	}
	return nil
}

func checkKey(k string) error {
	if !nameRE.MatchString(k) {
		return fmt.Errorf("key %q: want pattern[.variant][.repeat] of letters, digits and '-'", k)
	}
	_, err := ParseKey(k)
	return err
}

func (p *Pattern) validate() error {
	h := &p.Histograms
	for name, enc := range map[string]string{"api": h.API, "api_uncorrected": h.APIUncorrected, "notify": h.Notify} {
		if err := checkHist(enc); err != nil {
			return fmt.Errorf("histograms.%s: %w", name, err)
		}
	}
	for i, enc := range h.Hops.All() {
		if err := checkHist(*enc); err != nil {
			return fmt.Errorf("histograms.hops.%s: %w", HopNames[i], err)
		}
	}
	if err := p.Series.validate(); err != nil {
		return fmt.Errorf("series.%w", err)
	}
	return nil
}

func checkHist(enc string) error {
	if enc == "" {
		return nil
	}
	_, err := hdrcodec.DecodeString(enc)
	return err
}

// validate checks that every per-second series has one value a second or
// none (the host's accounting: at most one a second), and that the seconds
// are seconds.
func (s *Series) validate() error {
	n := len(s.T)
	if n > MaxSeconds {
		return fmt.Errorf("t: %d seconds, more than %d", n, MaxSeconds)
	}
	for i, t := range s.T {
		if !(t >= 0 && t <= 10*MaxSeconds) {
			return fmt.Errorf("t[%d]: %g: want seconds from the attack's start", i, t)
		}
	}
	if !(s.AttackEndS >= 0 && s.AttackEndS <= 10*MaxSeconds) {
		return fmt.Errorf("attack_end_s: %g: want seconds from the attack's start", s.AttackEndS)
	}
	lens := map[string]int{
		"offered_rps": len(s.OfferedRPS), "achieved_rps": len(s.AchievedRPS), "accepted_rps": len(s.AcceptedRPS),
		"path_sync": len(s.PathSync), "path_async": len(s.PathAsync),
		"api_p50_ms": len(s.APIP50), "api_p99_ms": len(s.APIP99), "api_max_ms": len(s.APIMax),
		"notify_p50_ms": len(s.NotifyP50), "notify_p99_ms": len(s.NotifyP99), "delivered": len(s.Delivered),
		"lag": len(s.Lag),
	}
	// The host's and the generator's accounting may stop short (results
	// written before it covered the drain); its readers check the length.
	for name, l := range map[string]int{"host_cpu_cores": len(s.HostCPU), "send_lag_p50_ms": len(s.SendLagP50),
		"send_lag_p99_ms": len(s.SendLagP99), "send_lag_max_ms": len(s.SendLagMax), "late_sends": len(s.LateSends), "bound": len(s.Bound),
		"bound_cause": len(s.BoundCause), "steal_cpu_cores": len(s.StealCPU), "bound_evidence": len(s.BoundEvidence)} {
		if l > n {
			return fmt.Errorf("%s: %d values for %d seconds (t): want at most one a second", name, l, n)
		}
	}
	for name, v := range s.LagByGroup {
		lens["lag_by_group."+name] = len(v)
	}
	for name, v := range s.Drops {
		lens["drops."+name] = len(v)
	}
	for name, v := range s.CPU {
		lens["cpu_cores."+name] = len(v)
	}
	for name, v := range s.RSSMB {
		lens["rss_mb."+name] = len(v)
	}
	for name, h := range s.Chain {
		if h == nil {
			return fmt.Errorf("chain.%s: null", name)
		}
		for f, l := range map[string]int{"calls": len(h.Calls), "errors": len(h.Errors), "p99_ms": len(h.P99), "lag": len(h.Lag), "breaker": len(h.Breaker)} {
			lens["chain."+name+"."+f] = l
		}
	}
	for _, name := range slices.Sorted(maps.Keys(lens)) {
		if l := lens[name]; l != 0 && l != n {
			return fmt.Errorf("%s: %d values for %d seconds (t): want one a second, or none", name, l, n)
		}
	}
	return nil
}
