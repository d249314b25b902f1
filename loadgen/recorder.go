package loadgen

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// DefaultLateTolerance is how much later than its intended time a request
// may be sent before it counts as late (the generator fell behind): the
// validity package's default, so that a second with more than 1% of its
// sends late by more than this is generator-bound.
const DefaultLateTolerance = time.Millisecond

// RecorderOptions configure a [Recorder]. The zero value records latency
// from the actual send only (no Due) and writes no logs.
type RecorderOptions struct {
	// Due returns when the n-th hit (counting from 1) was due, from the
	// start: the pacer's [StagePacer.Due]. Nil: latency is corrected by
	// nothing and nothing is late.
	Due func(n uint64) time.Duration
	// LateTolerance: a hit sent more than this after its intended time is
	// late. 0 means DefaultLateTolerance.
	LateTolerance time.Duration
	// APILog and APIUncorrectedLog receive HdrHistogram interval logs of
	// the corrected and uncorrected latency, one interval per Tick; nil
	// writes none. The Recorder does not close them.
	APILog, APIUncorrectedLog io.Writer
}

// Second is what one window between two Ticks saw. Sent counts requests
// by when they were sent (by [Attack]'s targeter); the rest count results
// by when they were recorded, that is when their answer (or error) came.
type Second struct {
	Sent      int64 // requests sent in the window
	Recorded  int64 // results recorded in the window
	Accepted  int64 // answered 201 or 202
	PathSync  int64 // accepted, by X-Commbench-Path
	PathAsync int64
	Late      int64 // sent more than the late tolerance after their intended time
	Drops     results.Drops
	// SendLag is how late the window's recorded requests were sent, actual
	// minus intended send time, milliseconds; 0 when nothing was recorded
	// or there is no Due.
	SendLagP50, SendLagP99, SendLagMax float64
	// Latency from the intended send time (corrected), milliseconds; 0
	// when nothing was recorded in the window.
	APIP50, APIP99, APIMax float64
	// LateBy counts Late by the cause the generator measured (indexed by
	// Cause; CauseNone stays 0), and Evidence holds each cause's figure,
	// the largest of the window: ms the pacer's thread waited in the OS
	// run queue (os-run-queue), ms of the worst Go scheduling latency
	// (go-scheduler), ms to get a connection (dial), ms of lag (gc,
	// unknown).
	LateBy   [NumCauses]int64
	Evidence [NumCauses]float64
	// Workers and Conns are the attack's gauges at the Tick: its send
	// workers and its open connections to the target (0 before an attack
	// set them).
	Workers, Conns int64
}

// Totals are counts over the whole run.
type Totals struct {
	Requests      int64 // results recorded: sent and answered, failed or timed out
	Accepted      int64 // answered 201 or 202
	AcceptedSync  int64
	AcceptedAsync int64
	Late          int64
	LateBy        [NumCauses]int64 // Late by measured cause
	Indeterminate int64            // the client timed out: the server may have accepted it
	Drops         results.Drops
	// Clamped counts latencies outside the histograms' range (1 µs to
	// 60 s), recorded at the nearest end.
	Clamped int64
	// NoID counts accepted answers without a readable X-Commbench-Id:
	// they are in Accepted but not in AcceptedIDs.
	NoID int64
}

// Recorder records an attack's results: latency in HdrHistograms (a window
// per Tick and the whole run), drops by class, accepted ids in a bitset.
// Its memory does not grow with the number of requests, only with the
// range of accepted ids (a wire.IDSet: 8 KiB per 65,536 ids, allocated
// when first used, behind a directory of 512 KiB).
// It is safe for concurrent use.
type Recorder struct {
	due func(uint64) time.Duration
	tol time.Duration

	sent atomic.Int64 // sends since the last Tick, counted by Attack's targeter

	gauges atomic.Pointer[func() (workers, conns int64)] // set by the attack

	mu      sync.Mutex // guards what Record touches
	start   time.Time
	win     *hdrhistogram.Histogram // corrected, current window
	winU    *hdrhistogram.Histogram // uncorrected, current window
	winL    *hdrhistogram.Histogram // send lag, current window
	sec     Second                  // counts of the current window
	tot     Totals
	ids     *wire.IDSet
	started bool

	tick   sync.Mutex // serialises Tick and Histograms; guards below
	all    *hdrhistogram.Histogram
	allU   *hdrhistogram.Histogram
	allL   *hdrhistogram.Histogram
	spare  *hdrhistogram.Histogram // the next window, swapped in by Tick
	spareU *hdrhistogram.Histogram
	spareL *hdrhistogram.Histogram
	from   time.Time // the current window's start
	logW   [2]io.Writer
	logs   [2]*results.IntervalLog
	logErr error
}

// NewRecorder returns a Recorder. Call SetStart before the first Record.
func NewRecorder(o RecorderOptions) *Recorder {
	tol := o.LateTolerance
	if tol <= 0 {
		tol = DefaultLateTolerance
	}
	return &Recorder{
		ids: wire.NewIDSet(),
		due: o.Due, tol: tol,
		win: results.NewHistogram(), winU: results.NewHistogram(), winL: results.NewHistogram(),
		all: results.NewHistogram(), allU: results.NewHistogram(), allL: results.NewHistogram(),
		spare: results.NewHistogram(), spareU: results.NewHistogram(), spareL: results.NewHistogram(),
		logW: [2]io.Writer{o.APILog, o.APIUncorrectedLog},
	}
}

// SetStart sets the time from which the Due times count: the attack's
// start. It writes nothing; the logs' headers are written by the first Tick.
func (r *Recorder) SetStart(t time.Time) {
	r.mu.Lock()
	r.start, r.started = t, true
	r.mu.Unlock()
	r.tick.Lock()
	r.from = t
	r.tick.Unlock()
}

// setGauges sets what Tick reads the attack's workers and connections
// from.
func (r *Recorder) setGauges(g func() (workers, conns int64)) { r.gauges.Store(&g) }

// countSent counts one request as sent in the current window.
func (r *Recorder) countSent() { r.sent.Add(1) }

// Record records one result. It takes well under 200 ns and allocates
// nothing (BenchmarkRecorder); a page of the id bitset is allocated once
// per 65,536 ids.
//
// The corrected latency is measured from the intended send time, start +
// Due(Seq+1), to the end of the answer, Timestamp + Latency; the
// uncorrected one is Latency, from the actual send. Every result is
// recorded, accepted or not: a fast 503 is latency the user saw too.
func (r *Recorder) Record(res *vegeta.Result) {
	var a answer
	if res.Code == 201 || res.Code == 202 {
		if v := res.Headers[wire.HeaderID]; len(v) > 0 { // canonical key: no allocation
			n, err := strconv.ParseUint(v[0], 10, 64)
			a.id, a.idOK = n, err == nil
		}
		if v := res.Headers[wire.HeaderPath]; len(v) > 0 {
			a.path = v[0]
		}
	}
	r.add(res, a, CauseNone, 0)
}

// add records res, whose accepted answer carried a (read from its headers
// by the caller: vegeta's http.Header or fasthttp's).
// cause is the generator's measured cause, should the send be late
// (CauseNone: none measured; a late send is then CauseUnknown), fig its
// evidence.
func (r *Recorder) add(res *vegeta.Result, a answer, cause Cause, fig float64) {
	class := Classify(res)
	id, idOK, path := a.id, a.idOK, a.path
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := res.Latency
	late := false
	if r.due != nil && r.started {
		lateBy := res.Timestamp.Sub(r.start.Add(r.due(res.Seq + 1)))
		late = lateBy > r.tol
		lat += lateBy
		// Clamped counts API latencies; a send lag past the range (a minute
		// late) is recorded at its edge without counting there.
		_ = r.winL.RecordValue(min(max(lateBy, 0).Microseconds(), results.HistMaxUS))
	}
	r.record(r.win, lat)
	r.record(r.winU, res.Latency)

	r.sec.Recorded++
	r.tot.Requests++
	if late {
		r.sec.Late++
		r.tot.Late++
		if cause == CauseNone || cause >= NumCauses {
			cause, fig = CauseUnknown, float64(lat-res.Latency)/1e6
		}
		r.sec.LateBy[cause]++
		r.sec.Evidence[cause] = max(r.sec.Evidence[cause], fig)
		r.tot.LateBy[cause]++
	}
	if class != results.NotDropped {
		r.sec.Drops.Add(class)
		r.tot.Drops.Add(class)
		if class == results.DropTimeout {
			r.tot.Indeterminate++
		}
		return
	}
	r.sec.Accepted++
	r.tot.Accepted++
	switch path {
	case "sync":
		r.sec.PathSync++
		r.tot.AcceptedSync++
	case "async":
		r.sec.PathAsync++
		r.tot.AcceptedAsync++
	}
	if !idOK {
		r.tot.NoID++
	} else if _, err := r.ids.Add(id); err != nil {
		r.tot.NoID++ // an id no ledger can hold: 0 or above wire.MaxID
	}
}

// record records d in µs into h, clamped to the histogram's range.
func (r *Recorder) record(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < 0 || us > results.HistMaxUS {
		r.tot.Clamped++
		us = min(max(us, 0), results.HistMaxUS)
	}
	_ = h.RecordValue(us) // in range by construction
}

// Tick closes the current window at now and starts the next: it returns
// the window's counts and latency, writes one interval to each log and
// adds the window to the whole-run histograms. Call it once a second.
func (r *Recorder) Tick(now time.Time) Second {
	r.tick.Lock()
	defer r.tick.Unlock()

	r.mu.Lock()
	win, winU, winL := r.win, r.winU, r.winL
	r.win, r.winU, r.winL = r.spare, r.spareU, r.spareL
	s := r.sec
	r.sec = Second{}
	r.mu.Unlock()
	s.Sent = r.sent.Swap(0)
	if g := r.gauges.Load(); g != nil {
		s.Workers, s.Conns = (*g)()
	}

	if win.TotalCount() > 0 {
		s.APIP50 = usToMs(win.ValueAtQuantile(50))
		s.APIP99 = usToMs(win.ValueAtQuantile(99))
		s.APIMax = usToMs(win.Max())
	}
	if winL.TotalCount() > 0 {
		s.SendLagP50 = usToMs(winL.ValueAtQuantile(50))
		s.SendLagP99 = usToMs(winL.ValueAtQuantile(99))
		s.SendLagMax = usToMs(winL.Max())
	}
	for i, h := range [2]*hdrhistogram.Histogram{win, winU} {
		if r.logW[i] == nil || r.logErr != nil {
			continue
		}
		if r.logs[i] == nil {
			if r.logs[i], r.logErr = results.NewIntervalLog(r.logW[i], r.from); r.logErr != nil {
				continue
			}
		}
		r.logErr = r.logs[i].Write(h, r.from, now)
	}
	r.from = now
	r.all.Merge(win) // same geometry: nothing is dropped
	r.allU.Merge(winU)
	r.allL.Merge(winL)
	win.Reset()
	winU.Reset()
	winL.Reset()
	r.spare, r.spareU, r.spareL = win, winU, winL
	return s
}

// LogErr returns the first error writing the interval logs, if any.
func (r *Recorder) LogErr() error {
	r.tick.Lock()
	defer r.tick.Unlock()
	return r.logErr
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// Totals returns the counts over the whole run so far.
func (r *Recorder) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tot
}

// Histograms returns copies of the whole run's latency histograms so far,
// the current window included: from the intended send time (corrected)
// and from the actual send. Values are microseconds.
func (r *Recorder) Histograms() (api, apiUncorrected *hdrhistogram.Histogram) {
	r.tick.Lock()
	defer r.tick.Unlock()
	api, apiUncorrected = r.all.Clone(), r.allU.Clone()
	r.mu.Lock()
	api.Merge(r.win)
	apiUncorrected.Merge(r.winU)
	r.mu.Unlock()
	return api, apiUncorrected
}

// SendLag returns a copy of the whole run's send lag histogram so far
// (actual minus intended send time, µs), the current window included.
// It is empty without a Due.
func (r *Recorder) SendLag() *hdrhistogram.Histogram {
	r.tick.Lock()
	defer r.tick.Unlock()
	h := r.allL.Clone()
	r.mu.Lock()
	h.Merge(r.winL)
	r.mu.Unlock()
	return h
}

// AcceptedIDs returns the ids answered 201 or 202, as read from the
// X-Commbench-Id header, as ranges.
func (r *Recorder) AcceptedIDs() wire.Ranges {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids.Ranges()
}
