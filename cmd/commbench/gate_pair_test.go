package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// shortCI is the ci profile cut to 11 s of load, for the side-by-side
// gate's tests.
const shortCI = `name: ci-short
description: the ci profile, 11 s of load, for the gate's tests
patterns: [sync]
stages:
  - {for: 1s, rate: 100, to: 400}
  - {for: 10s, rate: 400}
warmup: {for: 1s, rate: 100}
services:
  provider: {latency: {p50: 5ms, p99: 40ms}, capacity: 256, error_rate: 0}
  notification: {consumers: 4, concurrency: 64, retries: 10, retry_backoff: 50ms, retry_max_backoff: 5s}
  reaction: {write_cost: 0s, timeout: 2s}
  kafka: {partitions: 8}
  hybrid: {budget: 50ms}
attack: {timeout: 5s, workers: 32, max_workers: 2048, connections: 10000}
drain: {timeout: 30s}
gate: {p99_tolerance: 0.1, p99_floor: 2ms, drop_tolerance: 0.005, alpha: 0.05}
`

var (
	gateBinOnce sync.Once
	gateBin     string
	gateBinErr  error
)

// commbenchBin is $COMMBENCH_BIN, or commbench built once for this
// package's tests.
func commbenchBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("COMMBENCH_BIN"); p != "" {
		return p
	}
	gateBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "commbench-gate-test-")
		if err != nil {
			gateBinErr = err
			return
		}
		gateBin = filepath.Join(dir, "commbench")
		if out, err := exec.Command("go", "build", "-o", gateBin, ".").CombinedOutput(); err != nil {
			gateBinErr = errors.New(string(out))
		}
	})
	if gateBinErr != nil {
		t.Fatalf("build commbench: %v", gateBinErr)
	}
	return gateBin
}

// runGate runs commbench gate with args and returns its exit code and its
// output (stdout and stderr).
func runGate(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(commbenchBin(t), append([]string{"gate"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("commbench gate: %v\n%s", err, out.String())
	return 0, ""
}

// TestGatePairRealRuns runs the side-by-side gate on real runs (sync
// against its own services, one embedded broker per gate): this build
// against itself passes; with 20 ms more on every reaction write (sync's
// API p99 is ~40 ms here) it fails and names sync's API p99.
func TestGatePairRealRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("real runs: skipped under -short")
	}
	bin := commbenchBin(t)
	profile := filepath.Join(t.TempDir(), "ci-short.yaml")
	if err := os.WriteFile(profile, []byte(shortCI), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--base-exe", bin, "--profile", profile, "--block", "2s", "--broker", "embedded"}
	for _, tt := range []struct {
		name     string
		args     []string
		wantCode int
		want     []string // in the output
	}{
		// The same build on both sides: no regression. Two runs a side, so
		// that one run slowed by the machine's neighbours cannot fail it
		// (the pair rule).
		{name: "same build", args: []string{"--repeats", "2"}, wantCode: exitOK, want: []string{"result: PASS"}},
		// The head's reaction writes take 20 ms more: sync's API p99 regressed.
		{name: "injected 20ms", args: []string{"--repeats", "1", "--head-set", "services.reaction.write_cost=20ms"}, wantCode: exitFailure,
			want: []string{"result: FAIL", "gate: regression: sync api p99"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			summary := filepath.Join(t.TempDir(), "summary.md")
			t.Setenv("GITHUB_STEP_SUMMARY", summary)
			code, text := runGate(t, append(append(common, "--out", out), tt.args...)...)
			// A machine too busy to measure on (other packages' tests, other
			// jobs) makes the gate inconclusive, as it should: nothing here
			// to check then. (The validity path has its unit test in gate.)
			if code == exitInconclusive && (strings.Contains(text, "machine-bound") || strings.Contains(text, "generator-bound")) {
				t.Skipf("the machine was too busy to judge on; the gate said so:\n%s", lastLines(text, 3))
			}
			if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), "| sync | api p99 |") {
				t.Errorf("GITHUB_STEP_SUMMARY: %v, want the table:\n%s", err, b)
			}
			if code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d\n%s", code, tt.wantCode, text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output does not say %q:\n%s", w, text)
				}
			}
			for _, f := range []string{"gate.txt", "gate.md", "gate-benchmark.json", "gate-benchstat.txt", "gate-benchstat-baseline.txt"} {
				if m, _ := filepath.Glob(filepath.Join(out, "*", f)); len(m) != 1 {
					t.Errorf("%s: not written under %s", f, out)
				}
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
