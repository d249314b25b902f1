package harness

import (
	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/commbench/commbench/results"
)

// windowPercentiles sets the per-second percentiles from the merged
// windows.
func windowPercentiles(se *results.Series, apiW, notifyW []*hdrhistogram.Histogram) {
	n := len(se.T)
	se.APIP50, se.APIP99, se.APIMax = make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n && i < len(apiW); i++ {
		if h := apiW[i]; h.TotalCount() > 0 {
			se.APIP50[i], se.APIP99[i], se.APIMax[i] = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99)), ms(h.Max())
		}
	}
	se.NotifyP50, se.NotifyP99 = make([]float64, n), make([]float64, n)
	for i := 0; i < n && i < len(notifyW); i++ {
		if h := notifyW[i]; h.TotalCount() > 0 {
			se.NotifyP50[i], se.NotifyP99[i] = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99))
		}
	}
}

// mergeSeries sums the shards' per-second counts, shard k's second j at
// j+off[k]; what only the ledger's owner samples (deliveries, lag) comes
// from the owner. The percentiles are left to the caller.
func mergeSeries(parts []mergePart, key string, off []int) results.Series {
	n := 0
	var end float64
	for k, p := range parts {
		se := p.res.Patterns[key].Series
		n = max(n, len(se.T)+off[k])
		end = max(end, se.AttackEndS+float64(off[k]))
	}
	out := results.Series{AttackEndS: end, Drops: map[string][]int64{}, CPU: map[string][]float64{}, RSSMB: map[string][]float64{}}
	out.T = make([]float64, n)
	for i := range out.T {
		out.T[i] = float64(i + 1)
	}
	addF := func(dst *[]float64, src []float64, o int) {
		if *dst == nil {
			*dst = make([]float64, n)
		}
		for j, v := range src {
			(*dst)[j+o] += v
		}
	}
	addI := func(dst *[]int64, src []int64, o int) {
		if *dst == nil {
			*dst = make([]int64, n)
		}
		for j, v := range src {
			(*dst)[j+o] += v
		}
	}
	hasLag, deliveredEnd := false, 0
	for k, p := range parts {
		se, o := p.res.Patterns[key].Series, off[k]
		addF(&out.OfferedRPS, se.OfferedRPS, o)
		addF(&out.AchievedRPS, se.AchievedRPS, o)
		addF(&out.AcceptedRPS, se.AcceptedRPS, o)
		addI(&out.PathSync, se.PathSync, o)
		addI(&out.PathAsync, se.PathAsync, o)
		for class, v := range se.Drops {
			d := out.Drops[class]
			addI(&d, v, o)
			out.Drops[class] = d
		}
		for name, v := range se.CPU {
			c := out.CPU[name]
			addF(&c, v, o)
			out.CPU[name] = c
		}
		for name, v := range se.RSSMB {
			c := out.RSSMB[name]
			addF(&c, v, o)
			out.RSSMB[name] = c
		}
		if !p.shard.Owner {
			continue
		}
		addI(&out.Delivered, se.Delivered, o)
		deliveredEnd = max(deliveredEnd, len(se.Delivered)+o)
		if len(se.Lag) > 0 {
			if !hasLag {
				out.Lag = make([]int64, n)
				for i := range out.Lag {
					out.Lag[i] = -1
				}
				hasLag = true
			}
			for j, v := range se.Lag {
				if v >= 0 {
					out.Lag[j+o] = max(out.Lag[j+o], 0) + v
				}
			}
		}
	}
	if out.Delivered == nil {
		out.Delivered = make([]int64, n)
	}
	for i := max(deliveredEnd, 1); i < n; i++ {
		out.Delivered[i] = out.Delivered[i-1] // cumulative: it stays where the owner's samples end
	}
	return out
}
