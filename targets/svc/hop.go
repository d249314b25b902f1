package svc

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/wire"
)

// Chains: a reaction may cross relays (B, C, …) between the reaction service
// (A) and the notification service (D). Every hop after A keeps a HopMeter
// and answers PathHopInterval, so that the load generator can show, second by
// second, how far a failure at the end of the chain travels.

// Hop histogram bounds, in microseconds: 1 µs to one hour, 3 digits (the
// ledger's).
const (
	hopLowest  = 1
	hopHighest = 3600 * 1000 * 1000
	hopDigits  = 3
)

// HopMeter counts a hop's calls and records their latency. It is safe for
// concurrent use.
type HopMeter struct {
	calls, errors, rejected, opened atomic.Int64

	mu      sync.Mutex
	h       *hdrhistogram.Histogram
	breaker func() string
}

// NewHopMeter returns an empty meter.
func NewHopMeter() *HopMeter {
	return &HopMeter{h: hdrhistogram.New(hopLowest, hopHighest, hopDigits)}
}

// Observe records one call that began at start; failed says it failed.
func (m *HopMeter) Observe(start time.Time, failed bool) {
	us := min(max(time.Since(start).Microseconds(), hopLowest), hopHighest)
	m.calls.Add(1)
	if failed {
		m.errors.Add(1)
	}
	m.mu.Lock()
	m.h.RecordValue(us) //nolint:errcheck // clamped to the histogram's range
	m.mu.Unlock()
}

// Reject records one call failed fast by an open circuit breaker; it is
// also observed (Observe) as a failed call by the caller.
func (m *HopMeter) Reject() { m.rejected.Add(1) }

// Opened records one trip of the hop's circuit breaker.
func (m *HopMeter) Opened() { m.opened.Add(1) }

// SetBreaker sets how the meter reads the breaker's state.
func (m *HopMeter) SetBreaker(state func() string) {
	m.mu.Lock()
	m.breaker = state
	m.mu.Unlock()
}

// Interval returns the counters and the histogram since the previous
// Interval, and starts a new interval.
func (m *HopMeter) Interval() (wire.HopInterval, error) {
	m.mu.Lock()
	h := m.h
	m.h = hdrhistogram.New(hopLowest, hopHighest, hopDigits)
	state := m.breaker
	m.mu.Unlock()
	hi := wire.HopInterval{Calls: m.calls.Load(), Errors: m.errors.Load(), Rejected: m.rejected.Load(), Opened: m.opened.Load()}
	if state != nil {
		hi.Breaker = state()
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return hi, err
	}
	hi.Hist = string(enc)
	return hi, nil
}

// ServeInterval answers GET wire.PathHopInterval.
func (m *HopMeter) ServeInterval(ctx *fasthttp.RequestCtx) {
	hi, err := m.Interval()
	if err != nil {
		WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	WriteJSON(ctx, fasthttp.StatusOK, hi)
}
