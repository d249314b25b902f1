package gate

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/commbench/commbench/results"
)

// The files WriteFiles writes into a run folder.
const (
	TextFile              = "gate.txt"                    // the table, as printed
	BenchmarkFile         = "gate-benchmark.json"         // github-action-benchmark customSmallerIsBetter
	BenchstatFile         = "gate-benchstat.txt"          // the run in benchstat's format
	BenchstatBaselineFile = "gate-benchstat-baseline.txt" // the baseline in benchstat's format
)

// WriteText writes the report as a plain-text table, then what was
// measured again and the outcome.
func (r Report) WriteText(w io.Writer) error {
	if r.Paired() {
		return r.writePairText(w)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "gate: run %s against baseline %s\n", r.Run, r.Baseline)
	fmt.Fprintf(&b, "thresholds: %s\n\n", r.Thresholds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "pattern\tmetric\tbaseline\tnow\tdelta\tlimit\tagain\tverdict\n")
	for _, row := range r.Rows {
		again := "-"
		if row.Again != nil {
			again = format(row.Metric, *row.Again)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Pattern, row.Metric,
			format(row.Metric, row.Baseline), format(row.Metric, row.Now), delta(row),
			format(row.Metric, row.Limit), again, row.Verdict)
	}
	tw.Flush()
	if rr := r.Rerun; rr != nil {
		fmt.Fprintf(&b, "\nmeasured again: %s", joinPatterns(rr))
		if rr.Dir != "" {
			fmt.Fprintf(&b, " (in %s)", rr.Dir)
		}
		b.WriteString("\n")
		if rr.Err != "" {
			fmt.Fprintf(&b, "  the re-run failed, so the first measurement stands: %s\n", rr.Err)
		}
		for _, row := range r.Rows {
			if row.Again != nil {
				fmt.Fprintf(&b, "  %s %s: %s, then %s (limit %s): %s\n", row.Pattern, row.Metric,
					format(row.Metric, row.Now), format(row.Metric, *row.Again), format(row.Metric, row.Limit), row.Verdict)
			}
		}
	}
	for _, m := range r.Missing {
		fmt.Fprintf(&b, "\nmissing: the baseline has pattern %s, the run has not\n", m)
	}
	if len(r.Extra) > 0 {
		fmt.Fprintf(&b, "\nnot in the baseline, not compared: %s\n", strings.Join(r.Extra, ", "))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	b.WriteString("\n")
	switch f := r.Failures(); {
	case len(r.Missing) > 0:
		b.WriteString("result: INCOMPLETE, the run lacks patterns of the baseline\n")
	case len(f) > 0:
		var names []string
		for _, row := range f {
			names = append(names, row.Pattern+" "+string(row.Metric))
		}
		how := ""
		if r.Rerun != nil && r.Rerun.Err == "" {
			how = ", shown twice"
		}
		fmt.Fprintf(&b, "result: FAIL, %d regression(s)%s: %s\n", len(f), how, strings.Join(names, ", "))
	default:
		b.WriteString("result: PASS\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func joinPatterns(rr *Rerun) string {
	var s []string
	for _, p := range rr.Patterns {
		s = append(s, string(p))
	}
	return strings.Join(s, ", ")
}

// format writes v in m's unit.
func format(m Metric, v float64) string {
	switch m {
	case APIP99, NotifyP99:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	case DropRatio, DeadRatio:
		return strconv.FormatFloat(v*100, 'f', 2, 64) + "%"
	case Drained:
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "% of runs"
	case AchievedRate:
		return strconv.FormatFloat(v, 'f', 1, 64) + "rps"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// delta writes Now - Baseline in the row's unit, and relative to the
// baseline where that means something.
func delta(r Row) string {
	d := r.Delta()
	sign := "+"
	if d < 0 {
		sign = "-"
		d = -d
	}
	switch r.Metric {
	case DropRatio, DeadRatio, Drained:
		return sign + strconv.FormatFloat(d*100, 'f', 2, 64) + "pt"
	case Lost:
		return sign + strconv.FormatFloat(d, 'f', -1, 64)
	}
	s := sign + format(r.Metric, d)
	if r.Baseline != 0 {
		s += " (" + sign + strconv.FormatFloat(100*d/r.Baseline, 'f', 1, 64) + "%)"
	}
	return s
}

// pct writes a fraction as a percentage: 0.25 is "25%".
func pct(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }

// Benchmark is one entry of github-action-benchmark's
// customSmallerIsBetter JSON.
type Benchmark struct {
	Name  string  `json:"name"` // "sync api p99"
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	Extra string  `json:"extra,omitempty"` // baseline, limit, again, verdict
}

// Benchmarks returns the report's smaller-is-better numbers for
// github-action-benchmark (tool: customSmallerIsBetter): the p99s, the drop
// ratio in percent and lost, as measured in the run. The achieved rate is
// left out: larger is better there, and that tool takes one direction per
// file.
func (r Report) Benchmarks() []Benchmark {
	out := []Benchmark{}
	for _, row := range r.Rows {
		if row.Metric.largerIsBetter() {
			continue
		}
		scale := 1.0
		if row.Metric.Unit() == "%" {
			scale = 100
		}
		extra := fmt.Sprintf("baseline %s\nlimit %s\nverdict %s", format(row.Metric, row.Baseline), format(row.Metric, row.Limit), row.Verdict)
		if r.Paired() {
			extra += "\np " + formatP(row.P)
		}
		if row.Again != nil {
			extra += "\nagain " + format(row.Metric, *row.Again)
		}
		out = append(out, Benchmark{
			Name:  row.Pattern + " " + string(row.Metric),
			Unit:  row.Metric.Unit(),
			Value: row.Now * scale,
			Extra: extra,
		})
	}
	return out
}

// WriteBenchmarkJSON writes Benchmarks as an indented JSON array.
func (r Report) WriteBenchmarkJSON(w io.Writer) error {
	b, err := json.MarshalIndent(r.Benchmarks(), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// benchstatUnits are the units of the metrics in benchstat's format, one
// unit per metric so that benchstat shows one table per metric.
var benchstatUnits = map[Metric]string{
	APIP99:       "api-p99-ms",
	NotifyP99:    "notify-p99-ms",
	DropRatio:    "drop-%",
	Lost:         "lost",
	AchievedRate: "achieved-rps",
}

// WriteBenchstat writes res's patterns in the Go benchmark format that
// benchstat reads, one line per pattern run with every metric:
//
//	BenchmarkSync 1 12.3 api-p99-ms 40.1 notify-p99-ms 0 drop-% 0 lost 400 achieved-rps
//
// With --repeat, sync and sync.2 are two samples of BenchmarkSync, which
// is what benchstat needs for its statistics. Compare a baseline with a
// run with: benchstat gate-benchstat-baseline.txt gate-benchstat.txt.
func WriteBenchstat(w io.Writer, res *results.Results) error {
	var b strings.Builder
	config := [][2]string{
		{"goos", res.Run.Machine.OS},
		{"goarch", res.Run.Machine.Arch},
		{"cpu", res.Run.Machine.CPUModel},
		{"profile", res.Run.Profile},
		{"broker", res.Run.Broker.Kind},
		{"run", res.Run.ID},
	}
	for _, kv := range config {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
		}
	}
	for _, key := range res.Keys() {
		s := res.Patterns[key].Summary
		name := string(basePattern(key))
		if name != "" {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		fmt.Fprintf(&b, "Benchmark%s 1", name)
		for _, m := range Metrics {
			v := m.value(s)
			if m == DropRatio {
				v *= 100
			}
			fmt.Fprintf(&b, " %s %s", strconv.FormatFloat(v, 'g', -1, 64), benchstatUnits[m])
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFiles writes the report into dir as TextFile and BenchmarkFile, and
// the run and the baseline in benchstat's format as BenchstatFile and
// BenchstatBaselineFile.
func WriteFiles(dir string, r Report, baseline, current *results.Results) error {
	return writeFiles(dir, []reportFile{
		{TextFile, r.WriteText},
		{BenchmarkFile, r.WriteBenchmarkJSON},
		{BenchstatFile, func(w io.Writer) error { return WriteBenchstat(w, current) }},
		{BenchstatBaselineFile, func(w io.Writer) error { return WriteBenchstat(w, baseline) }},
	})
}

// reportFile is one file of a report's folder and what writes it.
type reportFile struct {
	name  string
	write func(io.Writer) error
}

// writeFiles writes the files into dir in order; it stops at the first
// error.
func writeFiles(dir string, files []reportFile) error {
	for _, f := range files {
		var b strings.Builder
		if err := f.write(&b); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("gate: %w", err)
		}
	}
	return nil
}

// The side-by-side report: its text table, its Markdown and its files.

// MarkdownFile is where WritePairFiles puts the Markdown summary (also
// appended to $GITHUB_STEP_SUMMARY by the command).
const MarkdownFile = "gate.md"

// Outcome is the report's result in one word: PASS, FAIL or INCONCLUSIVE.
func (r Report) Outcome() string {
	switch {
	case r.Failed():
		return "FAIL"
	case r.Inconclusive():
		return "INCONCLUSIVE"
	}
	return "PASS"
}

// formatP writes a p-value; "-" where no test was made.
func formatP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "-"
	case p < 0.001:
		return "<0.001"
	}
	return strconv.FormatFloat(p, 'f', 3, 64)
}

// writePairText writes a side-by-side report as a plain-text table.
func (r Report) writePairText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "gate: %s against %s\n", r.Run, r.Baseline)
	fmt.Fprintf(&b, "method: %s\n", r.Method())
	fmt.Fprintf(&b, "a regression: p < %g and worse than %s\n\n", r.Alpha, r.Thresholds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "pattern\tmetric\tbase\thead\tchange\tp\tlimit\tverdict\tnote\n")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", row.Pattern, row.Metric,
			format(row.Metric, row.Baseline), format(row.Metric, row.Now), delta(row), formatP(row.P),
			format(row.Metric, row.Limit), row.Verdict, row.Note)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	fmt.Fprintf(&b, "\nresult: %s%s\n", r.Outcome(), r.outcomeDetail())
	_, err := io.WriteString(w, b.String())
	return err
}

// outcomeDetail is what failed, or why nothing could be decided.
func (r Report) outcomeDetail() string {
	if f := r.Failures(); len(f) > 0 {
		names := make([]string, len(f))
		for i, row := range f {
			names[i] = row.Pattern + " " + string(row.Metric)
		}
		return ", " + strings.Join(names, ", ")
	}
	if r.Inconclusive() {
		return ": " + r.Reasons()
	}
	return ""
}

// WriteMarkdown writes a side-by-side report as a Markdown table, for a
// pull request's job summary ($GITHUB_STEP_SUMMARY).
func (r Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### commbench gate: %s\n\n", r.Outcome())
	fmt.Fprintf(&b, "**%s** against **%s**. %s; a regression is p < %g and worse than %s.\n\n",
		mdEscape(r.Run), mdEscape(r.Baseline), r.Method(), r.Alpha, r.Thresholds)
	b.WriteString("| pattern | metric | base | head | change | p | verdict |\n|---|---|---:|---:|---:|---:|---|\n")
	for _, row := range r.Rows {
		verdict := row.Verdict.String()
		if row.Verdict == Fail {
			verdict = "**" + verdict + "**"
		}
		if row.Note != "" {
			verdict += " (" + mdEscape(row.Note) + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", row.Pattern, row.Metric,
			format(row.Metric, row.Baseline), format(row.Metric, row.Now), delta(row), formatP(row.P), verdict)
	}
	if d := r.outcomeDetail(); d != "" {
		fmt.Fprintf(&b, "\n%s%s\n", r.Outcome(), mdEscape(d))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "\n> %s\n", mdEscape(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// WritePairFiles writes a side-by-side report into dir: TextFile,
// MarkdownFile, BenchmarkFile, and each side's runs in benchstat's format
// (BenchstatBaselineFile for the base, BenchstatFile for the head: one
// sample per run, so benchstat gate-benchstat-baseline.txt
// gate-benchstat.txt compares the whole-run figures).
func WritePairFiles(dir string, r Report, base, head Side) error {
	bench := func(s Side) func(io.Writer) error {
		return func(w io.Writer) error {
			for _, run := range s.Runs {
				if err := WriteBenchstat(w, run.Results); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return writeFiles(dir, []reportFile{
		{TextFile, r.WriteText},
		{MarkdownFile, r.WriteMarkdown},
		{BenchmarkFile, r.WriteBenchmarkJSON},
		{BenchstatBaselineFile, bench(base)},
		{BenchstatFile, bench(head)},
	})
}
