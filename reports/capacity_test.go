package reports

import (
	"bytes"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/results"
)

// capacityFixture reads the capacity run of testdata/capacity, written
// first with -update.
func capacityFixture(t *testing.T) *results.Results {
	t.Helper()
	if *update {
		regenerate.Do(func() { writeFixtures(t) })
	}
	r, err := results.Read("testdata/capacity")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func capacityReport(t *testing.T, r *results.Results) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The fixture is what the test below reads it for: if the fake or the
// search changed, these say so before the page's checks do.
func TestCapacityFixture(t *testing.T) {
	r := capacityFixture(t)
	if len(r.Patterns) != 0 || r.SLO == nil || r.SLO.APIP99Ms != 100 {
		t.Fatalf("patterns %d, slo %+v: want a capacity run's results", len(r.Patterns), r.SLO)
	}
	sync, async, hybrid := r.Capacity["sync"], r.Capacity["async"], r.Capacity["hybrid"]
	if sync.Limit != results.LimitSLO || sync.Prediction == nil || sync.Prediction.Miss {
		t.Errorf("sync: limit %s, prediction %+v: want a capacity and a prediction within 20%%", sync.Limit, sync.Prediction)
	}
	if async.Limit != results.LimitSLO || async.Prediction == nil || !async.Prediction.Miss {
		t.Errorf("async: limit %s, prediction %+v: want a capacity and a missed prediction", async.Limit, async.Prediction)
	}
	if hybrid.Limit != results.LimitMachine || hybrid.MachineLimitRPS != 800 || hybrid.USL != nil {
		t.Errorf("hybrid: limit %s at %g, usl %+v: want the machine the limit at 800 rps, no fit", hybrid.Limit, hybrid.MachineLimitRPS, hybrid.USL)
	}
}

func TestCapacityGolden(t *testing.T) {
	golden(t, "capacity.golden.html", []byte(capacityReport(t, capacityFixture(t))))
}

// TestCapacityContent: the page of a capacity run says the SLO, each
// pattern's capacity and what decided it, where the machine was the
// limit, which prediction missed, and has its charts, not the time
// charts of a run whose patterns it has not got.
func TestCapacityContent(t *testing.T) {
	r := capacityFixture(t)
	page := html.UnescapeString(capacityReport(t, r))
	want := []string{
		"<h2 id=\"capacity\">Capacity under the SLO</h2>",
		"<b>SLO:</b> API p99 ≤ 100 ms (from the intended send time), drops ≤ 0.1% of those sent, time-to-notify p99 ≤ 5 s",
		"no capacity</span> — the machine is the limit at 800 rps",
		"hybrid: the machine is the limit at 800 rps, not the pattern",
		`<li class="miss">MISS: ×4 predicted from ×1, ×2 by the USL`,
		"async: the USL prediction missed",
		`<li class="hit">×4 predicted from ×1, ×2 by the USL`,
		"for a peak of 1,500 rps for 60 s",
		`id="claim-async-api-capacity-exceeds-sync"`,
		"claims/claims_capacity.go",
	}
	for _, name := range []string{"sync", "async"} {
		c := r.Capacity[name]
		want = append(want, "<b>"+name+"</b>: <span class=\"answer\">"+rate(c.RPS)+" rps</span> — decided by "+c.DecidedBy)
	}
	for _, id := range []string{"chart_cap_api_sync", "chart_cap_notify_async", "chart_cap_api_hybrid", "chart_cap_drops", "chart_cap_lag", "chart_cap_rps", "chart_cap_cpu", "chart_cap_usl"} {
		want = append(want, `id="`+id+`"`)
	}
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("the page lacks %q", w)
		}
	}
	for _, no := range []string{"chart_rate", "chart_api_latency", "<h2>Summary</h2>", "sync-blocks-caller", "Fault windows are shaded"} {
		if strings.Contains(page, no) {
			t.Errorf("the page has %q: it belongs to the report of a run with per-pattern series", no)
		}
	}
	// The step table has a row per step.
	steps := 0
	for _, c := range r.Capacity {
		steps += len(c.Steps)
	}
	if got := strings.Count(page, `<tr><td>sync</td>`) + strings.Count(page, `<tr><td>async</td>`) + strings.Count(page, `<tr><td>hybrid</td>`); got != steps {
		t.Errorf("the steps' table has %d rows, want %d", got, steps)
	}
}

// TestCapacityPrediction: a prediction within 20% is said to be, a miss
// is flagged on the line, in a banner and on the chart, for each pattern
// on its own.
func TestCapacityPrediction(t *testing.T) {
	for _, tc := range []struct {
		name  string
		error float64
		miss  bool
	}{
		{"within", 0.12, false},    // 12% over: said to be within 20%
		{"under", -0.19, false},    // 19% under: within too
		{"miss", 0.35, true},       // 35% over: a miss
		{"miss under", -0.4, true}, // 40% under: a miss
	} {
		r := capacityFixture(t)
		pr := r.Capacity["async"].Prediction
		pr.PredictedRPS = pr.MeasuredRPS * (1 + tc.error)
		pr.Error, pr.Miss = tc.error, tc.miss
		page := capacityReport(t, r)
		banner := strings.Contains(page, "async: the USL prediction missed")
		line := strings.Contains(page, `<li class="miss">MISS: ×4`)
		label := strings.Contains(page, `"formatter":"predicted `+rate(pr.PredictedRPS)+`: MISS`)
		if banner != tc.miss || line != tc.miss || label != tc.miss {
			t.Errorf("%s (%+.0f%%): banner %v, line %v, chart label %v; want all %v", tc.name, 100*tc.error, banner, line, label, tc.miss)
		}
		if hit := strings.Count(page, `<li class="hit">`); hit != map[bool]int{true: 1, false: 2}[tc.miss] {
			t.Errorf("%s: %d predictions said within 20%%, want sync's%s", tc.name, hit, map[bool]string{false: " and async's"}[tc.miss])
		}
	}
}

// TestCapacityRender: Render draws a capacity run's folder, whose
// results.json has no patterns, as it does any run's.
func TestCapacityRender(t *testing.T) {
	dir := t.TempDir()
	if err := capacityFixture(t).Write(dir); err != nil {
		t.Fatal(err)
	}
	path, err := Render(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || path != filepath.Join(dir, FileName) || !bytes.Contains(b, []byte("chart_cap_rps")) {
		t.Fatalf("Render wrote %s (%d bytes, %v): want the capacity page as %s", path, len(b), err, FileName)
	}
	// A search that measured nothing yet (the first step still running)
	// draws too.
	// draws too: its line, no chart (an empty one would be a broken
	// section), and a pattern without a search (null) is left out.
	empty := &results.Results{Schema: results.SchemaVersion, Patterns: map[string]*results.Pattern{},
		Capacity: map[string]*results.Capacity{"sync": {Steps: []results.CapacityStep{}}, "async": nil},
		SLO:      &results.CapacitySLO{APIP99Ms: 100, Drops: 0.001, NotifyP99Ms: 5000}}
	page := capacityReport(t, empty)
	if !strings.Contains(page, "<b>sync</b>: <span class=\"answer\">no capacity") || strings.Contains(page, "<b>async</b>") {
		t.Errorf("a search with no step: the page lacks sync's line or has async's")
	}
	if n := strings.Count(page, `<div class="item"`); n != 0 {
		t.Errorf("a search with no step: %d charts, want none", n)
	}
}

// TestCapacityCompare: a capacity run is not drawn as a comparison of
// patterns it has not got.
func TestCapacityCompare(t *testing.T) {
	a, _ := fixtures(t)
	var b bytes.Buffer
	if err := Compare(&b, a, capacityFixture(t)); err == nil || !strings.Contains(err.Error(), "capacity run") {
		t.Errorf("comparing a run with a capacity run: error %v, want one that says why", err)
	}
}
