// Package gate compares a benchmark run with a baseline, pattern by
// pattern, and says whether p99 latency, drops, lost notifications or the
// achieved rate regressed. A metric that fails is measured again before it
// counts: a regression must show twice, so that a noisy machine does not
// fail a pull request on its own.
package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// DefaultRateTolerance is how far the achieved rate may fall below the
// baseline's, as a fraction, when nothing else is said: profiles have no
// field for it. In an open model the achieved rate only falls when the
// load generator cannot keep up, so 5% is already a loud signal.
const DefaultRateTolerance = 0.05

// Errors of the gate's input, wrapped with the details.
var (
	// ErrMissingPattern: a pattern of the baseline is not in the run.
	ErrMissingPattern = errors.New("pattern missing from the run")
)

// Thresholds say how much worse than the baseline a metric may be. A
// metric fails when it is worse by more than max(relative × baseline,
// absolute).
type Thresholds struct {
	// P99Tolerance is the relative increase allowed for the p99 of API
	// latency and of time-to-notify: 0.25 allows 25% more.
	P99Tolerance float64
	// P99Floor is the increase of a p99 always allowed, however small the
	// baseline: noise on a 1 ms p99 is not a regression.
	P99Floor time.Duration
	// DropTolerance is the increase allowed of the fraction of requests
	// dropped, in points of that fraction: 0.01 allows 1% more of the
	// requests to be dropped.
	DropTolerance float64
	// RateTolerance is the relative fall allowed of the achieved rate.
	RateTolerance float64
}

// FromProfile returns the thresholds of a profile's gate: section, and
// DefaultRateTolerance.
func FromProfile(g profiles.Gate) Thresholds {
	return Thresholds{
		P99Tolerance:  g.P99Tolerance,
		P99Floor:      g.P99Floor.Std(),
		DropTolerance: g.DropTolerance,
		RateTolerance: DefaultRateTolerance,
	}
}

// String says the thresholds in one line.
func (th Thresholds) String() string {
	return fmt.Sprintf("p99 +%s or +%s, drop ratio +%spt, achieved rate -%s, lost 0 for async and hybrid",
		pct(th.P99Tolerance), th.P99Floor, strconv.FormatFloat(th.DropTolerance*100, 'f', -1, 64), pct(th.RateTolerance))
}

// Metric is one number the gate compares.
type Metric string

// The metrics, in the order a report shows them.
const (
	APIP99       Metric = "api p99"       // p99 of API latency, corrected, ms
	NotifyP99    Metric = "notify p99"    // p99 of time-to-notify, ms
	DropRatio    Metric = "drop ratio"    // Drops.Total / Requests
	Lost         Metric = "lost"          // accepted, never delivered
	AchievedRate Metric = "achieved rate" // requests sent per second
)

// Metrics lists every metric, in the order a report shows them.
var Metrics = []Metric{APIP99, NotifyP99, DropRatio, Lost, AchievedRate}

// Unit is the metric's unit as reports write it.
func (m Metric) Unit() string {
	switch m {
	case APIP99, NotifyP99:
		return "ms"
	case DropRatio, DeadRatio, Drained:
		return "%"
	case AchievedRate:
		return "rps"
	}
	return "count"
}

// largerIsBetter reports whether a higher value is an improvement.
func (m Metric) largerIsBetter() bool { return m == AchievedRate || m == Drained }

// value reads m from a pattern's summary.
func (m Metric) value(s results.Summary) float64 {
	switch m {
	case APIP99:
		return s.API.P99
	case NotifyP99:
		return s.Notify.P99
	case DropRatio:
		if s.Requests == 0 {
			return 0
		}
		return float64(s.Drops.Total) / float64(s.Requests)
	case Lost:
		return float64(s.Lost)
	case AchievedRate:
		return s.AchievedRPS
	case DeadRatio:
		return ratio(s.DeadLettered, s.Accepted)
	case Drained:
		if s.Drained {
			return 1
		}
		return 0
	}
	panic("gate: unknown metric " + string(m))
}

// limit is the worst value of m that passes, for a pattern whose baseline
// is base.
func (m Metric) limit(pattern string, base float64, th Thresholds) float64 {
	switch m {
	case APIP99, NotifyP99:
		return base + math.Max(th.P99Tolerance*base, float64(th.P99Floor)/float64(time.Millisecond))
	case DropRatio:
		return base + th.DropTolerance
	case Lost:
		// Async and hybrid accept a reaction only once it is safe: any loss
		// is a bug, whatever the baseline lost.
		if basePattern(pattern).UsesKafka() {
			return 0
		}
		return base
	case AchievedRate:
		return base - th.RateTolerance*base
	}
	panic("gate: unknown metric " + string(m))
}

// passes reports whether v is within limit for m.
func (m Metric) passes(v, limit float64) bool {
	if m.largerIsBetter() {
		return v >= limit
	}
	return v <= limit
}

// Verdict is a row's outcome.
type Verdict int

// The verdicts.
const (
	Pass  Verdict = iota // within the limit
	Noise                // over the limit once, within it when measured again
	Fail                 // over the limit, and again when measured again (if it was)
	// Inconclusive: the pattern was not ok in the run or in the baseline
	// (machine- or generator-bound, or its ledger unread): the machine set
	// its numbers, and the gate does not decide from them.
	Inconclusive
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "ok"
	case Noise:
		return "ok (noise)"
	case Inconclusive:
		return "inconclusive"
	}
	return "REGRESSION"
}

// Row is one metric of one pattern.
type Row struct {
	Pattern  string // a key of Results.Patterns: "sync", or "sync.2" with --repeat
	Metric   Metric
	Baseline float64
	Now      float64 // in the run
	Limit    float64 // the worst value that passes
	Verdict  Verdict
	// Again is the metric measured again when Now failed; nil when it was
	// not (it passed, or there was no re-run, or the re-run lacked it).
	Again *float64
	// P is the side-by-side gate's p-value (ComparePair); NaN where the
	// metric is decided without a test (lost, drained), 0 in the baseline
	// gate, which has none.
	P float64
	// N is how many samples each side gave the test: blocks, or requests
	// for a fraction.
	N [2]int
	// Note says what a reader should know about the verdict.
	Note string
}

// Delta is Now - Baseline.
func (r Row) Delta() float64 { return r.Now - r.Baseline }

// Rerun says what was measured again.
type Rerun struct {
	Patterns []pattern.Pattern // the patterns run again
	Dir      string            // the re-run's folder
	Err      string            // why it could not run, if it could not
}

// Report is a comparison of a run with a baseline.
type Report struct {
	Baseline   string // the baseline's run id
	Run        string // the run's id
	Thresholds Thresholds
	Rows       []Row    // per baseline pattern in its order, per metric in Metrics' order
	Missing    []string // baseline patterns the run lacks: an input error
	Extra      []string // run patterns the baseline lacks: not compared
	Rerun      *Rerun   // nil: nothing measured again
	Notes      []string // what a reader should know: different machines, brokers, partial runs
	// Invalid says, by pattern key, why the gate did not decide it: the
	// pattern was not ok in the run or the baseline.
	Invalid map[string]string

	// The side-by-side gate's (ComparePair; zero in the baseline gate):
	Alpha     float64       // the significance level
	Block     time.Duration // the window of a block p99
	Repeats   [2]int        // runs of the base and of the head
	RunErrors []string      // runs that failed or could not be read
}

// Paired reports whether r compares two builds side by side (ComparePair)
// rather than a run with a baseline file.
func (r Report) Paired() bool { return r.Alpha > 0 }

// Inconclusive reports whether something could not be decided (a pattern
// not valid, a run failed, too few samples for the test) while nothing
// regressed.
func (r Report) Inconclusive() bool {
	if r.Failed() {
		return false
	}
	if len(r.Invalid) > 0 || len(r.RunErrors) > 0 {
		return true
	}
	for _, row := range r.Rows {
		if row.Verdict == Inconclusive {
			return true
		}
	}
	return false
}

// invalid says why a pattern's numbers cannot be gated, "" when they can.
func invalid(s results.Summary) string {
	switch {
	case s.LostUnknown:
		return "its ledger could not be read at the end (lost unknown)"
	case s.Validity != "" && s.Validity != results.ValidityOK:
		if s.ValidityReason != "" {
			return s.Validity + ": " + s.ValidityReason
		}
		return s.Validity
	}
	return ""
}

// Failed reports whether any row is a regression.
func (r Report) Failed() bool { return len(r.Failures()) > 0 }

// Failures returns the rows that regressed.
func (r Report) Failures() []Row {
	var out []Row
	for _, row := range r.Rows {
		if row.Verdict == Fail {
			out = append(out, row)
		}
	}
	return out
}

// Err returns an error wrapping ErrMissingPattern when the run lacks a
// pattern of the baseline: the comparison is then incomplete.
func (r Report) Err() error {
	if len(r.Missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the baseline has %s, the run %s has not (the baseline %s was made with other patterns or --repeat; run them, or make a new baseline)",
		ErrMissingPattern, strings.Join(r.Missing, ", "), r.Run, r.Baseline)
}

// Compare compares current with baseline, per pattern of the baseline
// and per metric. Patterns of the baseline missing from current are listed
// in Report.Missing and make Report.Err non-nil; it measures nothing again
// (see Check).
func Compare(baseline, current *results.Results, th Thresholds) Report {
	r := Report{Baseline: baseline.Run.ID, Run: current.Run.ID, Thresholds: th}
	for _, key := range baseline.Keys() {
		cur, ok := current.Patterns[key]
		if !ok || cur == nil {
			r.Missing = append(r.Missing, key)
			continue
		}
		base := baseline.Patterns[key].Summary
		why := invalid(cur.Summary)
		if b := invalid(base); why == "" && b != "" {
			why = "in the baseline, " + b
		}
		if why != "" {
			if r.Invalid == nil {
				r.Invalid = map[string]string{}
			}
			r.Invalid[key] = why
		}
		for _, m := range Metrics {
			row := Row{Pattern: key, Metric: m, Baseline: m.value(base), Now: m.value(cur.Summary)}
			row.Limit = m.limit(key, row.Baseline, th)
			switch {
			case why != "":
				row.Verdict = Inconclusive
			case !m.passes(row.Now, row.Limit):
				row.Verdict = Fail
			}
			r.Rows = append(r.Rows, row)
		}
	}
	for _, key := range current.Keys() {
		if _, ok := baseline.Patterns[key]; !ok {
			r.Extra = append(r.Extra, key)
		}
	}
	r.Notes = notes(baseline, current)
	return r
}

// Options tune Check.
type Options struct {
	Thresholds Thresholds
	// Rerun runs the given patterns once more, with the run's profile, and
	// returns their results keyed by pattern and the folder it wrote. nil
	// means no re-run: a metric fails on one measurement.
	Rerun func(ctx context.Context, patterns []pattern.Pattern) (*results.Results, string, error)
}

// Check compares current with baseline like Compare, then measures the
// patterns of failing metrics again with o.Rerun: a metric fails only when
// it fails the second time too, else its verdict is Noise. The error is
// non-nil for an input error (see Report.Err) and when ctx ends during the
// re-run; a re-run that fails otherwise leaves the first measurement
// standing, and the report says why.
func Check(ctx context.Context, baseline, current *results.Results, o Options) (Report, error) {
	r := Compare(baseline, current, o.Thresholds)
	if err := r.Err(); err != nil {
		return r, err
	}
	failed := r.Failures()
	if len(failed) == 0 || o.Rerun == nil {
		return r, nil
	}
	var patterns []pattern.Pattern
	for _, row := range failed {
		if p := basePattern(row.Pattern); !slices.Contains(patterns, p) {
			patterns = append(patterns, p)
		}
	}
	again, dir, err := o.Rerun(ctx, patterns)
	r.Rerun = &Rerun{Patterns: patterns, Dir: dir}
	if err != nil {
		r.Rerun.Err = err.Error()
		if ctx.Err() != nil {
			return r, err
		}
	}
	if again == nil {
		return r, nil
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		if row.Verdict != Fail {
			continue
		}
		p, ok := again.Patterns[string(basePattern(row.Pattern))]
		if !ok || p == nil {
			continue
		}
		v := row.Metric.value(p.Summary)
		row.Again = &v
		if row.Metric.passes(v, row.Limit) {
			row.Verdict = Noise
		}
	}
	return r, nil
}

// basePattern is the pattern a results key stands for: "sync.2" is sync.
// A malformed key still names its pattern, the part before the first ".".
func basePattern(key string) pattern.Pattern {
	k, _ := results.ParseKey(key)
	return pattern.Pattern(k.Pattern)
}

// notes says what makes the comparison less like for like.
func notes(baseline, current *results.Results) []string {
	var out []string
	b, c := baseline.Run, current.Run
	if b.Profile != c.Profile {
		out = append(out, fmt.Sprintf("the baseline ran profile %q, this run %q: the numbers may not be comparable", b.Profile, c.Profile))
	}
	if b.Broker.Kind != c.Broker.Kind {
		out = append(out, fmt.Sprintf("the baseline ran on a %s broker, this run on %s: async and hybrid numbers may differ for that alone", orNone(b.Broker.Kind), orNone(c.Broker.Kind)))
	}
	if b.Machine.CPUs != c.Machine.CPUs || b.Machine.CPUModel != c.Machine.CPUModel {
		out = append(out, fmt.Sprintf("the baseline ran on %d CPUs (%s), this run on %d (%s)", b.Machine.CPUs, orNone(b.Machine.CPUModel), c.Machine.CPUs, orNone(c.Machine.CPUModel)))
	}
	if c.Partial {
		out = append(out, "this run is partial: "+c.PartialReason)
	}
	if b.Partial {
		out = append(out, "the baseline is partial: "+b.PartialReason)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
