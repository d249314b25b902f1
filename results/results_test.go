package results

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// keyPaths lists every key path of a JSON value: "patterns.*.summary.api_ms.p99".
func keyPaths(prefix string, v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := prefix + "." + k
			if prefix == "" {
				p = k
			}
			if prefix == "patterns" || strings.HasSuffix(prefix, ".drops") && strings.Contains(prefix, "series") ||
				strings.HasSuffix(prefix, "cpu_cores") || strings.HasSuffix(prefix, "rss_mb") ||
				strings.HasSuffix(prefix, "cpu_s_per_1k") || strings.HasSuffix(prefix, "late_by_cause") || strings.HasSuffix(prefix, "peak_rss_mb") || strings.HasSuffix(prefix, "lag_by_group") ||
				strings.HasSuffix(prefix, "series.chain") || prefix == "claims[].numbers" || prefix == "capacity" || strings.HasSuffix(prefix, ".scale") {
				p = prefix + ".*" // map keys are data, not schema
			}
			*out = append(*out, p)
			keyPaths(p, val, out)
		}
	case []any:
		for _, e := range x {
			keyPaths(prefix+"[]", e, out)
		}
	}
}

// TestResultsSchemaGolden pins results.json's field names: a rename or a
// removal fails here, and must come with a new SchemaVersion. Adding a
// field needs `go test ./results -run Schema -update`.
func TestResultsSchemaGolden(t *testing.T) {
	b, err := json.Marshal(fullResults())
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var paths []string
	keyPaths("", v, &paths)
	slices.Sort(paths)
	paths = slices.Compact(paths)
	got := strings.Join(paths, "\n") + "\n"
	golden := filepath.Join("testdata", "results-schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("results.json key paths changed (run with -update if on purpose, and document it in docs/results.md):\n%s", diffLines(string(want), got))
	}
	// Every field of the types, omitempty ones included, is in the golden:
	// a field fullResults leaves empty would be missing from it unnoticed.
	var fields []string
	typePaths("", reflect.TypeFor[Results](), &fields)
	for _, f := range fields {
		if !slices.Contains(paths, f) {
			t.Errorf("results.json field %s is not in the golden: fill it in fullResults", f)
		}
	}
	// The names the output contract promises scripts and the gate.
	for _, must := range []string{"schema", "run.profile", "run.partial", "run.broker.kind", "run.broker.version", "run.calibration",
		"patterns.*.summary.requests", "patterns.*.summary.api_ms.p999", "patterns.*.summary.notify_ms.max",
		"patterns.*.summary.drops.http_503", "patterns.*.summary.lost", "patterns.*.summary.indeterminate",
		"patterns.*.summary.drain_s", "patterns.*.summary.peak_lag", "patterns.*.summary.cpu_s_per_1k.*", "patterns.*.series"} {
		if !slices.Contains(paths, must) {
			t.Errorf("results.json lacks %s", must)
		}
	}
}

// fullResults returns a Results with every field set to a non-zero value,
// so that no omitempty field is left out of the JSON.
func fullResults() Results {
	pat := &Pattern{Runs: 1, Faults: []FaultWindow{{Detail: "d", Error: "e"}}}
	pat.Summary.CPUSecondsPer1k = map[string]float64{"total": 1}
	pat.Summary.PeakRSSMB = map[string]float64{"reaction": 1}
	pat.Summary.WarmupAccepted = 1 // omitempty: set to be seen
	pat.Series.Drops = map[string][]int64{"timeout": {0}}
	pat.Series.CPU = map[string][]float64{"reaction": {0}}
	pat.Series.RSSMB = map[string][]float64{"reaction": {0}}
	pat.Summary.Replicas, pat.Summary.Balancer = 2, "nginx"
	pat.Summary.ReplicaDelivered = []int64{1, 1}
	pat.Summary.ValidityReason, pat.Summary.CPUNotMeasured = "machine-bound", []string{"broker"}
	pat.Summary.Groups = []GroupSummary{{}}
	pat.Series.LagByGroup = map[string][]int64{"notification": {0}}
	pat.Summary.ChainDepth, pat.Summary.ChainBreaker = 3, true
	pat.Summary.Chain = []HopSummary{{Name: "A", PeakLag: 1}}
	pat.Series.Chain = map[string]*HopSeries{"A": {Lag: []int64{0}, Breaker: []string{"closed"}}}
	pat.Summary.LateByCause = map[string]int64{"dial": 1}
	pat.Series.BoundCause, pat.Series.BoundEvidence = []string{"dial"}, []string{"e"}
	pat.Series.StealCPU = []float64{0}
	return Results{
		Schema: SchemaVersion,
		Run: RunInfo{
			Partial: true, PartialReason: "interrupted",
			Machine:     Machine{Java: "21"},
			Calibration: &Calibration{Build: "b", Machine: "m", BudgetS: 25, Reused: true},
			Faults:      []FaultWindow{{Detail: "d", Error: "e"}},
		},
		Order:    []string{"sync"},
		Patterns: map[string]*Pattern{"sync": pat},
		Claims:   []Claim{{Numbers: map[string]float64{"x": 1}}},
		Capacity: map[string]*Capacity{"sync": {
			MachineLimitRPS: 1, Steps: []CapacityStep{{Broke: []string{"api_p99"}, Dir: "d"}}, Scale: map[string]float64{"1": 1},
			USL: &USL{}, Prediction: &Prediction{FromScales: []int{1, 2}}, Peak: &PeakPlan{Backlog: 1, DrainS: 1, ExtrapolatedBy: 2},
		}},
		SLO: &CapacitySLO{},
	}
}

// typePaths lists the key paths of every JSON field of t, in keyPaths'
// notation: map values under ".*", slice elements under "[]".
func typePaths(prefix string, t reflect.Type, out *[]string) {
	switch t.Kind() {
	case reflect.Pointer:
		typePaths(prefix, t.Elem(), out)
	case reflect.Slice, reflect.Array:
		typePaths(prefix+"[]", t.Elem(), out)
	case reflect.Map:
		*out = append(*out, prefix+".*")
		typePaths(prefix+".*", t.Elem(), out)
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return
		}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := name
			if prefix != "" {
				p = prefix + "." + name
			}
			*out = append(*out, p)
			typePaths(p, f.Type, out)
		}
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
