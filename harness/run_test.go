package harness_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/validity"
)

// These tests run whole benchmarks: the commbench binary (built once) for
// the services, loopback sockets, and Kafka — embedded kfake, and the
// package's one local Apache Kafka, started on first use.

var (
	exeOnce sync.Once
	exePath string
	exeErr  error

	localOnce sync.Once
	local     *broker.Broker
	localErr  error
)

func TestMain(m *testing.M) {
	if os.Getenv(nullChildEnv) != "" {
		os.Exit(nullChild()) // BenchmarkGeneratorCPU's endpoint
	}
	code := m.Run()
	if local != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		local.Stop(ctx)
		cancel()
	}
	if exePath != "" {
		os.RemoveAll(filepath.Dir(exePath))
	}
	os.Exit(code)
}

// commbench returns the binary the services run from: $COMMBENCH_BIN, or a
// fresh build.
func commbench(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COMMBENCH_BIN"); p != "" {
		return p
	}
	exeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "commbench-bin-")
		if err != nil {
			exeErr = err
			return
		}
		exePath = filepath.Join(dir, "commbench")
		out, err := exec.Command("go", "build", "-o", exePath, "../cmd/commbench").CombinedOutput()
		if err != nil {
			exeErr = errors.New(string(out))
		}
	})
	if exeErr != nil {
		t.Fatalf("build commbench: %v", exeErr)
	}
	return exePath
}

func localKafka(t *testing.T) *broker.Broker {
	t.Helper()
	if testing.Short() {
		t.Skip("local Apache Kafka: skipped under -short")
	}
	if err := broker.LocalPossible(broker.DefaultCacheDir()); err != nil {
		t.Skipf("local Apache Kafka: %v", err)
	}
	localOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		local, localErr = broker.Up(ctx, broker.Options{Kind: broker.Local, Partitions: 2})
	})
	if localErr != nil {
		t.Fatalf("local Kafka: %v", localErr)
	}
	return local
}

// quickSmoke is the smoke profile, shortened: 4 s at 100 rps per pattern.
func quickSmoke(t *testing.T) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load("../profiles/smoke.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p.Stages = []profiles.Stage{{For: profiles.Duration(4 * time.Second), Rate: 100, To: 100}}
	p.Warmup = profiles.Warmup{For: profiles.Duration(time.Second), Rate: 50}
	return p
}

func runSmoke(t *testing.T, ctx context.Context, o harness.RunOptions) (*results.Results, string, error) {
	t.Helper()
	o.Exe = commbench(t)
	o.OutRoot = filepath.Join(t.TempDir(), "runs")
	if o.Logf == nil {
		o.Logf = t.Logf
	}
	if o.Profile == nil {
		o.Profile = quickSmoke(t)
	}
	o.ProfileFile = "profiles/smoke.yaml"
	res, dir, err := harness.Run(ctx, o)
	noChildrenLeft(t)
	return res, dir, err
}

// noChildrenLeft fails when a process this test started is still alive.
func noChildrenLeft(t *testing.T) {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == self && f[0] != "Z" {
			cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if local != nil && e.Name() == strconv.Itoa(local.PID) {
				continue // the package's shared broker
			}
			t.Errorf("process %s still runs: %s", e.Name(), strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
}

func checkSmoke(t *testing.T, res *results.Results, dir string) {
	t.Helper()
	back, err := results.Read(dir)
	if err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if back.Run.Partial {
		t.Errorf("partial: %s", back.Run.PartialReason)
	}
	// The host and the thresholds the verdicts were judged by are recorded.
	if h := back.Run.Host; h.Cores != host.Cores() || !h.CPUMeasured {
		t.Errorf("run.host %+v, want %d cores, CPU measured", h, host.Cores())
	}
	if v := back.Run.Validity; v.HostBusy != validity.DefaultHostBusy || v.LateByMs != 1 || v.LateFraction != validity.DefaultLateFraction || v.BoundFraction != validity.DefaultBoundFraction {
		t.Errorf("run.validity %+v, want the defaults", v)
	}
	for _, key := range []string{"sync", "async", "hybrid"} {
		pat := back.Patterns[key]
		if pat == nil {
			t.Errorf("%s: missing from results", key)
			continue
		}
		s := pat.Summary
		// Every scheduled request is sent, or, when a stalled machine kept
		// the generator from it within the attack's bound, the run says so.
		if (s.Requests != 400 && !s.Saturated) || s.Requests > 400 || s.Accepted == 0 {
			t.Errorf("%s: requests %d (saturated %v) accepted %d, want 400 (or fewer, flagged saturated) and > 0 accepted", key, s.Requests, s.Saturated, s.Accepted)
		}
		// Every second accounts for the host and the generator, and the
		// pattern has a verdict on them.
		if n := len(pat.Series.T); len(pat.Series.HostCPU) != n || len(pat.Series.Bound) != n || len(pat.Series.SendLagP99) != n || len(pat.Series.LateSends) != n {
			t.Errorf("%s: %d seconds, but %d host, %d bound, %d send lag, %d late", key, n, len(pat.Series.HostCPU), len(pat.Series.Bound), len(pat.Series.SendLagP99), len(pat.Series.LateSends))
		}
		switch s.Validity {
		case results.ValidityOK, results.ValidityMachineBound, results.ValidityGeneratorBound:
		default:
			t.Errorf("%s: validity %q", key, s.Validity)
		}
		if s.SendLag.P50 < 0 || s.SendLag.P99 < s.SendLag.P50 || s.SendLag.Max < s.SendLag.P99 {
			t.Errorf("%s: send lag %+v", key, s.SendLag)
		}
		if key != "sync" && s.Lost != 0 {
			t.Errorf("%s: lost %d, want 0", key, s.Lost)
		}
		if s.Delivered < s.Accepted-s.DeadLettered {
			t.Errorf("%s: delivered %d of %d accepted", key, s.Delivered, s.Accepted)
		}
		// Every first delivery was traced through its hops, and the hops
		// are there in the summary and the histograms.
		if s.Traced != s.Delivered {
			t.Errorf("%s: traced %d of %d delivered", key, s.Traced, s.Delivered)
		}
		for i, h := range s.Hops.All() {
			if h.P50 < 0 || h.P99 < h.P50 || h.Max < h.P99 || *pat.Histograms.Hops.All()[i] == "" {
				t.Errorf("%s: hop %s %+v, histogram %d bytes", key, results.HopNames[i], *h, len(*pat.Histograms.Hops.All()[i]))
			}
		}
		t.Logf("%s hops p50/p99 ms: api %.3g/%.3g, handoff %.3g/%.3g, queue %.3g/%.3g, processing %.3g/%.3g, provider %.3g/%.3g; time-to-notify %.3g/%.3g", key,
			s.Hops.API.P50, s.Hops.API.P99, s.Hops.Handoff.P50, s.Hops.Handoff.P99, s.Hops.Queue.P50, s.Hops.Queue.P99,
			s.Hops.Processing.P50, s.Hops.Processing.P99, s.Hops.Provider.P50, s.Hops.Provider.P99, s.Notify.P50, s.Notify.P99)
		if len(pat.Series.T) < 4 || pat.Histograms.API == "" {
			t.Errorf("%s: %d seconds of series, api histogram %q", key, len(pat.Series.T), pat.Histograms.API)
		}
		for _, suffix := range []string{"-api.hlog", "-api-uncorrected.hlog", "-notify.hlog"} {
			f, err := os.Open(filepath.Join(dir, key+suffix))
			if err != nil {
				t.Error(err)
				continue
			}
			hs, err := results.ReadIntervalLog(f, 0)
			f.Close()
			if err != nil || len(hs) == 0 {
				t.Errorf("%s%s: %d intervals, %v", key, suffix, len(hs), err)
			}
		}
	}
}

func TestSmokeEmbedded(t *testing.T) {
	res, dir, err := runSmoke(t, context.Background(), harness.RunOptions{Broker: broker.Options{Kind: broker.Embedded}})
	if err != nil {
		t.Fatal(err)
	}
	checkSmoke(t, res, dir)
	if res.Run.Broker.Kind != "embedded" || !strings.Contains(res.Run.Broker.Label, "not Apache Kafka") {
		t.Errorf("broker: %+v, want embedded and labelled as not Apache Kafka", res.Run.Broker)
	}
}

func TestSmokeLocalKafka(t *testing.T) {
	b := localKafka(t)
	res, dir, err := runSmoke(t, context.Background(), harness.RunOptions{Existing: b})
	if err != nil {
		t.Fatal(err)
	}
	checkSmoke(t, res, dir)
	if res.Run.Broker.Kind != "local" || !strings.HasPrefix(res.Run.Broker.Version, "4.") {
		t.Errorf("broker: %+v, want local Apache Kafka 4.x", res.Run.Broker)
	}
}

func TestInterruptWritesPartialResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := quickSmoke(t)
	p.Stages = []profiles.Stage{{For: profiles.Duration(30 * time.Second), Rate: 100, To: 100}}
	p.Patterns = []pattern.Pattern{pattern.Async}
	// Interrupt in the middle of the attack, as Ctrl-C would: 2s after the
	// runner says the attack began (a slow machine may take long to warm up).
	var once sync.Once
	logf := func(format string, args ...any) {
		t.Logf(format, args...)
		if strings.Contains(fmt.Sprintf(format, args...), ": attack, ") {
			once.Do(func() { time.AfterFunc(2*time.Second, cancel) })
		}
	}
	res, dir, err := runSmoke(t, ctx, harness.RunOptions{Profile: p, Broker: broker.Options{Kind: broker.Embedded}, Logf: logf})
	if !errors.Is(err, harness.ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	back, rerr := results.Read(dir)
	if rerr != nil {
		t.Fatalf("results.json after Ctrl-C: %v", rerr)
	}
	if !back.Run.Partial || back.Patterns["async"] == nil || back.Patterns["async"].Summary.Requests == 0 {
		t.Fatalf("got partial=%v patterns=%v, want a partial run with what async measured", back.Run.Partial, res.Order)
	}
	if n := back.Patterns["async"].Summary.Requests; n >= 3000 {
		t.Errorf("requests %d: the attack did not stop", n)
	}
}
