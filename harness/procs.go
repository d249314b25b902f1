package harness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"github.com/commbench/commbench/host"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a service process the run started: a child commbench in its own
// process group, its output in a log file, stopped with SIGTERM and, after
// a grace period, SIGKILL. It can be killed, paused and started again with
// the same arguments, for faults.
type Proc struct {
	Name string
	Addr string // host:port it serves on
	exe  string
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
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
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "# %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.exe, strings.Join(p.args, " "))
	cmd := exec.Command(p.exe, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that a signal to the run's terminal does not
	// reach it before the run stops it in order; and killed if the run dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	host.Nice(cmd, host.SUTNice()) // the system under test runs after the generator
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	if err := waitHealthy(ctx, "http://"+p.Addr+"/healthz", done, 15*time.Second); err != nil {
		p.Kill()
		return fmt.Errorf("%s did not become healthy: %w; its log %s ends:\n%s", p.Name, err, p.log, tailFile(p.log, 15))
	}
	return nil
}

// PID is the process's id, 0 when it is not running.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.done:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// Signal sends sig to the process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	pid := p.PID()
	if pid == 0 {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return syscall.Kill(-pid, sig)
}

// Kill sends SIGKILL and waits for the process to end.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Stop sends SIGTERM (and SIGCONT, in case it is paused), waits up to grace
// for a graceful exit, then kills it.
func (p *Proc) Stop(grace time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	pid := cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	syscall.Kill(-pid, syscall.SIGCONT)
	select {
	case <-done:
		return nil
	case <-time.After(grace):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s did not stop within %v and was killed", p.Name, grace)
	}
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

// tailFile returns the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
