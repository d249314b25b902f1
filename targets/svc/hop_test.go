package svc

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/targets/wire"
)

// TestHopMeterInterval: counters are cumulative, the histogram holds only
// the calls since the previous Interval, and the breaker's state is read.
func TestHopMeterInterval(t *testing.T) {
	m := NewHopMeter()
	start := time.Now().Add(-3 * time.Millisecond)
	m.Observe(start, false)
	m.Observe(start, true)
	m.Reject()
	m.Opened()
	m.SetBreaker(func() string { return "open" })
	check := func(hi wire.HopInterval, calls, errs, inHist int64) {
		t.Helper()
		h, err := hdrhistogram.Decode([]byte(hi.Hist))
		if err != nil {
			t.Fatal(err)
		}
		if hi.Calls != calls || hi.Errors != errs || hi.Rejected != 1 || hi.Opened != 1 || hi.Breaker != "open" || h.TotalCount() != inHist {
			t.Errorf("got %+v with %d in the histogram; want %d calls, %d errors, 1 rejected, 1 opened, open, %d in the histogram", hi, h.TotalCount(), calls, errs, inHist)
		}
		if inHist > 0 && h.Min() < 3000 {
			t.Errorf("histogram min %d µs, want at least the 3 ms the calls took", h.Min())
		}
	}
	hi, err := m.Interval()
	if err != nil {
		t.Fatal(err)
	}
	check(hi, 2, 1, 2)
	m.Observe(start, false)
	hi, _ = m.Interval()
	check(hi, 3, 1, 1)
}

// BenchmarkHopMeterObserve is what a hop pays on its request path per call.
func BenchmarkHopMeterObserve(b *testing.B) {
	m := NewHopMeter()
	start := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(start, false)
		}
	})
}
