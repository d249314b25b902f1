package harness

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/validity"
)

func TestFitCPU(t *testing.T) {
	var p results.Pattern
	for i := range 30 {
		rps := float64(100 + 50*i)
		p.Series.T = append(p.Series.T, float64(i+1))
		p.Series.AchievedRPS = append(p.Series.AchievedRPS, rps)
		p.Series.HostCPU = append(p.Series.HostCPU, 0.3+0.001*rps)
	}
	p.Series.AttackEndS = 30
	f, ok := fitCPU(&p)
	if !ok || math.Abs(f.Idle-0.3) > 1e-9 || math.Abs(f.PerRPS-0.001) > 1e-12 {
		t.Fatalf("fit %+v ok %v, want idle 0.3, 0.001 per rps", f, ok)
	}
	if got := f.at(1400); math.Abs(got-1.7) > 1e-9 {
		t.Errorf("predicted %.3f cores at 1,400 rps, want 1.7", got)
	}
	// Unmeasured seconds (-1) and drain seconds are left out.
	p.Series.HostCPU[0] = -1
	p.Series.T = append(p.Series.T, 31)
	p.Series.AchievedRPS = append(p.Series.AchievedRPS, 0)
	p.Series.HostCPU = append(p.Series.HostCPU, 1.9)
	if f, _ := fitCPU(&p); f.N != 29 {
		t.Errorf("fitted %d seconds, want 29", f.N)
	}
	// One rate only: no line to fit.
	var flat results.Pattern
	for i := range 20 {
		flat.Series.T = append(flat.Series.T, float64(i+1))
		flat.Series.AchievedRPS = append(flat.Series.AchievedRPS, 200)
		flat.Series.HostCPU = append(flat.Series.HostCPU, 0.5)
	}
	flat.Series.AttackEndS = 20
	if _, ok := fitCPU(&flat); ok {
		t.Error("a run at one rate gave a fit")
	}
}

func TestJudgeCountsAttackSecondsOnly(t *testing.T) {
	mb := results.ValidityMachineBound
	series := &results.Series{
		T: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		// ten attack seconds, one bound; two drain seconds, both bound
		Bound: []string{"", "", mb, "", "", "", "", "", "", "", mb, mb},
	}
	var s results.Summary
	judge(&s, series, 10, validity.Thresholds{BoundFraction: 0.1})
	if s.Validity != results.ValidityOK || s.BoundS != 1 {
		t.Errorf("validity %q with %d bound s, want ok with 1 (the drain's seconds are not judged)", s.Validity, s.BoundS)
	}
	judge(&s, series, 12, validity.Thresholds{BoundFraction: 0.1})
	if s.Validity != results.ValidityMachineBound || s.BoundS != 3 {
		t.Errorf("validity %q with %d bound s, want machine-bound with 3", s.Validity, s.BoundS)
	}
}

func TestValidityWarnings(t *testing.T) {
	tests := []struct {
		name string
		have results.Summary
		want string // "" for no warning
	}{
		{"ok", results.Summary{Validity: "ok"}, ""},
		{"not ok", results.Summary{Validity: "machine-bound", ValidityReason: "the machine set them"}, "sync is machine-bound: the machine set them"},
		{"late sends", results.Summary{Validity: "ok", Saturated: true, Requests: 1000, LateSends: 50}, "50 sends (5.0%)"},
		{"lost unknown", results.Summary{LostUnknown: true}, "lost, delivered and dead-lettered are unknown"},
		{"gaps", results.Summary{SampleGaps: 3}, "3 per-second ledger reads failed"},
		{"clamped", results.Summary{Clamped: 2}, "2 API latencies outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := validityWarnings("sync", &tt.have)
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("got %q, want no warning", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Errorf("got %q, want one warning with %q", got, tt.want)
			}
		})
	}
}

// TestEarlierFit finds the newest earlier run of the pattern on a host of
// this many cores, and skips another machine's.
func TestEarlierFit(t *testing.T) {
	root := t.TempDir()
	write := func(id string, cores int, perRPS float64) {
		r := &results.Results{Schema: results.SchemaVersion, Order: []string{"async"}, Patterns: map[string]*results.Pattern{}}
		r.Run.ID, r.Run.Host.Cores = id, cores
		p := &results.Pattern{}
		for i := range 20 {
			rps := float64(100 * (i + 1))
			p.Series.T = append(p.Series.T, float64(i+1))
			p.Series.AchievedRPS = append(p.Series.AchievedRPS, rps)
			p.Series.HostCPU = append(p.Series.HostCPU, 0.1+perRPS*rps)
		}
		p.Series.AttackEndS = 20
		r.Patterns["async"] = p
		dir := filepath.Join(root, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	write("20260101-000000-surge", host.Cores(), 0.001)
	write("20260102-000000-surge", host.Cores(), 0.002)   // the newest of this machine
	write("20260103-000000-surge", host.Cores()+8, 0.004) // another machine's
	f, ok := earlierFit(root, "async")
	if !ok || math.Abs(f.PerRPS-0.002) > 1e-9 || !strings.HasPrefix(f.From, "20260102") {
		t.Errorf("fit %+v ok %v, want the second run's 0.002 cores per rps", f, ok)
	}
	if _, ok := earlierFit(root, "sync"); ok {
		t.Error("a fit for a pattern no earlier run has")
	}
}
