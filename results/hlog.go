package results

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
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

// Limits of ReadIntervalLog. commbench writes one interval a second, of
// about 17,000 to 23,000 counts (NewHistogram, and the ledger's 1 µs to
// 1 hour): a log of a day's run holds 86,400 intervals.
const (
	MaxIntervals      = 86_400
	MaxIntervalCounts = 1 << 16
	maxLogLine        = hdrcodec.MaxEncoded + 256
)

// ReadIntervalLog reads every interval of an interval log, with its
// absolute start and end times (StartTimeMs, EndTimeMs). It reads at most
// max intervals (MaxIntervals when max is 0 or above it), each of at most
// MaxIntervalCounts counts: a log that holds more, a line it cannot parse,
// a time that is not one, or a histogram that does not decode is an error
// naming the line.
func ReadIntervalLog(r io.Reader, max int) ([]*hdrhistogram.Histogram, error) {
	if max <= 0 || max > MaxIntervals {
		max = MaxIntervals
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLogLine)
	var (
		hs                  []*hdrhistogram.Histogram
		start, base         float64
		haveStart, haveBase bool
	)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "" || strings.HasPrefix(line, `"`):
			continue // blank, or the legend
		case strings.HasPrefix(line, "#[StartTime: "):
			v, err := logSeconds(line, "#[StartTime: ")
			if err != nil {
				return hs, fmt.Errorf("interval log, line %d: StartTime: %w", n, err)
			}
			start, haveStart = v, true
			continue
		case strings.HasPrefix(line, "#[BaseTime: "):
			v, err := logSeconds(line, "#[BaseTime: ")
			if err != nil {
				return hs, fmt.Errorf("interval log, line %d: BaseTime: %w", n, err)
			}
			base, haveBase = v, true
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		if len(hs) == max {
			return hs, fmt.Errorf("interval log, line %d: more than %d intervals", n, max)
		}
		h, ts, length, err := logInterval(line)
		if err != nil {
			return hs, fmt.Errorf("interval log, line %d: %w", n, err)
		}
		if !haveStart {
			start, haveStart = ts, true
		}
		if !haveBase {
			// As HdrHistogram's readers do: timestamps more than a year
			// before the start time are relative to it.
			if ts < start-365*24*3600 {
				base = start
			}
			haveBase = true
		}
		abs := ts + base
		h.SetStartTimeMs(int64(abs * 1000))
		h.SetEndTimeMs(int64((abs + length) * 1000))
		hs = append(hs, h)
	}
	if err := sc.Err(); err != nil {
		return hs, fmt.Errorf("interval log, line %d: %w", len(hs)+1, err)
	}
	return hs, nil
}

// maxLogSeconds bounds a log's times: year 5138, far past any run, and
// small enough that milliseconds fit an int64.
const maxLogSeconds = 1e11

// logSeconds reads the seconds after prefix, up to a space.
func logSeconds(line, prefix string) (float64, error) {
	f, _, _ := strings.Cut(strings.TrimPrefix(line, prefix), " ")
	return parseSeconds(f)
}

func parseSeconds(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimRight(s, "]"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	if !(v >= 0 && v < maxLogSeconds) {
		return 0, fmt.Errorf("%q seconds: want 0 to %g", s, float64(maxLogSeconds))
	}
	return v, nil
}

// logInterval parses "[Tag=name,]start,length,max,histogram".
func logInterval(line string) (h *hdrhistogram.Histogram, start, length float64, err error) {
	tag := ""
	if rest, ok := strings.CutPrefix(line, "Tag="); ok {
		var found bool
		if tag, line, found = strings.Cut(rest, ","); !found {
			return nil, 0, 0, errors.New("a Tag= without the interval after it")
		}
	}
	f := strings.SplitN(line, ",", 4)
	if len(f) != 4 {
		return nil, 0, 0, errors.New("want start,length,max,histogram")
	}
	if start, err = parseSeconds(f[0]); err != nil {
		return nil, 0, 0, fmt.Errorf("start: %w", err)
	}
	if length, err = parseSeconds(f[1]); err != nil {
		return nil, 0, 0, fmt.Errorf("length: %w", err)
	}
	if h, err = hdrcodec.DecodeString(f[3]); err != nil {
		return nil, 0, 0, err
	}
	n, _ := hdrcodec.CountsLen(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
	if n > MaxIntervalCounts {
		return nil, 0, 0, fmt.Errorf("a histogram of %d counts, more than the %d an interval may have", n, MaxIntervalCounts)
	}
	h.SetTag(tag)
	return h, start, length, nil
}
