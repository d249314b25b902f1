package harness

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// summarize makes the pattern's results from the recorder, the samples and
// the ledger's snapshot (nil when it could not be read); the parts add
// their own fields after (summarizer).
func (r *patternRun) summarize(rec *loadgen.Recorder, pacer loadgen.StagePacer, attackEnd time.Duration, drained bool, drainS float64, snap *wire.Snapshot) *results.Pattern {
	t := rec.Totals()
	api, apiUnc := rec.Histograms()
	attackS := attackEnd.Seconds()
	s := results.Summary{
		Requests:        t.Requests,
		Accepted:        t.Accepted,
		WarmupAccepted:  r.warmupAccepted,
		AcceptedSync:    t.AcceptedSync,
		AcceptedAsync:   t.AcceptedAsync,
		OfferedRPS:      float64(pacer.Total()) / pacer.Duration().Seconds(),
		AchievedRPS:     float64(t.Requests) / attackS,
		GoodputRPS:      float64(t.Accepted) / attackS,
		LateSends:       t.Late,
		LateByCause:     lateByCause(t.LateBy),
		API:             percentiles(api),
		APIUncorrected:  percentiles(apiUnc),
		Drops:           t.Drops,
		Indeterminate:   t.Indeterminate,
		DrainS:          drainS,
		Drained:         drained,
		CPUSecondsPer1k: map[string]float64{},
		PeakRSSMB:       map[string]float64{},
	}
	s.Saturated = t.Requests < int64(pacer.Total())*99/100 || s.AchievedRPS < 0.99*s.OfferedRPS
	s.Clamped, s.NoID = t.Clamped, t.NoID
	r.mu.Lock()
	defer r.mu.Unlock()
	// Time-to-notify from the ledger's whole-run histogram: a per-second
	// read that failed loses nothing here. The sum of the per-second reads
	// stands in only where the whole ledger could not be read.
	s.Notify = percentiles(r.notify)
	if snap != nil {
		if h, err := snap.Histogram(); err == nil {
			s.Notify = percentiles(h)
			r.notify = h
		}
	}
	s.SampleGaps = r.sampleGaps
	r.summarizeHost(&s, rec, attackS)
	for _, l := range r.series.Lag {
		s.PeakLag = max(s.PeakLag, l)
	}
	r.summarizeCPU(&s, t.Accepted)
	if snap != nil {
		accepted := rec.AcceptedIDs()
		s.Delivered = int64(snap.DeliveredIDs.Count())
		s.Duplicated = snap.Duplicates
		s.Deduplicated = snap.Deduplicated
		s.DeadLettered = int64(accepted.Minus(accepted.Minus(snap.DeadLetteredIDs)).Count())
		r.lostIDs = accepted.Minus(snap.DeliveredIDs.Union(snap.DeadLetteredIDs))
		s.Lost = int64(r.lostIDs.Count())
		s.DeliveredUnaccepted = int64(snap.DeliveredIDs.Minus(accepted).Count())
		s.NeverNotified = s.Lost + s.DeadLettered
		s.LedgerClamped = snap.Clamped
	}
	pat := &results.Pattern{Summary: s, Series: r.series, Runs: 1, Faults: r.faults}
	pat.Series.AttackEndS = attackS
	pat.Histograms.API = encode(api)
	pat.Histograms.APIUncorrected = encode(apiUnc)
	pat.Histograms.Notify = encode(r.notify)
	// The hops of the traced first deliveries. A snapshot whose hop
	// histograms do not decode leaves them empty: Traced 0 says so.
	if hops := newHopHists(); hops.fromSnapshot(snap) == nil {
		hops.set(pat)
	}
	return pat
}

// summarizeCPU fills the CPU-seconds per 1,000 accepted reactions and the
// peak memory of every process. Called with r.mu held.
func (r *patternRun) summarizeCPU(s *results.Summary, accepted int64) {
	var total float64
	for name, cpu := range r.meter.total {
		if name == "broker" && !r.async() {
			continue // sync has no broker: its idle JVM is not the pattern's cost
		}
		if accepted > 0 {
			s.CPUSecondsPer1k[name] = cpu.Seconds() / float64(accepted) * 1000
			if name != "generator" { // total is the system under test
				total += s.CPUSecondsPer1k[name]
			}
		}
	}
	s.CPUSecondsPer1k["total"] = total
	s.CPUNotMeasured = r.sys.notMeasured(r)
	for name, b := range r.meter.peak {
		s.PeakRSSMB[name] = float64(b) / (1 << 20)
	}
}

func percentiles(h *hdrhistogram.Histogram) results.Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return results.Percentiles{}
	}
	return results.Percentiles{
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}

func encode(h *hdrhistogram.Histogram) string {
	if h == nil {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// lateByCause names the late sends' causes, those that counted any.
func lateByCause(by [loadgen.NumCauses]int64) map[string]int64 {
	var m map[string]int64
	for c := loadgen.CauseGC; c < loadgen.NumCauses; c++ {
		if by[c] > 0 {
			if m == nil {
				m = make(map[string]int64)
			}
			m[c.String()] = by[c]
		}
	}
	return m
}
