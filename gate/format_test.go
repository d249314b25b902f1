package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/results"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gate -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./gate -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

// report is a report with every kind of row: a regression shown twice,
// noise, a lost notification, a pass, and a note.
func report(t *testing.T) Report {
	t.Helper()
	base := runResults("20260101-120000-ci", nil)
	base.Run.Broker.Kind = "local"
	cur := runResults("20260102-120000-ci", func(s map[string]*results.Summary) {
		s["sync"].API.P99 = 20
		s["sync"].Drops.Total = 30
		s["async"].Notify.P99 = 100
		s["hybrid"].Lost = 2
		s["hybrid"].AchievedRPS = 398.5
	})
	cur.Run.Broker.Kind = "embedded"
	r, err := Check(context.Background(), base, cur, Options{Thresholds: th,
		Rerun: func(context.Context, []pattern.Pattern) (*results.Results, string, error) {
			return runResults("again", func(s map[string]*results.Summary) {
				s["sync"].API.P99 = 21.5
				s["async"].Notify.P99 = 41
				s["hybrid"].Lost = 1
			}), "reports/runs/20260102-120000-ci/rerun/runs/20260102-120200-ci", nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := report(t).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.txt", b.Bytes())
}

func TestWriteTextPass(t *testing.T) {
	var b bytes.Buffer
	if err := Compare(runResults("base", nil), runResults("now", nil), th).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); !strings.HasSuffix(got, "\nresult: PASS\n") || strings.Contains(got, "measured again") {
		t.Errorf("got:\n%s\nwant a PASS and nothing measured again", got)
	}
}

func TestWriteBenchmarkJSON(t *testing.T) {
	var b bytes.Buffer
	if err := report(t).WriteBenchmarkJSON(&b); err != nil {
		t.Fatal(err)
	}
	// The shape github-action-benchmark's customSmallerIsBetter reads: an
	// array of objects with name, unit and a numeric value.
	var got []map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not a JSON array of objects: %v\n%s", err, b.Bytes())
	}
	if want := 3 * 4; len(got) != want { // the achieved rate is larger-is-better: left out
		t.Fatalf("got %d entries, want %d", len(got), want)
	}
	for _, e := range got {
		if _, ok := e["name"].(string); !ok {
			t.Errorf("%v: name is not a string", e)
		}
		if _, ok := e["unit"].(string); !ok {
			t.Errorf("%v: unit is not a string", e)
		}
		if _, ok := e["value"].(float64); !ok {
			t.Errorf("%v: value is not a number", e)
		}
	}
	for _, tt := range []struct {
		i    int
		name string
		unit string
		have float64
	}{
		{0, "sync api p99", "ms", 20},     // the first measurement, not the re-run's
		{2, "sync drop ratio", "%", 0.25}, // in percent: 30 of 12,000
		{7, "async lost", "count", 0},
		{9, "hybrid notify p99", "ms", 40},
	} {
		e := got[tt.i]
		if e["name"] != tt.name || e["unit"] != tt.unit || e["value"] != tt.have {
			t.Errorf("entry %d: got %v, want name %q unit %q value %v", tt.i, e, tt.name, tt.unit, tt.have)
		}
	}
	golden(t, "benchmark.golden.json", b.Bytes())
}

func TestWriteBenchstat(t *testing.T) {
	r := runResults("20260102-120000-ci", func(s map[string]*results.Summary) {
		s["sync"].API.P99 = 12.3
		s["sync"].Drops.Total = 30
		c := *s["async"]
		c.Notify.P99 = 41.5
		s["async.2"] = &c
	})
	r.Order = append(r.Order, "async.2")
	r.Run.Machine.OS, r.Run.Machine.Arch, r.Run.Broker.Kind = "linux", "amd64", "local"
	var b bytes.Buffer
	if err := WriteBenchstat(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `goos: linux
goarch: amd64
profile: ci
broker: local
run: 20260102-120000-ci
BenchmarkSync 1 12.3 api-p99-ms 40 notify-p99-ms 0.25 drop-% 0 lost 400 achieved-rps
BenchmarkAsync 1 10 api-p99-ms 40 notify-p99-ms 0 drop-% 0 lost 400 achieved-rps
BenchmarkHybrid 1 10 api-p99-ms 40 notify-p99-ms 0 drop-% 0 lost 400 achieved-rps
BenchmarkAsync 1 10 api-p99-ms 41.5 notify-p99-ms 0 drop-% 0 lost 400 achieved-rps
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	base, cur := runResults("base", nil), runResults("now", nil)
	if err := WriteFiles(dir, Compare(base, cur, th), base, cur); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TextFile, BenchmarkFile, BenchstatFile, BenchstatBaselineFile} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v, size %v; want a non-empty file", name, err, fi)
		}
	}
}
