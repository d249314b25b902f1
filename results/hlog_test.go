package results

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestIntervalLogRoundTrip(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 412_000_000, time.UTC)
	var buf bytes.Buffer
	l, err := NewIntervalLog(&buf, start)
	if err != nil {
		t.Fatal(err)
	}
	// Three one-second intervals with 1, 10 and 100 values.
	wantCounts := []int64{1, 10, 100}
	for i, n := range wantCounts {
		h := NewHistogram()
		for v := range n {
			h.RecordValue(1000 + v*100) // 1 ms and up
		}
		from := start.Add(time.Duration(i) * time.Second)
		if err := l.Write(h, from, from.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	text := buf.String()
	for _, want := range []string{
		"#[Histogram log format version 1.3]\n",
		"#[StartTime: 1767323045 (seconds since epoch), 2026-01-02T03:04:05Z]\n",
		"#[BaseTime: 1767323045 (seconds since epoch)]\n",
		`"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"` + "\n",
		"\n0.412000,1.000000,0.001000,HIST", // relative to BaseTime; max 1000 µs / 1e6
		"\n2.412000,1.000000,0.010903,HIST",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %q:\n%s", want, text)
		}
	}

	hs, err := ReadIntervalLog(strings.NewReader(text), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != len(wantCounts) {
		t.Fatalf("read %d intervals, want %d", len(hs), len(wantCounts))
	}
	for i, h := range hs {
		if got := h.TotalCount(); got != wantCounts[i] {
			t.Errorf("interval %d: count %d, want %d", i, got, wantCounts[i])
		}
		wantStart := start.Add(time.Duration(i) * time.Second).UnixMilli()
		if got := h.StartTimeMs(); got != wantStart {
			t.Errorf("interval %d: start %d ms, want %d", i, got, wantStart)
		}
	}
}
