package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/internal/proc"
)

// Proc is a service process the run started: a child commbench in its own
// process group, its output in a log file, stopped with SIGTERM and, after
// a grace period, SIGKILL (internal/proc). It can be killed, paused and
// started again with the same arguments, for faults.
type Proc struct {
	Name string
	Addr string // host:port it serves on
	exe  string
	args []string
	log  string

	mu sync.Mutex
	p  *proc.Proc
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the service binds it; the service then fails to start with
// a clear "port in use" and the run says so.
func freePort() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startProc starts exe with args, its stdout and stderr appended to
// dir/name.log, and waits until GET http://addr/healthz answers 200.
func startProc(ctx context.Context, name, addr, exe string, args []string, dir string) (*Proc, error) {
	p := &Proc{Name: name, Addr: addr, exe: exe, args: args, log: filepath.Join(dir, name+".log")}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Proc) start(ctx context.Context) error {
	cmd := exec.Command(p.exe, p.args...)
	host.Nice(cmd, host.SUTNice()) // the system under test runs after the generator
	// Its own process group, so that a signal to the run's terminal does not
	// reach it before the run stops it in order; and killed if the run dies.
	c, err := proc.Start(cmd, proc.Options{Log: p.log})
	if err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.mu.Lock()
	p.p = c
	p.mu.Unlock()
	if err := waitHealthy(ctx, "http://"+p.Addr+"/healthz", c.Done(), 15*time.Second); err != nil {
		p.Kill()
		return fmt.Errorf("%s did not become healthy: %w; its log %s ends:\n%s", p.Name, err, p.log, strings.Join(c.Tail(15), "\n"))
	}
	return nil
}

// child is the process last started, nil before the first start.
func (p *Proc) child() *proc.Proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.p
}

// PID is the process's id, 0 when it is not running.
func (p *Proc) PID() int {
	if c := p.child(); c != nil {
		return c.PID()
	}
	return 0
}

// Signal sends sig to the process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	c := p.child()
	if c == nil || !c.Alive() {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return c.Signal(sig)
}

// Kill sends SIGKILL to the process group and waits for it to end.
func (p *Proc) Kill() {
	if c := p.child(); c != nil {
		_ = c.Kill()
	}
}

// Stop sends SIGTERM (and SIGCONT, in case it is paused) to the process
// group, waits up to grace for it to end, then kills it.
func (p *Proc) Stop(grace time.Duration) error {
	c := p.child()
	if c == nil {
		return nil
	}
	if err := c.Stop(grace); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	return nil
}

// Restart starts the process again with the same arguments after it ended.
func (p *Proc) Restart(ctx context.Context) error {
	if p.PID() != 0 {
		return fmt.Errorf("%s is still running", p.Name)
	}
	return p.start(ctx)
}

func waitHealthy(ctx context.Context, url string, exited <-chan struct{}, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("it exited")
		case <-ctx.Done():
			return fmt.Errorf("no answer from %s: %w", url, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
