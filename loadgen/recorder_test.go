package loadgen

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// every10ms is a Due of 100 hits per second: hit n is due at n×10 ms.
func every10ms(n uint64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// result is a synthetic result of hit seq, sent late after its intended
// time (start + every10ms(seq+1)) and answered after latency.
func result(start time.Time, seq uint64, late, latency time.Duration, code uint16, path string, id uint64) *vegeta.Result {
	res := &vegeta.Result{
		Seq:       seq,
		Code:      code,
		Timestamp: start.Add(every10ms(seq+1) + late),
		Latency:   latency,
		Headers:   http.Header{},
	}
	if id != 0 {
		res.Headers[wire.HeaderID] = []string{strconv.FormatUint(id, 10)}
	}
	if path != "" {
		res.Headers[wire.HeaderPath] = []string{path}
	}
	if code == 0 {
		res.Error = `Post "http://127.0.0.1:1/v1/reactions": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`
	}
	return res
}

func TestRecorderLatency(t *testing.T) {
	start := time.Now()
	rec := NewRecorder(RecorderOptions{Due: every10ms})
	rec.SetStart(start)
	// Sent on time, answered in 2 ms: both latencies are 2 ms.
	rec.Record(result(start, 0, 0, 2*time.Millisecond, 201, "sync", 1))
	// Sent 300 ms late (the generator stalled), answered in 2 ms: the user
	// waited 302 ms from when the request was due.
	rec.Record(result(start, 1, 300*time.Millisecond, 2*time.Millisecond, 201, "sync", 2))

	api, unc := rec.Histograms()
	if got, want := unc.Max(), int64(2000); !unc.ValuesAreEquivalent(got, want) {
		t.Errorf("uncorrected max = %d µs, want %d", got, want)
	}
	if got, want := api.Max(), int64(302000); !api.ValuesAreEquivalent(got, want) {
		t.Errorf("corrected max = %d µs, want %d", got, want)
	}
	if got, want := api.Min(), int64(2000); !api.ValuesAreEquivalent(got, want) {
		t.Errorf("corrected min = %d µs, want %d", got, want)
	}
	if got := rec.Totals().Late; got != 1 {
		t.Errorf("late = %d, want 1", got)
	}
}

func TestRecorderLate(t *testing.T) {
	tests := []struct {
		name string
		tol  time.Duration
		late time.Duration
		want int64
	}{
		{"on time", 0, 0, 0},
		// the default is validity's: late by more than 1 ms
		{"within the default tolerance", 0, 900 * time.Microsecond, 0},
		{"past the default tolerance", 0, 1100 * time.Microsecond, 1},
		{"within a wider tolerance", 50 * time.Millisecond, 40 * time.Millisecond, 0},
		{"past a narrow tolerance", time.Millisecond, 2 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			rec := NewRecorder(RecorderOptions{Due: every10ms, LateTolerance: tt.tol})
			rec.SetStart(start)
			rec.Record(result(start, 5, tt.late, time.Millisecond, 202, "async", 6))
			if got := rec.Totals().Late; got != tt.want {
				t.Errorf("late = %d, want %d", got, tt.want)
			}
			if got := rec.Tick(start.Add(time.Second)).Late; got != tt.want {
				t.Errorf("second's late = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestRecorderSendLag checks the send lag, actual minus intended send time,
// per window and over the run.
func TestRecorderSendLag(t *testing.T) {
	start := time.Now()
	rec := NewRecorder(RecorderOptions{Due: every10ms})
	rec.SetStart(start)
	// 99 sends on time, one 40 ms late: p50 0, max 40 ms.
	for seq := range uint64(99) {
		rec.Record(result(start, seq, 0, time.Millisecond, 202, "async", seq+1))
	}
	rec.Record(result(start, 99, 40*time.Millisecond, time.Millisecond, 202, "async", 100))
	sec := rec.Tick(start.Add(time.Second))
	if sec.SendLagP50 != 0 || sec.SendLagMax < 39.9 || sec.SendLagMax > 40.1 {
		t.Errorf("window send lag p50 %v max %v ms, want 0 and 40", sec.SendLagP50, sec.SendLagMax)
	}
	if sec.Late != 1 {
		t.Errorf("late = %d, want 1", sec.Late)
	}
	// The next window sends 10 ms late throughout.
	for seq := uint64(100); seq < 110; seq++ {
		rec.Record(result(start, seq, 10*time.Millisecond, time.Millisecond, 202, "async", seq+1))
	}
	if got := rec.Tick(start.Add(2 * time.Second)).SendLagP50; got < 9.9 || got > 10.1 {
		t.Errorf("second window's p50 = %v ms, want 10", got)
	}
	all := rec.SendLag()
	if all.TotalCount() != 110 {
		t.Errorf("whole-run send lag holds %d sends, want 110", all.TotalCount())
	}
	// Without a Due nothing is late and nothing is recorded as lag.
	none := NewRecorder(RecorderOptions{})
	none.SetStart(start)
	none.Record(result(start, 0, time.Second, time.Millisecond, 202, "async", 1))
	if got := none.SendLag().TotalCount(); got != 0 {
		t.Errorf("without Due the send lag holds %d, want 0", got)
	}
}

func TestRecorderCounts(t *testing.T) {
	start := time.Now()
	rec := NewRecorder(RecorderOptions{Due: every10ms})
	rec.SetStart(start)
	ms := time.Millisecond
	for _, res := range []*vegeta.Result{
		result(start, 0, 0, ms, 201, "sync", 10),
		result(start, 1, 0, ms, 202, "async", 11),
		result(start, 2, 0, ms, 202, "async", 12),
		result(start, 3, 0, ms, 503, "", 13),     // dropped: its id is not accepted
		result(start, 4, 0, ms, 0, "", 0),        // timeout: indeterminate
		result(start, 5, 0, ms, 202, "", 0),      // accepted without an id header
		result(start, 6, 0, ms, 201, "sync", 20), // a gap: 13..19 not accepted
	} {
		rec.Record(res)
	}
	got := rec.Totals()
	want := Totals{
		Requests: 7, Accepted: 5, AcceptedSync: 2, AcceptedAsync: 2,
		Indeterminate: 1, NoID: 1,
		Drops: results.Drops{Total: 2, Timeout: 1, HTTP503: 1},
	}
	if got != want {
		t.Errorf("totals\n got %+v\nwant %+v", got, want)
	}
	ids := rec.AcceptedIDs()
	wantIDs := wire.Ranges{{Lo: 10, Hi: 12}, {Lo: 20, Hi: 20}}
	if len(ids) != len(wantIDs) || ids[0] != wantIDs[0] || ids[1] != wantIDs[1] {
		t.Errorf("accepted ids = %v, want %v", ids, wantIDs)
	}
}

func TestRecorderIDsAcrossPages(t *testing.T) {
	rec := NewRecorder(RecorderOptions{})
	rec.SetStart(time.Now())
	// Out of order, over three pages of 65,536 ids, with a page skipped.
	var ids []uint64
	for id := uint64(65_000); id < 66_000; id++ {
		ids = append(ids, id)
	}
	ids = append(ids, 3<<16+5, 1, 2, 3, 1) // a duplicate counts once
	for i := len(ids) - 1; i >= 0; i-- {
		res := &vegeta.Result{Code: 202, Headers: http.Header{wire.HeaderID: {strconv.FormatUint(ids[i], 10)}}}
		rec.Record(res)
	}
	got := rec.AcceptedIDs()
	want := wire.FromIDs(ids)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("range %d = %v, want %v", i, got[i], want[i])
		}
	}
	if got.Count() != 1004 {
		t.Errorf("count = %d, want 1004", got.Count())
	}
}

func TestRecorderClamps(t *testing.T) {
	start := time.Now()
	rec := NewRecorder(RecorderOptions{Due: every10ms})
	rec.SetStart(start)
	rec.Record(result(start, 0, 0, 2*time.Minute, 0, "", 0)) // beyond 60 s, twice: corrected and not
	if got := rec.Totals().Clamped; got != 2 {
		t.Errorf("clamped = %d, want 2", got)
	}
	api, _ := rec.Histograms()
	if got := api.Max(); !api.ValuesAreEquivalent(got, results.HistMaxUS) {
		t.Errorf("max = %d, want %d", got, results.HistMaxUS)
	}
}

func TestRecorderTick(t *testing.T) {
	start := time.Now()
	var apiLog, uncLog bytes.Buffer
	rec := NewRecorder(RecorderOptions{Due: every10ms, APILog: &apiLog, APIUncorrectedLog: &uncLog})
	rec.SetStart(start)
	ms := time.Millisecond

	// Second 1: three accepted, one dropped; 4 sent.
	for range 4 {
		rec.countSent()
	}
	rec.Record(result(start, 0, 0, 1*ms, 201, "sync", 1))
	rec.Record(result(start, 1, 0, 2*ms, 202, "async", 2))
	rec.Record(result(start, 2, 0, 4*ms, 202, "async", 3))
	rec.Record(result(start, 3, 0, 8*ms, 429, "", 4))
	s1 := rec.Tick(start.Add(time.Second))
	want1 := Second{Sent: 4, Recorded: 4, Accepted: 3, PathSync: 1, PathAsync: 2, Drops: results.Drops{Total: 1, HTTP429: 1}}
	if s1.APIMax < 7.9 || s1.APIMax > 8.1 || s1.APIP50 < 1.9 || s1.APIP50 > 2.1 {
		t.Errorf("second 1: p50 %v ms, max %v ms; want 2, 8", s1.APIP50, s1.APIMax)
	}
	s1.APIP50, s1.APIP99, s1.APIMax = 0, 0, 0
	if s1 != want1 {
		t.Errorf("second 1\n got %+v\nwant %+v", s1, want1)
	}

	// Second 2: nothing; the window was reset.
	s2 := rec.Tick(start.Add(2 * time.Second))
	if s2 != (Second{}) {
		t.Errorf("second 2 = %+v, want nothing", s2)
	}

	// Second 3: one slow answer.
	rec.Record(result(start, 4, 0, 100*ms, 201, "sync", 5))
	s3 := rec.Tick(start.Add(3 * time.Second))
	if s3.Recorded != 1 || s3.APIMax < 99.9 || s3.APIMax > 100.1 {
		t.Errorf("second 3 = %+v, want 1 recorded, max 100 ms", s3)
	}

	// The whole run holds every window.
	api, unc := rec.Histograms()
	if api.TotalCount() != 5 || unc.TotalCount() != 5 {
		t.Errorf("whole run: %d and %d values, want 5", api.TotalCount(), unc.TotalCount())
	}
	if err := rec.LogErr(); err != nil {
		t.Fatal(err)
	}

	// One interval line per Tick in each log, read back with the same counts.
	for name, log := range map[string]*bytes.Buffer{"api": &apiLog, "uncorrected": &uncLog} {
		text := log.String()
		if !strings.Contains(text, results.UnitComment) {
			t.Errorf("%s log has no unit comment:\n%s", name, text)
		}
		hs, err := results.ReadIntervalLog(strings.NewReader(text), 0)
		if err != nil {
			t.Fatalf("%s log: %v", name, err)
		}
		var counts []int64
		for _, h := range hs {
			counts = append(counts, h.TotalCount())
		}
		if len(counts) != 3 || counts[0] != 4 || counts[1] != 0 || counts[2] != 1 {
			t.Errorf("%s log: interval counts %v, want [4 0 1]", name, counts)
		}
	}
}

// TestRecorderConcurrent records from several goroutines while ticking; run
// with -race.
func TestRecorderConcurrent(t *testing.T) {
	start := time.Now()
	rec := NewRecorder(RecorderOptions{Due: every10ms, APILog: &bytes.Buffer{}})
	rec.SetStart(start)
	const per, workers = 500, 4
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range per {
				id := uint64(w*per + i + 1)
				rec.Record(result(start, id-1, 0, time.Millisecond, 202, "async", id))
			}
		}()
	}
	var ticked int64
	for range 3 {
		ticked += rec.Tick(time.Now()).Recorded
	}
	for range workers {
		<-done
	}
	ticked += rec.Tick(time.Now()).Recorded
	if ticked != per*workers {
		t.Errorf("recorded %d over the ticks, want %d", ticked, per*workers)
	}
	if got := rec.AcceptedIDs(); len(got) != 1 || got[0] != (wire.Range{Lo: 1, Hi: per * workers}) {
		t.Errorf("accepted ids = %v", got)
	}
}
