package reports

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/commbench/commbench/results"
)

// RenderCompare reads the results of the run folders runA and runB and
// writes one page comparing them to out, returning its path; out ""
// means runB/compare-<runA's id>.html.
func RenderCompare(runA, runB, out string) (string, error) {
	a, err := results.Read(runA)
	if err != nil {
		return "", err
	}
	b, err := results.Read(runB)
	if err != nil {
		return "", err
	}
	if out == "" {
		id := a.Run.ID
		if id == "" {
			id = filepath.Base(filepath.Clean(runA))
		}
		out = filepath.Join(runB, "compare-"+jsID(id)+".html")
	}
	var buf bytes.Buffer
	if err := Compare(&buf, a, b); err != nil {
		return "", fmt.Errorf("compare %s with %s: %w", runA, runB, err)
	}
	return out, writeFile(out, buf.Bytes())
}

// Compare writes a page comparing run a with run b to w: both runs'
// headers, one summary table with a's value, b's value and the change for
// each pattern, and both runs' percentile spectra on the same axes.
func Compare(w io.Writer, a, b *results.Results) error {
	if isCapacity(a) || isCapacity(b) {
		return errors.New("a capacity run has no per-pattern series to compare: open each run's index.html, or compare the runs of its steps (steps/ in its folder)")
	}
	order := a.Keys()
	for _, name := range b.Keys() {
		if !slices.Contains(order, name) {
			order = append(order, name)
		}
	}
	p := &page{
		Title:   "commbench · compare " + a.Run.ID + " (A) with " + b.Run.ID + " (B)",
		Compare: true,
		Runs:    []header{runHeader(a, "A"), runHeader(b, "B")},
		Banners: append(banners(a, "A: "), banners(b, "B: ")...),
		Table:   compareTable(a, b, order),
		Library: template.JS(echartsJS),
		Notice:  echartsNotice,
		Version: EChartsVersion,
	}
	if a.Run.Profile != b.Run.Profile {
		p.Banners = append(p.Banners, banner{Class: "warn", Text: fmt.Sprintf("The runs ran different profiles (%s and %s): their numbers answer different questions.", a.Run.Profile, b.Run.Profile)})
	}
	if a.Run.Machine.CPUs != b.Run.Machine.CPUs || a.Run.Machine.CPUModel != b.Run.Machine.CPUModel || a.Run.Broker.Kind != b.Run.Broker.Kind {
		p.Banners = append(p.Banners, banner{Class: "warn", Text: "The runs ran on different machines or brokers: a change may come from there rather than from the code."})
	}
	spectra, err := spectrumCharts(a, order, "A", b, "B")
	if err != nil {
		return err
	}
	p.Sections = []section{{Title: "Percentile spectrum (whole run)", Cols: 2, Charts: spectra,
		Note: "Run A solid, run B dashed, a color per pattern; x is the percentile on a 1/(1−p) scale."}}
	return pageTemplate.Execute(w, p)
}

// compareTable has, for each pattern, a's value, b's value and the change.
func compareTable(a, b *results.Results, order []string) table {
	var t table
	for _, name := range order {
		t.Heads = append(t.Heads, head{Name: name, Color: colorOf(name, order), Span: 3})
		t.SubHeads = append(t.SubHeads, "A", "B", "Δ")
	}
	procs := processes(a)
	for _, p := range processes(b) {
		if !slices.Contains(procs, p) {
			procs = append(procs, p)
		}
	}
	group := ""
	for _, m := range metrics(procs, shownIn(a, b)) {
		if m.group != group {
			group = m.group
			t.Rows = append(t.Rows, row{Group: group})
		}
		rw := row{Label: m.label}
		for _, name := range order {
			pa, pb := a.Patterns[name], b.Patterns[name]
			va, oka := valueOf(m, pa)
			vb, okb := valueOf(m, pb)
			ca, cb := cellOf(m, pa, va, oka, false), cellOf(m, pb, vb, okb, false)
			d := cell{Class: "delta"}
			switch {
			case oka && okb && m.categorical:
				d = changed(va, vb)
			case oka && okb && !(math.IsInf(va, 0) && math.IsInf(vb, 0) && va == vb):
				d = delta(m.dir, va, vb)
			case oka && okb:
				d = cell{Text: "=", Class: "delta"}
			}
			rw.Cells = append(rw.Cells, ca, cb, d)
		}
		t.Rows = append(t.Rows, rw)
	}
	return t
}

// changed is the compare table's cell for a categorical metric, whose
// good value is 0: "=", or "changed", better or worse.
func changed(a, b float64) cell {
	switch {
	case a == b:
		return cell{Text: "=", Class: "delta"}
	case a == 0:
		return cell{Text: "changed", Class: "delta worse"}
	case b == 0:
		return cell{Text: "changed", Class: "delta better"}
	}
	return cell{Text: "changed", Class: "delta"}
}

func valueOf(m metric, p *results.Pattern) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return m.value(p)
}
