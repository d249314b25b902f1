// Package proc runs a child process the one way commbench does: in its own
// process group, its output appended to a log file, stopped with SIGTERM
// and, after a grace period, SIGKILL, with the last lines of its log at
// hand for an error message.
package proc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	// ErrKilled is wrapped by Stop when the group outlived its grace
	// period and was killed with SIGKILL.
	ErrKilled = errors.New("did not stop in time and was killed")
	// ErrNotRunning is returned by Signal when the process has ended.
	ErrNotRunning = errors.New("not running")
)

// killWait bounds how long Stop and Kill wait for a group to end after
// SIGKILL, which cannot be caught.
const killWait = 5 * time.Second

// poll is how often a stop looks whether the group has ended.
const poll = 20 * time.Millisecond

// Options say how Start runs a child. The zero value keeps the command's
// own output and kills the child when this process dies.
type Options struct {
	// Log is the file the child's stdout and stderr are appended to, after
	// a header line "# <time> <command line>". Empty: cmd's own Stdout
	// and Stderr stay (pipes, say).
	Log string
	// Detach lets the child outlive this process (a broker started by
	// 'commbench broker up'). Without it the kernel kills the child
	// when this process dies without stopping it (and only then: see
	// spawner).
	Detach bool
}

// Proc is a started child: the leader of its own process group.
type Proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}

	mu  sync.Mutex
	err error // what Wait said, once done is closed
}

// Start starts cmd in its own process group as o says and reaps it when
// it ends. A signal to this process's terminal does not reach the child:
// its owner stops it, in order.
func Start(cmd *exec.Cmd, o Options) (*Proc, error) {
	if o.Log != "" {
		f, err := os.OpenFile(o.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		fmt.Fprintf(f, "# %s %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(cmd.Args, " "))
		cmd.Stdout, cmd.Stderr = f, f
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	start := cmd.Start
	if !o.Detach {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
		start = func() error { return onSpawner(cmd.Start) }
	}
	if err := start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, log: o.Log, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// spawner is the OS thread that forks every child with a Pdeathsig.
//
// Linux sends the parent-death signal when the *thread* that forked the
// child exits, not the process. Go ends a thread whose goroutine exits
// while locked to it (runtime.LockOSThread without Unlock, as the load
// generator's pacer does): a child forked there would be killed with it,
// mid-run. The spawner's goroutine locks its thread and never returns, so
// that thread lives as long as this process.
var spawner struct {
	once sync.Once
	work chan func()
}

// onSpawner runs start on the spawner's thread and returns its error.
func onSpawner(start func() error) error {
	spawner.once.Do(func() {
		spawner.work = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread must not be retired
			for f := range spawner.work {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawner.work <- func() { errc <- start() }
	return <-errc
}

// PID is the child's process id (and its group's), 0 once it has ended.
func (p *Proc) PID() int {
	if !p.Alive() {
		return 0
	}
	return p.cmd.Process.Pid
}

// Alive reports whether the child has not yet ended.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed when the child has ended and was reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the child ended (exec.Cmd.Wait's error), nil while it runs.
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// State is the child's exit state, nil while it runs.
func (p *Proc) State() *os.ProcessState {
	if p.Alive() {
		return nil
	}
	return p.cmd.ProcessState
}

// Log is the file its output goes to, "" when Start was given none.
func (p *Proc) Log() string { return p.log }

// Tail is the last n non-blank lines of its log (see Tail).
func (p *Proc) Tail(n int) []string { return Tail(p.log, n) }

// Signal sends sig to the child's process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	if !p.Alive() {
		return ErrNotRunning
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Stop stops the child's whole group (see StopGroup) and waits until the
// child was reaped. Stopping a stopped child is not an error.
func (p *Proc) Stop(grace time.Duration) error {
	err := StopGroup(p.cmd.Process.Pid, grace, p.done)
	<-p.done
	return err
}

// Kill sends SIGKILL to the child's group and waits until the child was
// reaped and the group is gone.
func (p *Proc) Kill() error {
	err := StopGroup(p.cmd.Process.Pid, 0, p.done)
	<-p.done
	if errors.Is(err, ErrKilled) {
		return nil
	}
	return err
}

// StopGroup stops process group pgid: SIGTERM (and SIGCONT, should it be
// paused), up to grace for the leader and every process of the group to
// end, then SIGKILL. done, when not nil, is closed when the leader was
// reaped; without it (a group another process started) the group counts
// as ended when no live process is left in it. It returns nil when the
// group ended by itself or was not there, an error wrapping ErrKilled when
// it had to be killed, and another error when even SIGKILL left it alive.
// A grace of 0 kills at once.
func StopGroup(pgid int, grace time.Duration, done <-chan struct{}) error {
	if pgid <= 0 {
		return fmt.Errorf("process group %d: not a group", pgid)
	}
	ended := func() bool {
		if done != nil {
			select {
			case <-done:
			default:
				return false
			}
		}
		return !GroupAlive(pgid)
	}
	if ended() {
		return nil
	}
	if grace > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		if waitFor(ended, grace) {
			return nil
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !waitFor(ended, killWait) {
		return fmt.Errorf("process group %d still alive %v after SIGKILL", pgid, killWait)
	}
	if grace == 0 {
		return fmt.Errorf("process group %d: %w", pgid, ErrKilled)
	}
	return fmt.Errorf("process group %d %w after %v", pgid, ErrKilled, grace)
}

// waitFor polls cond until it holds or d has passed; it says whether it
// held.
func waitFor(cond func() bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(poll)
	}
}

// GroupAlive reports whether any live (not zombie) process is in process
// group pgid.
func GroupAlive(pgid int) bool {
	if pgid <= 0 {
		return false
	}
	if err := syscall.Kill(-pgid, 0); err != nil {
		return false // ESRCH: no process at all
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true // no /proc to tell zombies from the living
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if g, state, ok := statGroup(string(st)); ok && g == pgid && state != "Z" {
			return true
		}
	}
	return false
}

// statGroup reads the process group and state of a /proc/PID/stat line.
func statGroup(stat string) (pgid int, state string, ok bool) {
	i := strings.LastIndexByte(stat, ')') // the name may hold spaces and parentheses
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(stat[i+1:]) // state, ppid, pgrp, …
	if len(f) < 3 {
		return 0, "", false
	}
	g, err := strconv.Atoi(f[2])
	return g, f[0], err == nil
}
