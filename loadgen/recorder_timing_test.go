package loadgen

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/targets/wire"
)

// BenchmarkRecorder records accepted results with an id and a path, the
// common case, and compares it with drops (no headers read, a class
// found in the error text) and with one recorder shared by parallel
// goroutines. The goal: under 200 ns and 0 allocations per result.
func BenchmarkRecorder(b *testing.B) {
	pacer, err := NewStagePacer(Stage{For: time.Hour, From: 5000, To: 5000})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	// A ring of results with distinct ids, made before the timer runs.
	const ring = 1 << 12
	accepted := make([]vegeta.Result, ring)
	for i := range accepted {
		seq := uint64(i)
		accepted[i] = vegeta.Result{
			Seq: seq, Code: 202,
			Timestamp: start.Add(pacer.Due(seq+1) + 50*time.Microsecond),
			Latency:   time.Duration(500+i%5000) * time.Microsecond,
			Headers: http.Header{
				wire.HeaderID:   {strconv.FormatUint(seq+1, 10)},
				wire.HeaderPath: {"async"},
			},
		}
	}
	timeout := vegeta.Result{Timestamp: start, Latency: 30 * time.Second,
		Error: `Post "http://127.0.0.1:8080/v1/reactions": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`}

	b.Run("accepted", func(b *testing.B) {
		rec := NewRecorder(RecorderOptions{Due: pacer.Due})
		rec.SetStart(start)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			rec.Record(&accepted[i&(ring-1)])
			i++
		}
	})
	b.Run("timeout", func(b *testing.B) {
		rec := NewRecorder(RecorderOptions{Due: pacer.Due})
		rec.SetStart(start)
		b.ReportAllocs()
		for b.Loop() {
			rec.Record(&timeout)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		rec := NewRecorder(RecorderOptions{Due: pacer.Due})
		rec.SetStart(start)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				rec.Record(&accepted[i&(ring-1)])
				i++
			}
		})
	})
}

// BenchmarkTick is the once-a-second cost (percentiles, two log lines,
// the merge into the whole run) plus recording 1,000 results.
func BenchmarkTick(b *testing.B) {
	start := time.Now()
	rec := NewRecorder(RecorderOptions{Due: every10ms, APILog: discard{}, APIUncorrectedLog: discard{}})
	rec.SetStart(start)
	results := make([]vegeta.Result, 1000) // a second's worth, recorded outside the timer's concern
	for i := range results {
		results[i] = vegeta.Result{Seq: uint64(i), Code: 202, Timestamp: start, Latency: time.Duration(i) * time.Microsecond}
	}
	b.ReportAllocs()
	now := start
	for b.Loop() {
		for i := range results {
			rec.Record(&results[i])
		}
		now = now.Add(time.Second)
		rec.Tick(now)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
