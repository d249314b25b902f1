package gate

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/results"
)

// The side-by-side gate (ComparePair) compares two sets of runs made on the
// same machine, interleaved: the base build's and the head build's. A
// latency or rate metric regresses when the head's is worse than the
// base's beyond the thresholds' effect floor AND a Mann–Whitney U test of
// the two sides' block values gives p below alpha. The blocks are
// DefaultBlock-long windows of the attack: each block's p99 comes from the
// run's per-second interval histograms (the .hlog files), merged over the
// window. Blocks, not whole runs, because a test over a handful of whole-run
// p99s can never reach alpha (3 against 3 gives p >= 0.1); blocks of
// several seconds, not single seconds, because neighbouring seconds share
// queues, GC and the broker's state, and a window of 5 s holds enough
// requests (2,000 at 400 rps) for its p99 to rest on ~20 values. The
// blocks of one run still share that run's state (a slow broker, a noisy
// neighbour), which the test cannot see; so a p99 regresses only if, in
// addition, every interleaved pair of runs (base run i, head run i) shows
// the head beyond the floor: one unlucky run cannot fail the gate alone.

// DefaultBlock is the length of the windows whose p99s the test compares.
const DefaultBlock = 5 * time.Second

// minBlockCount is the fewest values a block needs for its p99 to count.
const minBlockCount = 100

// More metrics of the side-by-side gate (the baseline gate has the others).
const (
	DeadRatio Metric = "dead-lettered" // DeadLettered / Accepted
	Drained   Metric = "drained"       // fraction of the runs whose drain finished
)

// PairMetrics lists the side-by-side gate's metrics, in the order a report
// shows them.
var PairMetrics = []Metric{APIP99, NotifyP99, DropRatio, DeadRatio, Lost, Drained, AchievedRate}

// Run is one benchmark run: its folder and its results.
type Run struct {
	Dir     string
	Results *results.Results
}

// Side is one build's runs, in the order they ran.
type Side struct {
	Name string // what reports call it: "base (main 1a2b3c4)"
	Runs []Run
	// Errors say why runs of this side failed or could not be read; any
	// makes the comparison inconclusive.
	Errors []string
}

// PairOptions tune ComparePair.
type PairOptions struct {
	Thresholds Thresholds
	Alpha      float64       // default DefaultAlpha
	Block      time.Duration // default DefaultBlock
}

// sideStats is what one side measured of one pattern, over its runs.
type sideStats struct {
	runs                  int
	api, notify           *hdrhistogram.Histogram // every value of every run
	apiBlocks, notifyBlks []float64               // p99 per block, ms
	apiRuns, notifyRuns   []float64               // p99 per run, ms, in run order
	rateBlocks            []float64               // achieved rps per block
	requests, drops       int64
	accepted, dead, lost  int64
	drained               int
	achieved              float64 // mean of the runs' achieved rate
}

// ComparePair compares head with base per pattern of base's first run and
// per metric of PairMetrics. A pattern some run lacks, or that some run
// marked not valid, is listed in Report.Invalid: the report is then
// inconclusive unless another row regressed.
func ComparePair(base, head Side, o PairOptions) Report {
	if o.Alpha <= 0 {
		o.Alpha = DefaultAlpha
	}
	if o.Block <= 0 {
		o.Block = DefaultBlock
	}
	r := Report{Baseline: base.Name, Run: head.Name, Thresholds: o.Thresholds, Alpha: o.Alpha, Block: o.Block,
		Repeats: [2]int{len(base.Runs), len(head.Runs)}}
	for _, s := range []Side{base, head} {
		for _, e := range s.Errors {
			r.RunErrors = append(r.RunErrors, s.Name+": "+e)
		}
	}
	if len(base.Runs) == 0 || len(head.Runs) == 0 {
		r.RunErrors = append(r.RunErrors, "a side has no run to compare")
		return r
	}
	blockS := max(1, int(o.Block/time.Second))
	for _, key := range base.Runs[0].Results.Keys() {
		b, whyB := collect(base, key, blockS)
		h, whyH := collect(head, key, blockS)
		why := whyH
		if why == "" && whyB != "" {
			why = whyB
		}
		if why != "" {
			r.invalidate(key, why)
		}
		for _, m := range PairMetrics {
			row := pairRow(key, m, b, h, o)
			if why != "" {
				row.Verdict = Inconclusive
			}
			r.Rows = append(r.Rows, row)
		}
	}
	return r
}

func (r *Report) invalidate(key, why string) {
	if r.Invalid == nil {
		r.Invalid = map[string]string{}
	}
	r.Invalid[key] = why
}

// collect reads pattern key of every run of s. The reason is non-empty
// when a run lacks the pattern, marked it not valid, or its interval logs
// cannot be read.
func collect(s Side, key string, blockS int) (sideStats, string) {
	st := sideStats{api: results.NewHistogram(), notify: results.NewHistogram()}
	var reason string
	for i, run := range s.Runs {
		p, ok := run.Results.Patterns[key]
		if !ok || p == nil {
			return st, fmt.Sprintf("%s run %d has no %s", s.Name, i+1, key)
		}
		// Not valid: its numbers are still shown, but not decided on.
		if why := invalid(p.Summary); why != "" && reason == "" {
			reason = fmt.Sprintf("%s run %d: %s", s.Name, i+1, why)
		}
		for _, l := range []struct {
			file         string
			all          *hdrhistogram.Histogram
			blocks, runs *[]float64
		}{{key + "-api.hlog", st.api, &st.apiBlocks, &st.apiRuns}, {key + "-notify.hlog", st.notify, &st.notifyBlks, &st.notifyRuns}} {
			one := results.NewHistogram()
			blocks, err := hlogBlocks(filepath.Join(run.Dir, l.file), blockS, one)
			if err != nil {
				return st, fmt.Sprintf("%s run %d: %v", s.Name, i+1, err)
			}
			l.all.Merge(one)
			*l.blocks = append(*l.blocks, blocks...)
			*l.runs = append(*l.runs, p99(one))
		}
		sum := p.Summary
		st.runs++
		st.requests += sum.Requests
		st.drops += sum.Drops.Total
		st.accepted += sum.Accepted
		st.dead += sum.DeadLettered
		st.lost += sum.Lost
		st.achieved += sum.AchievedRPS
		if sum.Drained {
			st.drained++
		}
		st.rateBlocks = append(st.rateBlocks, rateBlocks(p.Series, blockS)...)
	}
	st.achieved /= float64(max(1, st.runs))
	return st, reason
}

// hlogBlocks reads an interval log of one interval per second, merges its
// intervals blockS at a time and returns each block's p99 in ms (blocks of
// fewer than minBlockCount values left out); every value also goes into
// all.
func hlogBlocks(path string, blockS int, all *hdrhistogram.Histogram) ([]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("interval log: %w", err)
	}
	defer f.Close()
	hs, err := results.ReadIntervalLog(f, 0) // 0: up to results.MaxIntervals
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []float64
	for i := 0; i < len(hs); i += blockS {
		block := results.NewHistogram()
		for _, h := range hs[i:min(i+blockS, len(hs))] {
			block.Merge(h)
			all.Merge(h)
		}
		if block.TotalCount() >= minBlockCount {
			out = append(out, usToMs(block.ValueAtQuantile(99)))
		}
	}
	return out, nil
}

// rateBlocks is the mean achieved rate per block of the attack's seconds.
func rateBlocks(s results.Series, blockS int) []float64 {
	n := min(len(s.AchievedRPS), int(s.AttackEndS))
	var out []float64
	for i := 0; i+blockS <= n; i += blockS {
		sum := 0.0
		for _, v := range s.AchievedRPS[i : i+blockS] {
			sum += v
		}
		out = append(out, sum/float64(blockS))
	}
	return out
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// pairRow is one metric of one pattern, decided.
func pairRow(key string, m Metric, b, h sideStats, o PairOptions) Row {
	row := Row{Pattern: key, Metric: m, P: math.NaN()}
	th := o.Thresholds
	test := func(bs, hs []float64) {
		row.N = [2]int{len(bs), len(hs)}
		row.P = UTest(bs, hs)
		if UTestMinP(len(bs), len(hs)) >= o.Alpha {
			row.Verdict = Inconclusive
			row.Note = fmt.Sprintf("%d against %d blocks can never reach p < %g: more repeats or a longer profile", len(bs), len(hs), o.Alpha)
		}
	}
	switch m {
	case APIP99, NotifyP99:
		all, blocks, runs := [2]*hdrhistogram.Histogram{b.api, h.api}, [2][]float64{b.apiBlocks, h.apiBlocks}, [2][]float64{b.apiRuns, h.apiRuns}
		if m == NotifyP99 {
			all, blocks, runs = [2]*hdrhistogram.Histogram{b.notify, h.notify}, [2][]float64{b.notifyBlks, h.notifyBlks}, [2][]float64{b.notifyRuns, h.notifyRuns}
		}
		row.Baseline, row.Now = p99(all[0]), p99(all[1])
		row.Limit = m.limit(key, row.Baseline, th)
		if all[0].TotalCount() == 0 && all[1].TotalCount() == 0 {
			row.Note = "no values on either side"
			return row
		}
		test(blocks[0], blocks[1])
		if row.Verdict != Inconclusive && !m.passes(row.Now, row.Limit) && row.P < o.Alpha {
			if why := inconsistent(m, key, runs[0], runs[1], th); why != "" {
				row.Note = why
				return row // a pass: one run's luck is not a regression
			}
		}
	case AchievedRate:
		row.Baseline, row.Now = b.achieved, h.achieved
		row.Limit = m.limit(key, row.Baseline, th)
		test(b.rateBlocks, h.rateBlocks)
	case DropRatio, DeadRatio:
		x1, n1, x2, n2 := b.drops, b.requests, h.drops, h.requests
		if m == DeadRatio {
			x1, n1, x2, n2 = b.dead, b.accepted, h.dead, h.accepted
		}
		row.Baseline, row.Now = ratio(x1, n1), ratio(x2, n2)
		row.Limit = row.Baseline + th.DropTolerance
		row.N = [2]int{int(n1), int(n2)}
		row.P = ProportionTest(x1, n1, x2, n2)
	case Lost:
		// Per run, so that more repeats of one side do not count against it.
		row.Baseline, row.Now = float64(b.lost)/float64(max(1, b.runs)), float64(h.lost)/float64(max(1, h.runs))
		row.Limit = m.limit(key, row.Baseline, th)
		if !m.passes(row.Now, row.Limit) {
			row.Verdict = Fail
			row.Note = "accepted and never delivered: no test needed"
		}
		return row
	case Drained:
		row.Baseline, row.Now = float64(b.drained)/float64(max(1, b.runs)), float64(h.drained)/float64(max(1, h.runs))
		row.Limit = row.Baseline
		if row.Now < row.Limit {
			row.Verdict = Fail
			row.Note = "the head's backlog outlived the drain timeout in more of its runs"
		}
		return row
	}
	if row.Verdict == Inconclusive {
		return row
	}
	worse := !m.passes(row.Now, row.Limit)
	switch {
	case worse && row.P < o.Alpha:
		row.Verdict = Fail
	case worse:
		row.Note = fmt.Sprintf("beyond the floor but not significant (p %.3g >= %g)", row.P, o.Alpha)
	}
	return row
}

// inconsistent says which interleaved pair of runs (base run i, head run
// i) does not show the head beyond its own limit, "" when every pair does.
// The blocks of one run share its state (the broker's, the JIT's, the
// neighbours'), which the block test cannot see: with this rule one
// unlucky run cannot fail the gate alone.
func inconsistent(m Metric, key string, base, head []float64, th Thresholds) string {
	for i := range min(len(base), len(head)) {
		if limit := m.limit(key, base[i], th); m.passes(head[i], limit) {
			return fmt.Sprintf("worse over all blocks, but not in pair %d (%s then %s): not a regression", i+1,
				format(m, base[i]), format(m, head[i]))
		}
	}
	return ""
}

func p99(h *hdrhistogram.Histogram) float64 {
	if h.TotalCount() == 0 {
		return 0
	}
	return usToMs(h.ValueAtQuantile(99))
}

func ratio(x, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(x) / float64(n)
}

// Method says in one line how the side-by-side gate decides.
func (r Report) Method() string {
	return fmt.Sprintf("Mann–Whitney U over %s-block p99s and rates (pooled z test for fractions), alpha %g, a p99 worse in every interleaved pair; %d base and %d head runs interleaved",
		r.Block, r.Alpha, r.Repeats[0], r.Repeats[1])
}

// reasons lists why the report is inconclusive, sorted.
func (r Report) reasons() []string {
	out := slices.Clone(r.RunErrors)
	for _, k := range slices.Sorted(maps.Keys(r.Invalid)) {
		out = append(out, k+": "+r.Invalid[k])
	}
	for _, row := range r.Rows {
		if row.Verdict == Inconclusive && row.Note != "" && r.Invalid[row.Pattern] == "" {
			out = append(out, row.Pattern+" "+string(row.Metric)+": "+row.Note)
		}
	}
	return out
}

// Reasons says why the report is inconclusive, in one line.
func (r Report) Reasons() string { return strings.Join(r.reasons(), "; ") }
