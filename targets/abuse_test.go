package targets_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/reaction"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// The abuse tests run the sync stack (reaction → notification → provider)
// in a child process, this test binary run as TestAbuseChild, with the
// services' real limits: the client side's thousands of connections then
// do not share the services' descriptor limit, as with a real load
// generator.
const abuseChildEnv = "COMMBENCH_ABUSE_CHILD"

// TestAbuseChild is the child's body: it is skipped unless the parent set
// abuseChildEnv. It prints REACTION=host:port and serves until its stdin
// closes (the parent ended or died) or three minutes pass.
func TestAbuseChild(t *testing.T) {
	if os.Getenv(abuseChildEnv) == "" {
		t.Skip("the abuse tests' service process; run by TestAbuse")
	}
	// The provider's capacity makes the stack's: 4 calls at once of about
	// 20 ms, some 200 reactions a second.
	n, err := notification.New(notification.Config{Provider: provider.Config{P50: 20 * time.Millisecond, P99: 40 * time.Millisecond, Capacity: 4}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notifyURL := serveChild(t, ctx, "commbench-notification", n.Handler())
	r, err := reaction.New(reaction.Config{Mode: pattern.Sync, NotifyURL: "http://" + notifyURL})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	fmt.Printf("NOTIFY=%s\n", notifyURL)
	fmt.Printf("REACTION=%s\n", serveChild(t, ctx, "commbench-reaction", r.Handler()))
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
	}
}

func serveChild(t *testing.T, ctx context.Context, name string, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := svc.Serve(ctx, ln, svc.NewServer(name, h), time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(3) // a service that stops serving fails the parent's probes
		}
	}()
	return ln.Addr().String()
}

// startAbuseChild starts the child and returns the reaction and
// notification services' addresses; the child is stopped when the test ends, and killed by the
// kernel if this process dies first.
func startAbuseChild(t *testing.T) (reactionAddr, notifyAddr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAbuseChild$", "-test.v")
	cmd.Env = append(os.Environ(), abuseChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var notify string
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "NOTIFY="); ok {
				notify = a
			}
			if a, ok := strings.CutPrefix(sc.Text(), "REACTION="); ok {
				addrs <- [2]string{a, notify}
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case a := <-addrs:
		return a[0], a[1]
	case <-time.After(time.Minute):
		t.Fatal("the abuse child did not start within a minute")
	}
	return "", ""
}

// prober asks GET /healthz on a new connection every 250 ms until stopped,
// and counts the answers that were not 200 within 5 s.
type prober struct {
	addr        string
	stop        chan struct{}
	done        chan struct{}
	n, failed   atomic.Int64
	slowest     atomic.Int64 // ns
	mu          sync.Mutex
	firstFailed error
}

func probe(addr string) *prober {
	p := &prober{addr: addr, stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(p.done)
		for i := 0; i < 2400; i++ { // at most 10 minutes
			start := time.Now()
			resp, err := client.Get("http://" + addr + wire.PathHealth)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			p.n.Add(1)
			if d := int64(time.Since(start)); d > p.slowest.Load() {
				p.slowest.Store(d)
			}
			if err != nil {
				p.failed.Add(1)
				p.mu.Lock()
				if p.firstFailed == nil {
					p.firstFailed = err
				}
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	return p
}

// check stops the prober and fails the test if a probe failed or none ran.
func (p *prober) check(t *testing.T, during string) {
	t.Helper()
	close(p.stop)
	<-p.done
	t.Logf("during %s: %d /healthz probes, slowest %v (measured under contention)", during, p.n.Load(), time.Duration(p.slowest.Load()).Round(time.Millisecond))
	if p.n.Load() == 0 {
		t.Errorf("during %s: no /healthz probe ran", during)
	}
	if f := p.failed.Load(); f > 0 {
		t.Errorf("during %s: %d of %d /healthz probes not answered 200 within 5 s; first: %v", during, f, p.n.Load(), p.firstFailed)
	}
}

// idleConns is how many idle connections the test holds open: 10,000, or
// fewer when this process's descriptor limit is too low for that, or under
// the race detector, which allows at most 8,128 live goroutines (the
// service has one per connection).
func idleConns(t *testing.T) int {
	want := 10000
	if raceEnabled {
		t.Logf("race detector: holding 6000 idle connections instead of %d", want)
		want = 6000
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(want+1000) {
		t.Logf("descriptor limit %d: holding %d idle connections instead of %d", rl.Cur, int(rl.Cur)-1000, want)
		return max(100, int(rl.Cur)-1000)
	}
	return want
}

// TestAbuse: 10,000 idle connections and 100 clients trickling their
// headers at once, then a surge of 1,000 clients sending as fast as they
// can against a stack that does about 200 a second, then the harness's own
// attack at 15 times that (harness.Run against the running services). Throughout, /healthz
// answers 200 on a new connection within 5 s; the slow clients are cut
// off with 408; the idle ones get no unasked-for bytes; after the surge
// the service serves reactions again; the harness writes its results.
func TestAbuse(t *testing.T) {
	if testing.Short() {
		t.Skip("abuse: skipped under -short")
	}
	addr, notify := startAbuseChild(t)
	t.Run("idle and slow clients", func(t *testing.T) { idleAndSlow(t, addr) })
	t.Run("surge", func(t *testing.T) { surge(t, addr) })
	t.Run("harness surge", func(t *testing.T) { harnessSurge(t, addr, notify) })
}

func idleAndSlow(t *testing.T, addr string) {
	p := probe(addr)
	n := idleConns(t)
	conns := make([]net.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	var dialErr atomic.Pointer[error]
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 10 * time.Second}
			for i := w; i < n; i += 16 {
				c, err := d.Dial("tcp4", addr)
				if err != nil {
					dialErr.CompareAndSwap(nil, &err)
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if e := dialErr.Load(); e != nil {
		t.Fatalf("open %d idle connections: %v", n, *e)
	}

	// 100 slowloris clients: a header line a second, for up to 30 s.
	const slow = 100
	codes := make([]int, slow)
	for i := range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = slowClient(addr, 30)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != fasthttp.StatusRequestTimeout {
			t.Errorf("slow client %d: got %d, want 408 before its 30 s of headers ended", i, c)
			break
		}
	}
	// The idle connections were not answered what they never asked.
	for i := 0; i < n; i += max(1, n/200) {
		c := conns[i]
		c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		var b [64]byte
		if k, err := c.Read(b[:]); k > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("idle connection %d read %q, %v; want nothing", i, b[:k], err)
			break
		}
	}
	p.check(t, fmt.Sprintf("%d idle connections and %d slow clients", n, slow))
}

// slowClient trickles a request's header lines, one a second, at most
// lines of them, and returns the status the server answered (0: none).
func slowClient(addr string, lines int) int {
	c, err := net.DialTimeout("tcp4", addr, 10*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	go func() {
		io.WriteString(c, "POST "+wire.PathReactions+" HTTP/1.1\r\nHost: x\r\n")
		for range lines {
			time.Sleep(time.Second)
			if _, err := io.WriteString(c, "X-Slow: yes\r\n"); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(time.Duration(lines+5) * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func surge(t *testing.T, addr string) {
	p := probe(addr)
	const workers, length = 1000, 5 * time.Second
	client := &fasthttp.Client{MaxConnsPerHost: workers, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	var next atomic.Uint64
	var created, other, failed atomic.Int64
	deadline := time.Now().Add(length)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := 0; i < 100000 && time.Now().Before(deadline); i++ {
				r := wire.Reaction{ID: next.Add(1), User: "u", Post: "p", Author: "a", Kind: "like", SentAt: time.Now().UnixNano()}
				req.Reset()
				req.SetRequestURI("http://" + addr + wire.PathReactions)
				req.Header.SetMethod(fasthttp.MethodPost)
				req.SetBody(r.Append(nil))
				switch err := client.Do(req, resp); {
				case err != nil:
					failed.Add(1)
				case resp.StatusCode() == fasthttp.StatusCreated:
					created.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	client.CloseIdleConnections()
	t.Logf("surge of %d clients for %v: %d created, %d refused or timed out by the service, %d client errors", workers, length, created.Load(), other.Load(), failed.Load())
	if other.Load()+failed.Load() == 0 {
		t.Errorf("every reaction of the surge was created: it did not go past the stack's capacity")
	}
	p.check(t, "the surge")
	// The service serves reactions again once the surge is over.
	var status int
	for i := 0; i < 100 && status != fasthttp.StatusCreated; i++ {
		r := wire.Reaction{ID: next.Add(1), User: "u", Post: "p", Author: "a", Kind: "like", SentAt: time.Now().UnixNano()}
		status, _, _ = postReaction(addr, r.Append(nil))
		if status != fasthttp.StatusCreated {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if status != fasthttp.StatusCreated {
		t.Errorf("after the surge a reaction got %d, want 201", status)
	}
}

func postReaction(addr string, body []byte) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + wire.PathReactions)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetBody(body)
	err := fasthttp.DoTimeout(req, resp, 10*time.Second)
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), err
}

// surgeProfile asks 3,000 reactions a second of a stack that does about
// 200, for 4 s.
const surgeProfile = `name: abuse-surge
description: far past the sync stack's capacity, against running services.
patterns: [sync]
stages:
  - {for: 4s, rate: 3000}
services:
  provider: {latency: {p50: 20ms, p99: 40ms}, capacity: 4, error_rate: 0}
attack: {timeout: 3s, workers: 64, max_workers: 1024, connections: 2000}
drain: {timeout: 10s}
`

// harnessSurge runs the harness's attack against the child's services
// (harness.Run with Targets) and checks it wrote its results while
// /healthz kept answering.
func harnessSurge(t *testing.T, addr, notify string) {
	dir := t.TempDir()
	file := filepath.Join(dir, "abuse-surge.yaml")
	if err := os.WriteFile(file, []byte(surgeProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	prof, err := profiles.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	p := probe(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, runDir, err := harness.Run(ctx, harness.RunOptions{
		Profile: prof, ProfileFile: file, OutRoot: filepath.Join(dir, "runs"),
		Targets: &harness.Targets{Reaction: "http://" + addr, Notification: "http://" + notify},
		Logf:    t.Logf,
	})
	p.check(t, "the harness's surge")
	if err != nil {
		t.Fatalf("harness.Run: %v", err)
	}
	back, err := results.Read(runDir)
	if err != nil {
		t.Fatalf("the harness's results: %v", err)
	}
	s := back.Patterns["sync"]
	if s == nil || res == nil {
		t.Fatalf("no sync pattern in %s", runDir)
	}
	sum := s.Summary
	t.Logf("harness surge: %d requests, %d accepted, %d drops, run partial %v", sum.Requests, sum.Accepted, sum.Drops.Total, back.Run.Partial)
	if sum.Requests == 0 || sum.Accepted >= sum.Requests {
		t.Errorf("harness surge: %d requests, %d accepted, %d drops: want requests, not all accepted (past capacity)", sum.Requests, sum.Accepted, sum.Drops.Total)
	}
}
