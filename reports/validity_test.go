package reports

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/commbench/commbench/results"
)

// TestValidity: a run with patterns that are not ok says so in red, names
// why, shades the bound seconds, draws the machine's charts and puts the
// verdicts in the table.
func TestValidity(t *testing.T) {
	a, _ := fixtures(t)
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		// The banners, with the run's own reasons.
		`<div class="banner danger">sync is not ok: the load generator fell behind for 12 s`,
		`<div class="banner danger">async is not ok: the machine, not the pattern, set these numbers for 26 s`,
		// The table.
		"Validity: did the pattern set these numbers, or the machine?",
		`<td class="worse">machine-bound</td>`, `<td class="worse">generator-bound</td>`,
		"26 of 120 s (machine)", "never notified (lost or dead-lettered)", "ledger samples not read",
		// The warnings.
		"hybrid: 3 s bound (machine), under the 5% of its attack seconds",
		"hybrid: 2 ledger samples could not be read", "sync: 7 API latencies were beyond the histograms&#39; range",
		// The charts: the machine's, and grey seconds named by pattern
		// (several patterns) or by cause (one).
		`<h2>The machine</h2>`, `id="chart_host_cpu"`, `id="chart_send_lag"`,
		`"formatter":"machine-bound"`, "late: more than 1 ms",
		`"name":"async bound"`, `"name":"sync bound"`, `"name":"machine-bound"`, `"name":"generator-bound"`,
		"bound seconds (the machine or the generator set them) grey",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(page, "hybrid is not ok") {
		t.Error("hybrid is ok (3 bound seconds of 120), but the page says it is not")
	}
}

// TestValidityOld: results from before validity was measured (its fields
// empty) show no banner, no grey, no machine section and no validity rows.
func TestValidityOld(t *testing.T) {
	for name, r := range map[string]*results.Results{"stripped": stripValidity(synthetic(120, 1)), "chain": chainFixture(t)} {
		var buf bytes.Buffer
		if err := Write(&buf, r); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		for _, absent := range []string{"is not ok", "chart_host_cpu", "chart_send_lag", "Validity:", " bound&#34;", `bound"`, "never notified (lost or dead-lettered)", "shaded grey", "Grey areas", "bound seconds (the machine"} {
			if strings.Contains(page, absent) {
				t.Errorf("%s: the page of old results has %q", name, absent)
			}
		}
	}
}

func stripValidity(r *results.Results) *results.Results {
	r.Run.Host, r.Run.Validity = results.HostInfo{}, results.ValidityThresholds{}
	for _, p := range r.Patterns {
		s := &p.Summary
		s.Validity, s.ValidityReason, s.BoundS, s.MachineBoundS, s.GeneratorBoundS = "", "", 0, 0, 0
		s.SendLag, s.SampleGaps, s.Clamped, s.NeverNotified = results.LagPercentiles{}, 0, 0, 0
		p.Series.HostCPU, p.Series.SendLagP50, p.Series.SendLagP99, p.Series.SendLagMax = nil, nil, nil, nil
		p.Series.LateSends, p.Series.Bound = nil, nil
	}
	return r
}

func TestBoundAreas(t *testing.T) {
	const m, g = results.ValidityMachineBound, results.ValidityGeneratorBound
	r := &results.Results{Order: []string{"sync", "async"}, Patterns: map[string]*results.Pattern{
		"sync":  {Series: results.Series{Bound: []string{"", g, g, "", m, g}}},
		"async": {Series: results.Series{Bound: []string{m, m, m, m}}},
	}}
	for _, tc := range []struct {
		name    string
		names   []string
		overlay bool
		want    []boundArea
	}{
		// One pattern: consecutive seconds merge, labelled by cause.
		{"one", []string{"sync"}, false, []boundArea{
			{from: 1, to: 3, label: g, labelColor: "#555"},
			{from: 4, to: 6, label: m + ", " + g, labelColor: "#555"},
		}},
		// Several: each pattern's own areas, named, a row each; async's
		// four seconds are one area although sync's differ inside it.
		{"overlay", []string{"sync", "async"}, true, []boundArea{
			{from: 1, to: 3, label: "sync bound", labelColor: patternColors["sync"]},
			{from: 4, to: 6, label: "sync bound", labelColor: patternColors["sync"]},
			{from: 0, to: 4, label: "async bound", labelColor: patternColors["async"], row: 1},
		}},
		// Results without validity: none.
		{"none", nil, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := boundAreas(r, tc.names, tc.overlay); !slices.Equal(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestValidityWarnings: what the run could not measure or record reaches
// the warnings, and an unmeasured CPU is never printed as 0.
func TestValidityWarnings(t *testing.T) {
	r := synthetic(120, 1)
	r.Run.Broker.Kind = "external"
	s := &r.Patterns["async"].Summary
	s.NoID, s.LedgerClamped, s.LostUnknown = 4, 9, true
	s.CPUNotMeasured = []string{"broker"}
	s.CPUSecondsPer1k["broker"] = 0
	ws := warnings(r)
	for _, want := range []string{
		"async: 4 accepted answers carried no usable reaction id: the ledger cannot reconcile them",
		"async: 9 times-to-notify were beyond the ledger's range and recorded at its edge: the slowest are understated",
		"async: lost unknown: the final ledger read failed",
		"broker CPU not measured (external broker): CPU per 1,000's total leaves it out",
		"sync: 7 API latencies were beyond the histograms' range and recorded at its edge: the slowest are understated",
		"hybrid: 2 ledger samples could not be read: the per-second time-to-notify has holes there (the summary's comes from the whole-run histogram)",
	} {
		if !slices.Contains(ws, want) {
			t.Errorf("the warnings lack %q; they are:\n%s", want, strings.Join(ws, "\n"))
		}
	}
	bs := banners(r, "")
	if !slices.ContainsFunc(bs, func(b banner) bool {
		return strings.HasPrefix(b.Text, "async is not ok: ") && strings.Contains(b.Text, "lost is unknown: the final ledger read failed")
	}) {
		t.Errorf("no banner says async's lost is unknown: %v", bs)
	}
	tbl := summaryTable(r, r.Keys())
	for _, rw := range tbl.Rows {
		switch rw.Label {
		case "broker":
			if got := rw.Cells[1].Text; got != "not measured" {
				t.Errorf("async's broker CPU reads %q, want \"not measured\"", got)
			}
		case "lost", "duplicated", "dead-lettered":
			if got := rw.Cells[1].Text; got != "unknown" {
				t.Errorf("async's %s reads %q, want \"unknown\"", rw.Label, got)
			}
		}
	}
}

// TestBoundReason: without the run's own sentence, the banner makes one.
func TestBoundReason(t *testing.T) {
	r := &results.Results{Run: results.RunInfo{Host: results.HostInfo{Cores: 2}}}
	for _, tc := range []struct {
		have results.Summary
		want string
	}{
		{results.Summary{Validity: results.ValidityMachineBound, MachineBoundS: 31}, "the machine, not the pattern, set these numbers for 31 s (host CPU ≥ 90% of 2 cores)"},
		{results.Summary{Validity: results.ValidityGeneratorBound, GeneratorBoundS: 9}, "the load generator fell behind for 9 s (more than 1% of a second's sends left more than 1 ms late)"},
		// The run's own reason wins, its full stop left to the banner.
		{results.Summary{Validity: results.ValidityMachineBound, ValidityReason: "the host was busy."}, "the host was busy"},
	} {
		if got := boundReason(r, &tc.have); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
