package pairrun

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/internal/proc"
	"github.com/commbench/commbench/results"
)

// runInterleaved runs base and head in turn, n times each (base head base
// head …), numbering the runs from first+1, and returns each side's runs
// and failures. It stops early when ctx ends.
func runInterleaved(ctx context.Context, pl plan, first, n int) (base, head gate.Side) {
	base.Name, head.Name = pl.baseName, pl.headName
	for i := first + 1; i <= first+n && ctx.Err() == nil; i++ {
		for _, s := range []struct {
			side         *gate.Side
			name         string
			exe, profile string
		}{{&base, or(pl.labels[0], "base"), pl.baseExe, pl.baseProfile}, {&head, or(pl.labels[1], "head"), pl.headExe, pl.headProfile}} {
			if ctx.Err() != nil {
				break
			}
			if s.exe == "" {
				continue // the self-test runs one side alone
			}
			dir := filepath.Join(pl.out, fmt.Sprintf("%s-%d", s.name, i))
			pl.logf("run %d of %d: %s (%s)", i-first, n, s.name, dir)
			t0 := time.Now()
			run, err := runOne(ctx, s.exe, s.profile, dir, pl)
			if err != nil {
				s.side.Errors = append(s.side.Errors, fmt.Sprintf("run %d: %v", i, err))
				pl.logf("%s run %d failed after %s: %v", s.name, i, time.Since(t0).Round(time.Second), err)
				continue
			}
			s.side.Runs = append(s.side.Runs, run)
			pl.logf("%s run %d done in %s", s.name, i, time.Since(t0).Round(time.Second))
		}
	}
	return base, head
}

// runOne runs one benchmark with exe, its output in dir/run.log and its
// run folder under dir.
func runOne(ctx context.Context, exe, profile, dir string, pl plan) (gate.Run, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return gate.Run{}, err
	}
	log := filepath.Join(dir, "run.log")
	args := []string{"run", "--profile", profile, "--broker", "external", "--brokers", strings.Join(pl.addrs, ","),
		"--out", filepath.Join(dir, "runs")}
	if pl.patterns != "" {
		args = append(args, "--patterns", pl.patterns)
	}
	child, err := proc.Start(exec.Command(exe, args...), proc.Options{Log: log})
	if err != nil {
		return gate.Run{}, err
	}
	timeout := time.NewTimer(maxRunTime)
	defer timeout.Stop()
	var stopped error // why the run was stopped, nil when it ended by itself
	select {
	case <-child.Done():
	case <-ctx.Done():
		stopped = ctx.Err()
	case <-timeout.C:
		stopped = fmt.Errorf("not done within %v", maxRunTime)
	}
	// Interrupted, the run stops its services and keeps its partial
	// results; it gets a minute for that before it is killed.
	if err := child.Stop(time.Minute); err != nil {
		pl.logf("stopping the run in %s: %v", dir, err)
	}
	if runErr := cmp.Or(child.Err(), stopped); runErr != nil {
		err := fmt.Errorf("%s run exited: %v; %s (log %s)", filepath.Base(exe), runErr, lastLine(log), log)
		os.WriteFile(filepath.Join(dir, exitFile), []byte(err.Error()+"\n"), 0o644)
		return gate.Run{}, err
	}
	run, err := readRun(dir)
	mark := "0"
	if err != nil {
		mark = err.Error()
	}
	// What Resume reads, for the run to count as it counted here.
	os.WriteFile(filepath.Join(dir, exitFile), []byte(mark+"\n"), 0o644)
	return run, err
}

// exitFile, in a gate run's folder, is "0" when the run counted, else why
// it failed.
const exitFile = "exit.txt"

// readRun reads the one run folder under dir/runs.
func readRun(dir string) (gate.Run, error) {
	matches, _ := filepath.Glob(filepath.Join(dir, "runs", "*", "results.json"))
	if len(matches) != 1 {
		return gate.Run{}, fmt.Errorf("want one results.json under %s, found %d", filepath.Join(dir, "runs"), len(matches))
	}
	res, err := results.Read(matches[0])
	if err != nil {
		return gate.Run{}, fmt.Errorf("%s: %w", matches[0], err)
	}
	return gate.Run{Dir: filepath.Dir(matches[0]), Results: res}, nil
}

// lastLine is the last line of a run's log that starts with "commbench:"
// (a command's error, perhaps followed by its hint), else its last line.
func lastLine(path string) string {
	lines := proc.Tail(path, 10)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "commbench: ") {
			return lines[i]
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
