package results

import (
	"errors"
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms: microseconds from 1 µs to 60 s, 3 significant digits.
// Values outside are clamped to the range and counted.
const (
	HistMinUS  = 1
	HistMaxUS  = 60_000_000
	HistDigits = 3
)

// NewHistogram returns an empty latency histogram of the harness's
// geometry (HistMinUS to HistMaxUS, HistDigits): the histograms of
// results.json and of the interval logs.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(HistMinUS, HistMaxUS, HistDigits)
}

// IntervalLog writes HdrHistogram interval logs (format version 1.3), the
// standard format read by HdrHistogram's HistogramLogProcessor and
// [ReadIntervalLog]:
//
//	#[Histogram log format version 1.3]
//	#[values in microseconds; Interval_Max in seconds (max value unit ratio 1e6)]
//	#[StartTime: 1767225600 (seconds since epoch), 2026-01-01T00:00:00Z]
//	#[BaseTime: 1767225600 (seconds since epoch)]
//	"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//	0.412,1.000,0.003391,HISTFAAAAC…
//
// It is hdrhistogram-go's HistogramLogWriter. Values are microseconds, while
// the HdrHistogram tools assume nanoseconds by default: the writer divides
// Interval_Max by its fixed max value unit ratio of 1e6 (it cannot be set
// from outside the library), so that column is in seconds here; run
// HistogramLogProcessor with -outputValueUnitRatio 1000 to read
// percentiles in milliseconds. The comment line in every log says so.
//
// Timestamps are relative to BaseTime, the start time truncated to a whole
// second (the headers carry whole seconds only), so the first interval
// starts at the fraction of a second the run started at.
type IntervalLog struct {
	w      *hdrhistogram.HistogramLogWriter
	baseMs int64
	err    error
}

// UnitComment is the comment line every interval log carries about units.
const UnitComment = "[values in microseconds; Interval_Max in seconds (max value unit ratio 1e6); HistogramLogProcessor -outputValueUnitRatio 1000 gives milliseconds]"

// NewIntervalLog writes the headers of an interval log starting at start.
func NewIntervalLog(w io.Writer, start time.Time) (*IntervalLog, error) {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	ms := start.UnixMilli()
	l := &IntervalLog{w: lw, baseMs: ms - ms%1000}
	lw.SetBaseTime(l.baseMs)
	err := errors.Join(
		lw.OutputLogFormatVersion(),
		lw.OutputComment(UnitComment),
		lw.OutputStartTime(ms),
		lw.OutputBaseTime(l.baseMs),
		lw.OutputLegend(),
	)
	if err != nil {
		return nil, fmt.Errorf("interval log: %w", err)
	}
	return l, nil
}

// Write writes one interval [from, to) holding the values of h. It sets h's
// start and end times. After the first error every Write returns it.
func (l *IntervalLog) Write(h *hdrhistogram.Histogram, from, to time.Time) error {
	if l.err != nil {
		return l.err
	}
	h.SetStartTimeMs(from.UnixMilli())
	h.SetEndTimeMs(to.UnixMilli())
	if err := l.w.OutputIntervalHistogram(h); err != nil {
		l.err = fmt.Errorf("interval log: %w", err)
	}
	return l.err
}

// ReadIntervalLog reads every interval of an interval log, with its
// absolute start and end times (StartTimeMs, EndTimeMs).
func ReadIntervalLog(r io.Reader) ([]*hdrhistogram.Histogram, error) {
	lr := hdrhistogram.NewHistogramLogReader(r)
	var hs []*hdrhistogram.Histogram
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return hs, fmt.Errorf("interval log, interval %d: %w", len(hs)+1, err)
		}
		if h == nil {
			return hs, nil
		}
		hs = append(hs, h)
	}
}
