package harness_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/reports"
	"github.com/commbench/commbench/results"
)

// startHogs saturates every core of the host with busy shell loops, each
// bounded to limit by timeout(1) in case the test dies before it stops
// them; the returned func stops them all and waits.
func startHogs(t *testing.T, limit time.Duration) func() {
	t.Helper()
	var cmds []*exec.Cmd
	for range host.Cores() + 1 {
		cmd := exec.Command("timeout", fmt.Sprintf("%ds", int(limit.Seconds())), "sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Skipf("no CPU hog on this machine: %v", err)
		}
		cmds = append(cmds, cmd)
	}
	return func() {
		for _, c := range cmds {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			c.Wait()
		}
	}
}

// TestSaturatedHostIsNotOK runs the smoke profile while CPU hogs keep
// every core of the host busy: each pattern must come out machine-bound,
// its seconds marked, the report must say so in a banner, and no claim may
// be decided from its numbers.
func TestSaturatedHostIsNotOK(t *testing.T) {
	if _, err := host.ReadTimes(); err != nil {
		t.Skip(err)
	}
	p := quickSmoke(t)
	p.Patterns = []pattern.Pattern{pattern.Sync, pattern.Async}
	stop := startHogs(t, 3*time.Minute)
	o := harness.RunOptions{Profile: p, ProfileFile: "profiles/smoke.yaml", Exe: commbench(t),
		OutRoot: filepath.Join(t.TempDir(), "runs"), Logf: t.Logf, Broker: broker.Options{Kind: broker.Embedded}}
	res, dir, err := harness.Run(context.Background(), o)
	stop()
	noChildrenLeft(t)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range res.Order {
		s, series := res.Patterns[key].Summary, res.Patterns[key].Series
		if s.Validity != results.ValidityMachineBound || s.MachineBoundS == 0 || s.ValidityReason == "" {
			t.Errorf("%s: validity %q with %d machine-bound s (%q), want machine-bound", key, s.Validity, s.MachineBoundS, s.ValidityReason)
		}
		if n := strings.Count(strings.Join(series.Bound, ","), results.ValidityMachineBound); n == 0 || len(series.Bound) != len(series.T) {
			t.Errorf("%s: %d machine-bound seconds marked of %d (%d seconds)", key, n, len(series.Bound), len(series.T))
		}
		t.Logf("%s: %s, host cores %v", key, s.ValidityReason, series.HostCPU)
	}
	for _, c := range claims.Evaluate(res) {
		switch c.Verdict {
		case claims.Holds, claims.DoesNotHold, claims.Mixed:
			t.Errorf("claim %s decided (%s) from a saturated host: %s", c.ID, c.Verdict, c.Evidence)
		}
	}
	var page bytes.Buffer
	if err := reports.Write(&page, res); err != nil {
		t.Fatal(err)
	}
	for _, key := range res.Order {
		if !strings.Contains(page.String(), key+" is not ok") {
			t.Errorf("the report has no banner saying %s is not ok", key)
		}
	}
	warned := strings.Join(res.Run.Warnings, "\n")
	if !strings.Contains(warned, "machine-bound") {
		t.Errorf("the run's warnings do not say it was machine-bound:\n%s", warned)
	}
	_ = dir
}
