package reports

import (
	"bytes"
	_ "embed" // the page template
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/commbench/commbench/results"
)

// FileName is the report's name in a run folder.
const FileName = "index.html"

// Render reads runDir/results.json and writes the report as
// runDir/index.html, atomically, returning its path. The page needs
// nothing beside it: open it from the disk or mail it.
func Render(runDir string) (string, error) {
	r, err := results.Read(runDir)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		return "", fmt.Errorf("report of %s: %w", runDir, err)
	}
	path := filepath.Join(runDir, FileName)
	return path, writeFile(path, buf.Bytes())
}

// Write writes the report of r to w. The page depends on r alone (no
// clock, no random chart ids), so the same results give the same bytes.
func Write(w io.Writer, r *results.Results) error {
	p, err := reportPage(r)
	if err != nil {
		return err
	}
	return pageTemplate.Execute(w, p)
}

// writeFile writes b to path through a temporary file in the same folder.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

//go:embed page.html.tmpl
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// page is what the template draws: a run's report or a comparison.
type page struct {
	Title    string
	Compare  bool
	Runs     []header
	Banners  []banner
	Table    table
	Claims   *claimsBlock   // the run's claims; nil on a comparison
	Capacity *capacityBlock // a capacity run's answer; nil for other runs
	Sections []section
	Library  template.JS // echarts.min.js
	Notice   string
	Version  string
	Bound    bool // some second was bound: the footer says what grey means
}

type header struct {
	Label       string // "A", "B" on a comparison
	ID          string
	Profile     string
	Description string
	Facts       [][2]string // name, value
	Warnings    []string
	ProfileYAML string
}

type banner struct {
	Class string // danger or warn
	Text  string
}

type section struct {
	Title   string // "": it continues the section before (a chain's next pattern)
	Note    string
	Cols    int    // charts per row
	Heading string // a sub-heading above the charts; "" for none
	Charts  []renderedChart
	Hops    *hopTable // a chain's hops, below the charts; nil for none
}

func reportPage(r *results.Results) (*page, error) {
	if isCapacity(r) {
		return capacityPage(r), nil
	}
	order := r.Keys()
	p := &page{
		Title:   "commbench · " + r.Run.Profile + " · " + r.Run.ID,
		Runs:    []header{runHeader(r, "")},
		Banners: banners(r, ""),
		Table:   summaryTable(r, order),
		Claims:  claimsSection(r),
		Library: template.JS(echartsJS),
		Notice:  echartsNotice,
		Version: EChartsVersion,
		Bound:   hasBound(r),
	}
	secs, err := timeSections(r, order)
	if err != nil {
		return nil, err
	}
	p.Sections = secs
	if hops, ok := hopsSection(r, order); ok {
		p.Sections = append(p.Sections, hops)
	}
	if chain, ok := chainSections(r, order); ok {
		p.Sections = append(p.Sections, chain...)
	}
	return p, nil
}

// runHeader is the run's context: what ran, where, on which Kafka.
func runHeader(r *results.Results, label string) header {
	run := r.Run
	h := header{Label: label, ID: run.ID, Profile: run.Profile, Description: run.Description, ProfileYAML: run.ProfileYAML}
	add := func(k, v string) { h.Facts = append(h.Facts, [2]string{k, v}) }
	when := run.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	if !run.Finished.IsZero() && run.Finished.After(run.Started) {
		when += fmt.Sprintf(" (%s)", run.Finished.Sub(run.Started).Round(1e9))
	}
	add("date", when)
	m := run.Machine
	machine := fmt.Sprintf("%d cores, %s memory", m.CPUs, bytesIEC(m.MemoryBytes))
	if m.CPUModel != "" {
		machine += ", " + m.CPUModel
	}
	machine += fmt.Sprintf(", %s/%s, %s", m.OS, m.Arch, m.GoVersion)
	if m.Java != "" {
		machine += ", Java " + m.Java
	}
	add("machine", machine)
	b := run.Broker
	broker := b.Kind
	switch {
	case b.Kind == "":
		broker = "none: no pattern of the run used Kafka"
	case b.Kind == "embedded":
		broker = "embedded kfake (not Apache Kafka) " + b.Version
	case b.Version != "":
		broker += ", Apache Kafka " + b.Version
	}
	if b.Partitions > 0 {
		broker += fmt.Sprintf(", %d partitions", b.Partitions)
	}
	add("broker", broker)
	if c := run.Calibration; c != nil {
		add("calibration", calibrationFact(c))
	} else {
		add("calibration", "not calibrated: run with --calibrate auto (./bench.sh does) or 'commbench calibrate' to know the generator's own ceiling and floor")
	}
	if len(run.Faults) > 0 {
		var fs []string
		for _, f := range run.Faults {
			fs = append(fs, fmt.Sprintf("%s %s %g–%g s", f.Target, f.Kind, f.StartS, f.EndS))
		}
		add("faults", strings.Join(fs, "; "))
	}
	if v := validityFact(r); v != "" {
		add("validity", v)
	}
	if run.Repeat > 1 {
		add("repeat", fmt.Sprintf("%d runs of each pattern, merged", run.Repeat))
	}
	add("commbench", run.Version)
	h.Warnings = warnings(r)
	return h
}

// banners are what must not be missed: a broker that is not Kafka, a
// partial run, a pattern whose numbers the machine set.
func banners(r *results.Results, prefix string) []banner {
	var bs []banner
	if r.Run.Broker.Kind == "embedded" {
		bs = append(bs, banner{Class: "danger", Text: prefix + "Broker: embedded kfake (not Apache Kafka). Kafka timings on this page are not Apache Kafka's; run with --broker local or external for numbers to quote."})
	}
	if r.Run.Partial {
		reason := r.Run.PartialReason
		if reason == "" {
			reason = "no reason recorded"
		}
		bs = append(bs, banner{Class: "danger", Text: prefix + "Partial run: " + reason + "."})
	}
	return append(bs, validityBanners(r, prefix)...)
}

// warnings are the run's own warnings and what the numbers say about the
// run's validity: a saturated generator, an undrained pattern, a fault
// that did not fire, a rate above the harness's ceiling, and what the run
// could not measure or record (validityWarnings).
func warnings(r *results.Results) []string {
	ws := slices.Clone(r.Run.Warnings)
	add := func(format string, args ...any) {
		w := fmt.Sprintf(format, args...)
		if !slices.Contains(ws, w) {
			ws = append(ws, w)
		}
	}
	for _, name := range r.Keys() {
		s := r.Patterns[name].Summary
		if s.Saturated {
			add("%s: generator saturated: achieved %s of %s rps offered (%s late sends); the target saw less load than the profile asks", name, rate(s.AchievedRPS), rate(s.OfferedRPS), count(s.LateSends))
		} else if s.OfferedRPS > 0 && s.AchievedRPS < 0.99*s.OfferedRPS {
			add("%s: achieved %s rps, below the %s rps offered", name, rate(s.AchievedRPS), rate(s.OfferedRPS))
		}
		if !s.Drained && s.Accepted > 0 {
			add("%s: did not drain: %s after the attack, accepted reactions were still undelivered or lagging", name, seconds(s.DrainS))
		}
		if c := r.Run.Calibration; c != nil && c.CeilingRPS > 0 {
			if peak := maxOf(r.Patterns[name].Series.OfferedRPS); peak > c.CeilingRPS {
				add("%s: peak offered rate %s rps is above the harness's calibrated ceiling of %s rps", name, rate(peak), rate(c.CeilingRPS))
			}
		}
		for _, f := range r.Patterns[name].Faults {
			if f.Error != "" {
				add("%s: fault %s %s at %g s did not fire: %s", name, f.Target, f.Kind, f.StartS, f.Error)
			}
		}
	}
	for _, f := range r.Run.Faults {
		if f.Error != "" {
			add("fault %s %s at %g s did not fire: %s", f.Target, f.Kind, f.StartS, f.Error)
		}
	}
	for _, w := range validityWarnings(r) {
		add("%s", w)
	}
	return ws
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// calibrationFact is the run's harness calibration in words: the
// generator's floor, its CPU per request, the highest rate it held on time,
// and whether the run made it or reused it.
func calibrationFact(c *results.Calibration) string {
	f := fmt.Sprintf("floor p50 %s ms, p99 %s ms at %s rps", ms(c.FloorMs.P50), ms(c.FloorMs.P99), rate(c.FloorRPS))
	if c.CPUUsPerReq > 0 {
		f += fmt.Sprintf("; CPU %.1f µs per request at %s rps", c.CPUUsPerReq, rate(c.CPURate))
	}
	f += fmt.Sprintf("; held on time up to %s rps (≥ 99%% achieved, ≤ 1%% of sends over 1 ms late)", rate(c.CeilingRPS))
	when := c.At.UTC().Format("2006-01-02 15:04 UTC")
	switch {
	case c.Reused:
		f += " (reused: measured " + when + " by this build on this machine)"
	case c.BudgetS > 0:
		f += fmt.Sprintf(" (measured %s, %.0f s at most)", when, c.BudgetS)
	default:
		f += " (" + when + ")"
	}
	return f
}
