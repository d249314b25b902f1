package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// ledgerSecond is what the sampler read in one second beside the
// recorder: the ledger's interval and the notification group's lag.
type ledgerSecond struct {
	counts wire.Counts
	h      *hdrhistogram.Histogram
	err    error
	lag    int64
}

// sampler runs every second from start until ctx ends: the recorder's
// window, the ledger's interval, the broker's lag, the parts' samples, CPU
// and memory.
func (r *patternRun) sampler(ctx context.Context, start time.Time, rec *loadgen.Recorder, pacer loadgen.StagePacer, notifyHlog *results.IntervalLog) {
	last := start
	samplers := each[sampler](r.parts)
	for i := 1; ; i++ {
		next := start.Add(time.Duration(i) * time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		now := time.Now()
		sec := rec.Tick(now)
		qctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
		// The parts are read beside the ledger, not after it: while D
		// hangs, its ledger takes the whole timeout, and the others must
		// still be read.
		records := make([]func(*tick), len(samplers))
		var wg sync.WaitGroup
		for j, pt := range samplers {
			wg.Go(func() { records[j] = pt.sample(qctx) })
		}
		ls := r.readLedgerSecond(qctx)
		wg.Wait()
		cancel()
		cores, rss := r.meter.sample(r.pids(), now.Sub(last))
		hostCores, stealCores := r.host.sample()
		last = now

		r.mu.Lock()
		r.record(i, pacer, sec, ls, now, notifyHlog)
		bound := r.recordHost(sec, hostCores, stealCores)
		t := &tick{series: &r.series, sec: sec, lag: ls.lag}
		for _, rec := range records {
			if rec != nil {
				rec(t)
			}
		}
		for name, c := range cores {
			r.series.CPU[name] = append(r.series.CPU[name], c)
			r.series.RSSMB[name] = append(r.series.RSSMB[name], rss[name])
		}
		r.mu.Unlock()
		r.progress(now.Sub(start).Seconds(), pacer, sec, ls.lag, hostCores, bound)
	}
}

// readLedgerSecond reads the ledger's last interval (shard 0 only: one
// reader) and the notification group's lag (-1 when not read).
func (r *patternRun) readLedgerSecond(ctx context.Context) ledgerSecond {
	ls := ledgerSecond{err: errNotOwner, lag: -1}
	if r.o.Shard.OwnsLedger() {
		ls.counts, ls.h, ls.err = fetchIntervals(ctx, r.ledgerURLs())
	}
	if r.async() && r.client != nil {
		if l, _, err := r.client.Lag(ctx, r.group, r.dTopic); err == nil {
			ls.lag = l
		}
	}
	return ls
}

// record appends second i to the series. Called with r.mu held.
func (r *patternRun) record(i int, pacer loadgen.StagePacer, sec loadgen.Second, ls ledgerSecond, now time.Time, notifyHlog *results.IntervalLog) {
	s := &r.series
	s.T = append(s.T, float64(i))
	s.OfferedRPS = append(s.OfferedRPS, offeredIn(pacer, time.Duration(i-1)*time.Second, time.Duration(i)*time.Second))
	s.AchievedRPS = append(s.AchievedRPS, float64(sec.Sent))
	s.AcceptedRPS = append(s.AcceptedRPS, float64(sec.Accepted))
	s.PathSync = append(s.PathSync, sec.PathSync)
	s.PathAsync = append(s.PathAsync, sec.PathAsync)
	s.APIP50 = append(s.APIP50, sec.APIP50)
	s.APIP99 = append(s.APIP99, sec.APIP99)
	s.APIMax = append(s.APIMax, sec.APIMax)
	np50, np99 := 0.0, 0.0
	if ls.err == nil && ls.h != nil {
		if ls.h.TotalCount() > 0 {
			np50, np99 = ms(ls.h.ValueAtQuantile(50)), ms(ls.h.ValueAtQuantile(99))
		}
		r.notify.Merge(ls.h)
		notifyHlog.Write(ls.h, now.Add(-time.Second), now)
		r.counts = ls.counts
	} else if !errors.Is(ls.err, errNotOwner) {
		r.sampleGaps++ // the summary's time-to-notify is the whole ledger's: nothing lost there
	}
	s.NotifyP50 = append(s.NotifyP50, np50)
	s.NotifyP99 = append(s.NotifyP99, np99)
	s.Delivered = append(s.Delivered, r.counts.Delivered)
	if r.async() {
		s.Lag = append(s.Lag, ls.lag)
		r.lag = ls.lag
	}
	for class, n := range sec.Drops.ByClass() {
		s.Drops[class] = append(s.Drops[class], n)
	}
}

// offeredIn is the schedule's rate averaged over [from, to).
func offeredIn(p loadgen.StagePacer, from, to time.Duration) float64 {
	return float64(p.Hits(to)-p.Hits(from)) / (to - from).Seconds()
}

func (r *patternRun) progress(t float64, pacer loadgen.StagePacer, sec loadgen.Second, lag int64, hostCores float64, bound string) {
	w := r.o.Progress
	if w == nil {
		return
	}
	total := pacer.Duration().Seconds()
	phase := fmt.Sprintf("%3.0fs/%.0fs", t, total)
	if t > total+0.5 {
		phase = fmt.Sprintf("drain %3.0fs", t-total)
	}
	lagText := ""
	if lag >= 0 {
		lagText = fmt.Sprintf("  lag %d", lag)
	}
	r.mu.Lock()
	delivered := r.counts.Delivered
	r.mu.Unlock()
	hostText := ""
	if hostCores >= 0 {
		hostText = fmt.Sprintf("  host %.1f cores", hostCores)
	}
	if bound != "" {
		// Said as it happens: this second measured the machine.
		hostText += "  " + strings.ToUpper(bound)
	}
	line := fmt.Sprintf("[%s] %s  offered %.0f -> sent %d rps  accepted %d  p99 %.1f ms  drops %d%s  delivered %d%s",
		r.label, phase, pacer.Rate(time.Duration(t*float64(time.Second))), sec.Sent, sec.Accepted, sec.APIP99, sec.Drops.Total, lagText, delivered, hostText)
	if r.o.Terminal {
		fmt.Fprintf(w, "\r\033[K%s", line)
		return
	}
	if int(t)%5 == 0 {
		fmt.Fprintln(w, line)
	}
}
