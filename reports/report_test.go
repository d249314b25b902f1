package reports

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commbench/commbench/results"
)

var update = flag.Bool("update", false, "rewrite testdata/ (fixtures and golden pages) and docs/report.png")

var regenerate sync.Once

// writeFixtures writes the synthetic runs to testdata/ (-update): run A,
// run B, another seed on an external Kafka and a bigger host, a chain
// run and a capacity run. The chain run has no validity fields: it stands for the results
// written before issue 12, which render as they did.
func writeFixtures(t *testing.T) {
	rb := synthetic(120, 2)
	rb.Run.ID = "20261125-090000-surge"
	rb.Run.Started = rb.Run.Started.Add(19 * time.Hour)
	rb.Run.Finished = rb.Run.Finished.Add(19 * time.Hour)
	rb.Run.Broker = results.BrokerInfo{Kind: "local", Version: "4.1.1", Label: "Apache Kafka 4.1.1 (local, KRaft)", Addrs: []string{"127.0.0.1:9092"}, Partitions: 8}
	rb.Run.Warnings = nil
	rb.Patterns["async"].Summary.Lost = 5
	// B ran on a 4-core host, where async had the headroom it lacked in
	// A, against an external broker whose CPU it could not read.
	rb.Run.Machine.CPUs = 4
	addValidity(rb, 4, 2)
	rb.Run.Broker.Kind, rb.Run.Broker.Label = "external", "Apache Kafka 4.1.1 (external)"
	for _, name := range []string{"async", "hybrid"} {
		s := &rb.Patterns[name].Summary
		s.CPUNotMeasured = []string{"broker"}
		delete(s.CPUSecondsPer1k, "broker")
		s.CPUSecondsPer1k["total"] = 0.73
	}
	for dir, r := range map[string]*results.Results{"testdata": synthetic(120, 1), "testdata/b": rb, "testdata/chain": syntheticChain(1), "testdata/capacity": syntheticCapacity(t)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
}

// fixtures reads the runs of testdata/, written first with -update.
func fixtures(t *testing.T) (a, b *results.Results) {
	t.Helper()
	if *update {
		regenerate.Do(func() { writeFixtures(t) })
	}
	a, err := results.Read("testdata")
	if err != nil {
		t.Fatal(err)
	}
	b, err = results.Read("testdata/b")
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// chainFixture reads the chain run of testdata/chain, written first with
// -update.
func chainFixture(t *testing.T) *results.Results {
	t.Helper()
	if *update {
		regenerate.Do(func() { writeFixtures(t) })
	}
	r, err := results.Read("testdata/chain")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares page, the embedded library cut out, with
// testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, page []byte) {
	t.Helper()
	if n := bytes.Count(page, []byte(echartsJS)); n != 1 {
		t.Fatalf("the page holds echarts.min.js %d times, want 1", n)
	}
	got := bytes.Replace(page, []byte(echartsJS), []byte("/* echarts.min.js: cut from the golden file */"), 1)
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\ngot  %.300s\nwant %.300s\n(run go test ./reports -update if the change is meant)", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs: got %d lines, want %d (run go test ./reports -update if the change is meant)", path, len(gl), len(wl))
	}
}

func TestGolden(t *testing.T) {
	a, b := fixtures(t)
	var report, compare bytes.Buffer
	if err := Write(&report, a); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.html", report.Bytes())
	if err := Compare(&compare, a, b); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.golden.html", compare.Bytes())
	var chain bytes.Buffer
	if err := Write(&chain, chainFixture(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "chain.golden.html", chain.Bytes())

	// The same results give the same bytes.
	var again bytes.Buffer
	if err := Write(&again, a); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(report.Bytes(), again.Bytes()) {
		t.Error("two renders of the same results differ")
	}
}

// offline is what would fetch something from the network.
var offline = []*regexp.Regexp{
	regexp.MustCompile(`<script[^>]+src=`),
	regexp.MustCompile(`<link[^>]+href=`),
	regexp.MustCompile(`<img[^>]+src=`),
	regexp.MustCompile(`(?i)url\(\s*['"]?https?:`),
	regexp.MustCompile(`@import`),
}

func TestOffline(t *testing.T) {
	a, b := fixtures(t)
	var report, compare bytes.Buffer
	if err := Write(&report, a); err != nil {
		t.Fatal(err)
	}
	if err := Compare(&compare, a, b); err != nil {
		t.Fatal(err)
	}
	for name, page := range map[string][]byte{"report": report.Bytes(), "compare": compare.Bytes()} {
		rest := bytes.Replace(page, []byte(echartsJS), nil, 1)
		for _, re := range offline {
			if m := re.Find(rest); m != nil {
				t.Errorf("%s: %q would load from outside the page", name, m)
			}
		}
	}
}

func TestContent(t *testing.T) {
	a, _ := fixtures(t)
	var buf bytes.Buffer
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"embedded kfake (not Apache Kafka)",             // the banner
		"sync: generator saturated",                     // a derived warning
		"held on time up to 12,000 rps",                 // calibration: the highest rate on time
		"CPU 38.5 µs per request at 5,000 rps",          // its CPU per request
		"(measured 2026-11-24 13:00 UTC, 25 s at most)", // the run made it
		"provider outage",                               // fault windows
		`id="chart_rate"`, `id="chart_spectrum_api"`, `id="chart_spectrum_notify"`, `id="chart_api_latency"`,
		`id="chart_notify_latency"`, `id="chart_drops_sync"`, `id="chart_lag"`, `id="chart_cpu_hybrid"`, `id="chart_paths_hybrid"`,
		`class="best"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestChain: the chain section is there for a run with chains, with a
// chart of errors and of p99 per hop for each chain pattern, lag for the
// async one, and a table of the hops; a run without chains has none.
func TestChain(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, chainFixture(t)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<h2>Chain</h2>", "A is the reaction service", "B and C are relays, D the notification service",
		"<h3>sync.nocb · sync: HTTP, no circuit breakers</h3>", "<h3>sync.cb · sync: HTTP, a circuit breaker on every hop</h3>",
		`id="chart_chain_errors_sync_nocb"`, `id="chart_chain_p99_sync_cb"`, `id="chart_chain_lag_async"`,
		"<th>breaker opened</th>", "<td>notification</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the chain report lacks %q", want)
		}
	}
	for _, absent := range []string{`id="chart_chain_lag_sync_nocb"`, `id="chart_chain_lag_sync_cb"`} {
		if strings.Contains(page, absent) {
			t.Errorf("the chain report has %q: sync has no lag", absent)
		}
	}
	a, _ := fixtures(t)
	buf.Reset()
	if err := Write(&buf, a); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "chart_chain_") || strings.Contains(buf.String(), "<h2>Chain</h2>") {
		t.Error("a run without chains has a chain section")
	}
}

// TestHourLong checks the size of a one-hour run's page: the series are
// downsampled.
func TestHourLong(t *testing.T) {
	r := synthetic(3600, 1)
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	if got, limit := buf.Len(), 5<<20; got > limit {
		t.Errorf("a one-hour run's page is %d bytes, want at most %d", got, limit)
	}
	t.Logf("one-hour page: %d bytes (%d of them ECharts)", buf.Len(), len(echartsJS))
}

func TestRender(t *testing.T) {
	fixtures(t)
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/results.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	path, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "index.html"); path != want {
		t.Errorf("Render returned %s, want %s", path, want)
	}
	out, err := RenderCompare("testdata", "testdata/b", filepath.Join(dir, "c.html"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
	if _, err := Render(t.TempDir()); err == nil {
		t.Error("Render of a folder without results.json: no error")
	}
}

func TestMinMax(t *testing.T) {
	tt := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	for _, tc := range []struct {
		name string
		have []float64
		max  int
		want []point
	}{
		// Few enough points: all kept, zeros skipped.
		{"all", []float64{1, 0, 3, 4, 5, 6, 7, 8}, 8, []point{{1, 1}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7}, {8, 8}}},
		// Two buckets of four: each bucket's lowest and highest, in time order.
		{"buckets", []float64{5, 9, 1, 4, 2, 2, 8, 3}, 4, []point{{2, 9}, {3, 1}, {5, 2}, {7, 8}}},
		// A spike survives.
		{"spike", []float64{1, 1, 1, 100, 1, 1, 1, 1}, 2, []point{{1, 1}, {4, 100}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := minMax(tt, tc.have, tc.max, positive)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMeans(t *testing.T) {
	got := means([]float64{1, 2, 3, 4, 5}, 2, []float64{1, 3, 5, 7, 9})
	want := []point{{3, 3}, {5, 8}}
	if !slices.Equal(got[0], want) {
		t.Errorf("got %v, want %v", got[0], want)
	}
}

func TestBestOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  direction
		vals []float64
		oks  []bool
		want []bool
	}{
		{"lower", lower, []float64{3, 1, 2}, []bool{true, true, true}, []bool{false, true, false}},
		{"higher", higher, []float64{3, 1, 3}, []bool{true, true, true}, []bool{true, false, true}},
		// All equal: nothing to mark.
		{"tie", lower, []float64{0, 0, 0}, []bool{true, true, true}, []bool{false, false, false}},
		// A value that does not apply never wins.
		{"na", lower, []float64{0, 5, 7}, []bool{false, true, true}, []bool{false, true, false}},
		{"neutral", neutral, []float64{1, 2}, []bool{true, true}, []bool{false, false}},
		{"not drained", lower, []float64{math.Inf(1), 3}, []bool{true, true}, []bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := bestOf(tc.dir, tc.vals, tc.oks); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDelta(t *testing.T) {
	for _, tc := range []struct {
		dir  direction
		a, b float64
		want cell
	}{
		{lower, 10, 12, cell{"+20.0%", "delta worse"}},
		{lower, 10, 5, cell{"-50.0%", "delta better"}},
		{higher, 10, 5, cell{"-50.0%", "delta worse"}},
		{lower, 0, 5, cell{"+5 (from 0)", "delta worse"}},
		{neutral, 1, 2, cell{"+100.0%", "delta"}},
		{lower, 3, 3, cell{"=", "delta"}},
		// Under 1%: noise, not marked.
		{lower, 1000, 1005, cell{"+0.5%", "delta"}},
		{higher, 1000, 999.9, cell{"≈", "delta"}},
	} {
		if got := delta(tc.dir, tc.a, tc.b); got != tc.want {
			t.Errorf("delta(%v, %g, %g) = %v, want %v", tc.dir, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSpectrum(t *testing.T) {
	a, _ := fixtures(t)
	pts, err := spectrum(a.Patterns["sync"].Histograms.API)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) < 50 || pts[0][0] > 1.5 || pts[0][1] <= 0 {
		t.Fatalf("got %d points from %v, want at least 50 from x≈1, above 0", len(pts), pts[0])
	}
	for i := 1; i < len(pts); i++ {
		if pts[i][0] <= pts[i-1][0] || pts[i][1] < pts[i-1][1] {
			t.Fatalf("point %d %v after %v: not increasing", i, pts[i], pts[i-1])
		}
	}
	if got, want := pts[len(pts)-1][1], a.Patterns["sync"].Summary.API.Max; math.Abs(got-want) > want*0.01 {
		t.Errorf("the spectrum ends at %g ms, want the max %g ms", got, want)
	}
	if _, err := spectrum("not base64!"); err == nil {
		t.Error("spectrum of garbage: no error")
	}
	if pts, err := spectrum(""); err != nil || pts != nil {
		t.Errorf("spectrum of nothing: %v, %v; want none, no error", pts, err)
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tc := range []struct{ have, want float64 }{{0, 0}, {0.7, 1}, {1.3, 2}, {2.2, 2.5}, {3, 5}, {730, 1000}} {
		if got := niceCeil(tc.have); got != tc.want {
			t.Errorf("niceCeil(%g) = %g, want %g", tc.have, got, tc.want)
		}
	}
}
