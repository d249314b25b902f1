package harness_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// shortened loads a profile of profiles/ and scales it down for a test:
// sync and async only, a 1 s warmup, the given stages and faults, and
// retries that outlast a short outage.
func shortened(t *testing.T, name string, stages []profiles.Stage, faults ...profiles.Fault) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load("../profiles/" + name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.Patterns = []pattern.Pattern{pattern.Sync, pattern.Async}
	p.Stages, p.Faults = stages, faults
	p.Warmup = profiles.Warmup{For: dur(time.Second), Rate: 50}
	p.Services.Notification.Retries = 20
	p.Services.Notification.RetryMaxBackoff = dur(time.Second)
	p.Drain.Timeout = dur(30 * time.Second)
	return p
}

// loggedRun runs p with its runs under root and returns its results and
// every line it logged.
func loggedRun(t *testing.T, root, cache string, p *profiles.Profile) (*results.Results, []string) {
	t.Helper()
	var (
		mu    sync.Mutex
		lines []string
	)
	logf := func(format string, args ...any) {
		t.Logf(format, args...)
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	res, _, err := harness.Run(context.Background(), harness.RunOptions{
		Profile: p, ProfileFile: "profiles/" + p.Name + ".yaml", Exe: commbench(t), OutRoot: root, Logf: logf,
		Broker: broker.Options{Kind: broker.Embedded, CacheDir: cache},
	})
	noChildrenLeft(t)
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return res, lines
}

// saidOnce checks that the run said each of its warnings exactly once and
// recorded none twice.
func saidOnce(t *testing.T, name string, res *results.Results, lines []string) {
	t.Helper()
	said := map[string]int{}
	for _, l := range lines {
		if w, ok := strings.CutPrefix(l, "WARNING: "); ok {
			said[w]++
		}
	}
	recorded := map[string]int{}
	for _, w := range res.Run.Warnings {
		recorded[w]++
	}
	for w, n := range recorded {
		if n != 1 || said[w] != 1 {
			t.Errorf("%s: warning recorded %d times, said %d times, want once each: %s", name, n, said[w], w)
		}
	}
	for w, n := range said {
		if recorded[w] == 0 {
			t.Errorf("%s: said %d times but not in results.json: %s", name, n, w)
		}
	}
	if len(res.Run.Warnings) == 0 {
		t.Errorf("%s: no warning at all, want at least the embedded broker's and the missing calibration's", name)
	}
}

// TestPredictionFitsOnlyLikeRuns: a claims-outage run, then a surge run in
// the same runs folder. The claims-outage run's seconds could be fitted,
// but they are another profile's: the surge says, once, that it has no
// prediction, warns of nothing predicted, and every warning of either run
// is said once. The copies are short (about 12 s of attack each, sync and
// async), the broker is embedded kfake, so claims-outage's broker kill is
// left out, and the calibration cache is empty.
func TestPredictionFitsOnlyLikeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("two whole runs: skipped under -short")
	}
	root, cache := filepath.Join(t.TempDir(), "runs"), t.TempDir()

	outage := shortened(t, "claims-outage", []profiles.Stage{{For: dur(12 * time.Second), Rate: 150, To: 150}},
		profiles.Fault{At: dur(2 * time.Second), For: dur(2 * time.Second), Target: profiles.TargetNotification, Kind: profiles.KindRestart},
		profiles.Fault{At: dur(6 * time.Second), For: dur(2 * time.Second), Target: profiles.TargetProvider, Kind: profiles.KindOutage})
	res, lines := loggedRun(t, root, cache, outage)
	saidOnce(t, "claims-outage", res, lines)
	// The claims-outage run is one an unlike fit could be made on: ten
	// attack seconds or more with measured host CPU, at more than one rate.
	for _, key := range res.Order {
		s := res.Patterns[key].Series
		n, rates := 0, map[float64]bool{}
		for i, t := range s.T {
			if t <= s.AttackEndS && i < len(s.HostCPU) && s.HostCPU[i] >= 0 {
				n++
				rates[s.AchievedRPS[i]] = true
			}
		}
		if n < 10 || len(rates) < 2 {
			t.Fatalf("claims-outage %s: %d measured attack seconds at %d rates: nothing a fit could be made on, so the test shows nothing", key, n, len(rates))
		}
	}

	surge := shortened(t, "surge", []profiles.Stage{
		{For: dur(3 * time.Second), Rate: 100, To: 100},
		{For: dur(2 * time.Second), Rate: 100, To: 400},
		{For: dur(3 * time.Second), Rate: 400, To: 400},
		{For: dur(2 * time.Second), Rate: 400, To: 100},
		{For: dur(2 * time.Second), Rate: 100, To: 100},
	}, profiles.Fault{At: dur(10 * time.Second), For: dur(1 * time.Second), Target: profiles.TargetProvider, Kind: profiles.KindOutage})
	res, lines = loggedRun(t, root, cache, surge)
	saidOnce(t, "surge", res, lines)
	var none int
	for _, l := range lines {
		if strings.Contains(l, "fitted on") || strings.Contains(l, "predicted before the attack") {
			t.Errorf("surge: a prediction from an unlike run: %s", l)
		}
		if strings.Contains(l, "no prediction: no like run") {
			none++
			if !strings.Contains(l, "for sync, async (") {
				t.Errorf("surge: %q, want it to name sync and async", l)
			}
		}
	}
	if none != 1 {
		t.Errorf("surge: said %d times that it has no prediction, want once", none)
	}
	for _, w := range res.Run.Warnings {
		if strings.Contains(w, "predicted") {
			t.Errorf("surge: a CPU prediction warning: %s", w)
		}
	}
}
