package broker

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/commbench/commbench/internal/proc"
)

// ErrNotRestartable is returned by Halt and Start, and by Restartable,
// for a broker that cannot be stopped and started again: an external one,
// an embedded one (kfake keeps everything in memory, so a restart would be
// a new, empty broker, not the same one back), or one this process did not
// start.
var ErrNotRestartable = errors.New("broker cannot be stopped and started again")

// restartMu serialises Halt and Start, and guards the process fields
// (PID, cmd, done) they swap.
var restartMu sync.Mutex

// Restartable says why b cannot be halted and started again by this
// process, or nil when it can: a Local broker started by Up here.
func (b *Broker) Restartable() error {
	return restartable(b.Kind, b.cmd != nil)
}

func restartable(k Kind, ours bool) error {
	switch {
	case k == External:
		return fmt.Errorf("%w: an external cluster is not a process of this run", ErrNotRestartable)
	case k == Embedded:
		return fmt.Errorf("%w: embedded kfake keeps its topics and offsets in memory, so a restart would be a new empty broker; use a local Apache Kafka (--broker local)", ErrNotRestartable)
	case k != Local:
		return fmt.Errorf("%w: kind %q", ErrNotRestartable, k)
	case !ours:
		return fmt.Errorf("%w: this process did not start it", ErrNotRestartable)
	}
	return nil
}

// Choose returns the kind of broker Up would start for o (Auto resolved),
// without starting anything, so a caller can refuse early what that kind
// cannot do.
func Choose(o Options) (Kind, error) {
	o.defaults()
	k, _, err := choose(o)
	return k, err
}

// RestartableKind says why a broker of kind k, started by Up in this
// process, could not be halted and started again, or nil.
func RestartableKind(k Kind) error { return restartable(k, true) }

// Halt ends the broker's process and keeps its data folder, ports and
// command, so that Start brings the same broker back: SIGKILL when kill
// (what a crash does: no clean shutdown, the logs are recovered on
// start), else SIGTERM and up to DefaultStopTimeout (or ctx's deadline)
// for a clean shutdown, then SIGKILL.
func (b *Broker) Halt(ctx context.Context, kill bool) error {
	if err := b.Restartable(); err != nil {
		return err
	}
	restartMu.Lock()
	defer restartMu.Unlock()
	pid, done := b.PID, b.done
	if !kill {
		if err := stopGroup(ctx, pid, done); err != nil {
			return err
		}
		<-done // the group is gone; the reaper follows at once
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if proc.GroupAlive(pid) {
		return fmt.Errorf("process group %d still alive after SIGKILL", pid)
	}
	return nil
}

// Start starts a halted broker again with the same command line: the same
// ports and data folder, so its topics, messages and the groups' committed
// offsets are there again. It returns once the broker is ready, as Up
// does. Its PID changes.
func (b *Broker) Start(ctx context.Context) error {
	if err := b.Restartable(); err != nil {
		return err
	}
	restartMu.Lock()
	defer restartMu.Unlock()
	if b.Running() {
		return fmt.Errorf("%s is still running", b)
	}
	old := b.cmd
	cmd := exec.Command(old.Path, old.Args[1:]...)
	cmd.Dir, cmd.Env = old.Dir, old.Env
	o := Options{Detach: old.SysProcAttr == nil || old.SysProcAttr.Pdeathsig == 0}
	o.defaults()
	outFile := filepath.Join(b.DataDir, "kafka.out")
	nb, err := startProcess(o, cmd, outFile)
	if err != nil {
		return fmt.Errorf("start Kafka again: %w", err)
	}
	pidMu.Lock()
	b.PID, b.cmd, b.done = nb.PID, nb.cmd, nb.done
	pidMu.Unlock()
	if err := waitReady(ctx, o, b, b.LogFile, outFile); err != nil {
		return err
	}
	return nil
}

// pidMu guards PID where Start swaps it, apart from restartMu, which Start
// holds while the broker gets ready: Pid must not wait for that.
var pidMu sync.Mutex

// Pid is the broker's process id, safe to read while a fault restarts it.
func (b *Broker) Pid() int {
	pidMu.Lock()
	defer pidMu.Unlock()
	return b.PID
}
