package harness

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
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

// writeRun writes, under root, a run folder id of profile on a host of
// cores, whose pattern key used 0.1 + perRPS·rate cores at 20 seconds of
// rates from 100 to maxRPS.
func writeRun(t *testing.T, root, id, profile, key string, cores int, perRPS, maxRPS float64) {
	t.Helper()
	r := &results.Results{Schema: results.SchemaVersion, Order: []string{key}, Patterns: map[string]*results.Pattern{}}
	r.Run.ID, r.Run.Profile, r.Run.Host.Cores = id, profile, cores
	p := &results.Pattern{}
	for i := range 20 {
		rps := 100 + (maxRPS-100)*float64(i)/19
		p.Series.T = append(p.Series.T, float64(i+1))
		p.Series.AchievedRPS = append(p.Series.AchievedRPS, rps)
		p.Series.HostCPU = append(p.Series.HostCPU, 0.1+perRPS*rps)
	}
	p.Series.AttackEndS = 20
	r.Patterns[key] = p
	dir := filepath.Join(root, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
}

// TestEarlierFit finds the newest like run (same profile, pattern and
// variant, on a host of this many cores) whose rates reach within 2× of
// the peak, and no other.
func TestEarlierFit(t *testing.T) {
	root := t.TempDir()
	cores := host.Cores()
	writeRun(t, root, "20260101-000000-surge", "surge", "async", cores, 0.001, 2000)
	writeRun(t, root, "20260102-000000-surge", "surge", "async", cores, 0.002, 2000)                 // the newest like run
	writeRun(t, root, "20260103-000000-surge", "surge", "async", cores+8, 0.004, 2000)               // another machine's
	writeRun(t, root, "20260104-000000-claims-outage", "claims-outage", "async", cores, 0.008, 2000) // another profile's
	writeRun(t, root, "20260105-000000-surge", "surge", "async", cores, 0.016, 500)                  // like, but its rates reach only 500
	writeRun(t, root, "20260106-000000-surge", "surge", "async.big", cores, 0.032, 2000)             // another variant
	surge := like{"surge", pattern.Async, ""}
	tests := []struct {
		name   string
		l      like
		peak   float64
		perRPS float64 // 0: no fit
		from   string
	}{
		{"the newest like run that covers the peak", surge, 1400, 0.002, "20260102"},
		{"the newest like run, within 2× of its rates", surge, 1000, 0.016, "20260105"},
		{"past 2× of every like run's rates", surge, 4001, 0, ""},
		{"another profile's run is not like", like{"claims-outage", pattern.Async, ""}, 1400, 0.008, "20260104"},
		{"a profile with no run of its own", like{"spike", pattern.Async, ""}, 1400, 0, ""},
		{"a pattern no run has", like{"surge", pattern.Sync, ""}, 1400, 0, ""},
		{"the variant's own run", like{"surge", pattern.Async, "big"}, 1400, 0.032, "20260106"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := earlierFit(root, tt.l, tt.peak)
			if tt.perRPS == 0 {
				if ok {
					t.Errorf("got a fit %+v, want none", f)
				}
				return
			}
			if !ok || math.Abs(f.PerRPS-tt.perRPS) > 1e-9 || !strings.HasPrefix(f.From, tt.from) {
				t.Errorf("fit %+v ok %v, want %g cores per rps from %s", f, ok, tt.perRPS, tt.from)
			}
		})
	}
}

// TestPredictPeaks: without a like run, the run says so in one line for
// every pattern and warns of nothing; with one predicting a busy host,
// one warning, said once, for that pattern only.
func TestPredictPeaks(t *testing.T) {
	root := t.TempDir()
	p := &profiles.Profile{Name: "surge", Stages: []profiles.Stage{{For: profiles.Duration(time.Second), Rate: 200, To: 1400}}}
	var runs []plannedRun
	for _, pt := range []pattern.Pattern{pattern.Sync, pattern.Async, pattern.Hybrid} {
		runs = append(runs, plannedRun{pattern: pt, profile: p})
	}
	// An unlike run that would predict a saturated host.
	writeRun(t, root, "20260101-000000-claims-outage", "claims-outage", "sync", host.Cores(), 0.01, 300)
	predict := func() (logged []string, warnings []string) {
		f := &runFolder{res: &results.Results{}}
		o := RunOptions{Profile: p, OutRoot: root, Logf: func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) }}
		o.Broker.CacheDir = t.TempDir()          // no calibration
		f.predictPeaks(o, append(runs, runs...)) // --repeat 2: each pattern predicted once
		return logged, f.res.Run.Warnings
	}
	logged, warnings := predict()
	if len(warnings) != 0 || len(logged) != 1 || !strings.Contains(logged[0], noLikeRun+" for sync, async, hybrid") {
		t.Errorf("got log %q, warnings %q; want one %q line for the three patterns and no warning", logged, warnings, noLikeRun)
	}
	// A like run of sync whose fit puts the peak far past the threshold.
	writeRun(t, root, "20260102-000000-surge", "surge", "sync", host.Cores(), 0.01, 1000)
	logged, warnings = predict()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "sync: predicted before the attack") || !strings.Contains(warnings[0], "20260102-000000-surge") {
		t.Fatalf("warnings %q, want one for sync fitted on the surge run", warnings)
	}
	var said, none int
	for _, l := range logged {
		if l == "WARNING: "+warnings[0] {
			said++
		}
		if strings.Contains(l, noLikeRun) {
			none++
			if !strings.Contains(l, "for async, hybrid (") {
				t.Errorf("%q: want async and hybrid only", l)
			}
		}
	}
	if said != 1 || none != 1 || len(logged) != 2 {
		t.Errorf("log %q: want the warning said once and one %q line", logged, noLikeRun)
	}
}

// TestRecordHostCauses: a generator-bound second carries its measured
// cause; one the OS run queue or the hypervisor's steal explains is
// machine-bound, and a busy host's is host-busy.
func TestRecordHostCauses(t *testing.T) {
	r := &patternRun{p: &profiles.Profile{}}
	late := func(c loadgen.Cause, n int64) loadgen.Second {
		var s loadgen.Second
		s.Recorded, s.Late = 1000, n
		s.LateBy[c], s.Evidence[c] = n, 3
		return s
	}
	for _, tt := range []struct {
		sec          loadgen.Second
		busy, steal  float64
		bound, cause string
	}{
		{late(loadgen.CauseDial, 50), 0.5, 0, results.ValidityGeneratorBound, "dial"},
		{late(loadgen.CauseGC, 50), 0.5, 0.1, results.ValidityGeneratorBound, "gc"}, // in-process: steal does not excuse it
		{late(loadgen.CauseOSRunQueue, 50), 0.5, 0, results.ValidityMachineBound, "os-run-queue"},
		{late(loadgen.CauseUnknown, 50), 0.5, 0.05, results.ValidityMachineBound, "steal"},
		{late(loadgen.CauseUnknown, 50), 0.5, 0.01, results.ValidityGeneratorBound, "unknown"},
		{late(loadgen.CauseDial, 2), 0.5, 0, "", ""}, // 0.2% late: ok
		{late(loadgen.CauseDial, 2), 0.99 * float64(host.Cores()), 0, results.ValidityMachineBound, "host-busy"},
	} {
		before := len(r.series.Bound)
		got := r.recordHost(tt.sec, tt.busy, tt.steal)
		if got != tt.bound || r.series.BoundCause[before] != tt.cause {
			t.Errorf("%v late of %v (busy %.2f, steal %.2f): %q %q; want %q %q", tt.sec.Late, loadgen.CauseOf(tt.sec), tt.busy, tt.steal,
				got, r.series.BoundCause[before], tt.bound, tt.cause)
		}
		if (tt.cause == "") != (r.series.BoundEvidence[before] == "") {
			t.Errorf("cause %q with evidence %q", tt.cause, r.series.BoundEvidence[before])
		}
	}
}

// TestJudgeSaysCauses: a pattern bound by steal and a busy host says so,
// not that the host's CPU was busy for all of it.
func TestJudgeSaysCauses(t *testing.T) {
	mb := results.ValidityMachineBound
	series := &results.Series{
		T:          []float64{1, 2, 3, 4},
		Bound:      []string{mb, mb, "", mb},
		BoundCause: []string{"steal", "steal", "", "host-busy"},
	}
	var s results.Summary
	judge(&s, series, 4, validity.Thresholds{BoundFraction: 0.1})
	want := "the machine, not the pattern, set these numbers for 3 s; bound seconds by measured cause: 2 s steal, 1 s host-busy"
	if s.Validity != mb || s.ValidityReason != want {
		t.Errorf("validity %q, reason %q; want %q, %q", s.Validity, s.ValidityReason, mb, want)
	}
}
