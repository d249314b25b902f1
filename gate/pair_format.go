package gate

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

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
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{TextFile, r.WriteText},
		{MarkdownFile, r.WriteMarkdown},
		{BenchmarkFile, r.WriteBenchmarkJSON},
		{BenchstatBaselineFile, bench(base)},
		{BenchstatFile, bench(head)},
	}
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
