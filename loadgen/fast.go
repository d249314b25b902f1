package loadgen

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/wire"
)

// Client is the HTTP client an attack sends with. Both run the same
// schedule (a vegeta.Pacer: the [StagePacer]) and record the same
// vegeta.Result into the same [Recorder].
type Client string

// The clients. The zero value is [ClientFastHTTP].
const (
	// ClientFastHTTP sends with a fasthttp.HostClient from commbench's own
	// attack loop: one request and response reused per worker, no
	// per-request allocation, a deadline per request (DoDeadline, set on
	// the connection: no timer), each hit sent once (no retries).
	ClientFastHTTP Client = "fasthttp"
	// ClientNetHTTP sends with vegeta's own attacker over net/http, as the
	// Vegeta CLI does.
	ClientNetHTTP Client = "net/http"
)

// Clients lists the clients, the default first.
var Clients = []Client{ClientFastHTTP, ClientNetHTTP}

// ParseClient returns the client named s; "" is the default.
func ParseClient(s string) (Client, error) {
	switch Client(s) {
	case "", ClientFastHTTP:
		return ClientFastHTTP, nil
	case ClientNetHTTP, "nethttp":
		return ClientNetHTTP, nil
	}
	return "", fmt.Errorf("client %q: want %s or %s", s, ClientFastHTTP, ClientNetHTTP)
}

// fastAttack is one attack with the fasthttp client: the settings every
// worker shares.
type fastAttack struct {
	hc        *fasthttp.HostClient
	url       string
	first     uint64
	timeout   time.Duration
	keepAlive bool
	rec       *Recorder

	seqMu sync.Mutex
	seq   uint64 // the next send's sequence number

	workers    atomic.Int64 // running
	busy       atomic.Int64 // sending
	minWorkers int64        // the attack's initial workers: never retired
}

// retireEvery is how often the attack ends the workers it no longer needs:
// a stall makes it add workers (one per request in flight), and when the
// stall passes, the workers beyond twice the most that were busy over the
// last period (and beyond the initial ones) end, as their idle connections
// do. An idle timer per worker would never fire: the hits go round all the
// waiting workers in turn.
const retireEvery = 10 * time.Second

// maxConns bounds the fasthttp client's connections when the workers are
// unbounded: more than any loopback target can hold open.
const maxConns = 1 << 20

// newFastAttack builds the client for o. The target was checked.
func newFastAttack(o AttackOptions, s attackSettings, rec *Recorder) (*fastAttack, error) {
	u, err := url.Parse(o.Target)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", o.Target, err)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[u.Scheme == "https"])
	}
	conns := maxConns
	if s.maxWorkers < maxConns {
		conns = int(s.maxWorkers) // a worker holds at most one connection
	}
	timeout := s.timeout
	hc := &fasthttp.HostClient{
		Addr:  addr,
		IsTLS: u.Scheme == "https",
		// As many connections as workers: the open model needs one per
		// request in flight, however many. A worker never waits for a
		// connection another holds; if one ever does, it waits at most
		// the request's timeout.
		MaxConns:           conns,
		MaxConnWaitTimeout: timeout,
		// A stall makes the attack add workers and connections; idle ones
		// close after this, so memory comes back down (as net/http's).
		MaxIdleConnDuration: 10 * time.Second,
		DialTimeout: func(addr string, d time.Duration) (net.Conn, error) {
			return (&net.Dialer{Timeout: d}).Dial("tcp", addr)
		},
		// Each hit is sent once: a retried POST would be a second reaction
		// with the same id, and its latency would hide the first failure.
		RetryIfErr:               func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		NoDefaultUserAgentHeader: true,
		MaxResponseBodySize:      1 << 20,
	}
	return &fastAttack{
		hc:        hc,
		url:       strings.TrimSuffix(o.Target, "/") + wire.PathReactions,
		first:     max(o.FirstID, 1),
		timeout:   timeout,
		keepAlive: o.KeepAlive,
		rec:       rec,
	}, nil
}

// run sends the schedule: it waits out each hit's due time (pace) and hands
// the hit to a free worker, starting one more when none is free (up to
// maxWorkers), as vegeta's attacker does. It returns when the schedule is
// sent or its bound passed and every answer came, or ctx is done.
//
// The due times count from the same start the pacer's elapsed time does.
// As in vegeta's attacker, a send takes its time and its sequence number
// together (under one lock), so the k-th request sent is compared with the
// k-th due time: a worker that happens to run before another one handed
// an earlier hit does not count that one's wait twice.
func (f *fastAttack) run(ctx context.Context, p StagePacer, s attackSettings) {
	defer f.hc.CloseIdleConnections()
	defer tightTimerSlack()()
	hits := make(chan bool) // true: send a hit; false: end
	var wg sync.WaitGroup
	// spawn starts a worker; with first, it sends a hit at once, so that
	// the pacer does not wait for the new goroutine to be scheduled.
	spawn := func(first bool) {
		wg.Go(func() { f.work(first, hits) })
	}
	f.minWorkers = int64(min(s.workers, s.maxWorkers, math.MaxInt64))
	maxWorkers := int64(min(s.maxWorkers, math.MaxInt64))
	for range f.minWorkers {
		f.workers.Add(1)
		spawn(false)
	}
	defer func() { close(hits); wg.Wait() }()

	f.rec.setGauges(func() (int64, int64) { return f.workers.Load(), int64(f.hc.ConnsCount()) })
	bound := p.Duration() + s.slack
	began := time.Now()
	f.rec.SetStart(began)
	var peak int64 // the most workers busy in this period
	nextRetire := retireEvery
	for count := uint64(0); ; {
		elapsed := time.Since(began)
		if elapsed > bound || ctx.Err() != nil {
			return
		}
		peak = max(peak, f.busy.Load())
		if elapsed >= nextRetire {
			f.retire(hits, max(f.minWorkers, 2*peak))
			peak, nextRetire = 0, elapsed+retireEvery
		}
		wait, stop := p.Pace(elapsed, count)
		if stop {
			return
		}
		if wait > 0 && !pace(ctx, began.Add(elapsed+wait), highResSleep) {
			return
		}
		if f.workers.Load() < maxWorkers {
			select {
			case hits <- true:
			default: // every worker is busy: start one more, with this hit
				f.workers.Add(1)
				spawn(true)
			}
			count++
			continue
		}
		select {
		case hits <- true:
			count++
		case <-ctx.Done():
			return
		}
	}
}

// pace sleeps until deadline with sleep, in steps of at most maxPaceSleep
// so that ctx is seen; it returns false when ctx ended first. It yields
// first: the hit just handed to a worker made that worker runnable on this
// goroutine's P, and a blocking sleep would hold the P until the runtime
// took it back (see preciseWait).
func pace(ctx context.Context, deadline time.Time, sleep func(time.Duration)) bool {
	runtime.Gosched()
	for {
		if ctx.Err() != nil {
			return false
		}
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		sleep(min(left, maxPaceSleep))
	}
}

// retireFreeAt is how many workers one retire must end for it to hand the
// memory they held back to the system.
const retireFreeAt = 256

// retire ends idle workers until keep run (or none is idle). When it ended
// many, it runs two collections and returns the freed memory to the
// system, in its own goroutine: the attack allocates next to nothing per
// request, so no collection would come on its own, and the ended
// goroutines' stacks and what the fasthttp pools held for their
// connections are freed only by collections (two: a sync.Pool keeps its
// items through one). A stall's 6,600 workers held the generator's RSS at
// 118 MB for minutes after they ended; after a 0.7 s SIGSTOP of the
// endpoint at 4,000 rps RSS went 19 → 66 MB and stayed there without this,
// came back to 45 MB with one collection, to 32 MB with two.
func (f *fastAttack) retire(hits chan<- bool, keep int64) {
	ended := 0
	defer func() {
		if ended >= retireFreeAt {
			go func() { runtime.GC(); debug.FreeOSMemory() }()
		}
	}()
	for n := f.workers.Load() - keep; n > 0; n-- {
		select {
		case hits <- false: // taken by a waiting worker, which ends
			f.workers.Add(-1)
			ended++
		default:
			return
		}
	}
}

// work sends a hit at once if first, then one each time it is handed true,
// until it is handed false or hits closes.
func (f *fastAttack) work(first bool, hits <-chan bool) {
	w := newWorker(f)
	defer w.release()
	if first {
		f.busy.Add(1)
		w.send()
		f.busy.Add(-1)
	}
	for hit := range hits {
		if !hit {
			return
		}
		f.busy.Add(1)
		w.send()
		f.busy.Add(-1)
	}
}

// next takes the next send's time and sequence number together.
func (f *fastAttack) next() (time.Time, uint64) {
	f.seqMu.Lock()
	defer f.seqMu.Unlock()
	seq := f.seq
	f.seq++
	return time.Now(), seq
}

// worker is one worker's request, response and buffers, reused for every
// hit it sends: a hit allocates nothing.
type worker struct {
	*fastAttack
	req         *fasthttp.Request
	resp        *fasthttp.Response
	body, trace []byte
}

func newWorker(f *fastAttack) *worker {
	w := &worker{fastAttack: f, req: fasthttp.AcquireRequest(), resp: fasthttp.AcquireResponse(),
		body: make([]byte, 0, 192), trace: make([]byte, 0, 64)}
	w.req.Header.SetMethod(fasthttp.MethodPost)
	w.req.SetRequestURI(f.url)
	w.req.Header.SetContentType("application/json")
	if !f.keepAlive {
		w.req.SetConnectionClose()
	}
	return w
}

func (w *worker) release() {
	fasthttp.ReleaseRequest(w.req)
	fasthttp.ReleaseResponse(w.resp)
}

// send sends the next hit, reaction id first+seq, and records what came
// back. Its send time is taken before the body is built, as vegeta's is.
func (w *worker) send() {
	n := names()
	sent, seq := w.next()
	id := w.first + seq
	r := wire.Reaction{
		ID:     id,
		User:   n.users[id%users],
		Post:   n.posts[id%posts],
		Author: n.authors[id%Authors],
		Kind:   "like",
		SentAt: sent.UnixNano(),
	}
	w.body = r.Append(w.body[:0])
	w.req.SetBodyRaw(w.body)
	w.trace = wire.AppendTraceparent(w.trace[:0], id)
	w.req.Header.SetBytesV("Traceparent", w.trace)
	w.rec.countSent()
	err := w.hc.DoDeadline(w.req, w.resp, sent.Add(w.timeout))
	res := vegeta.Result{
		Seq:       seq,
		Timestamp: sent,
		Latency:   time.Since(sent),
		Method:    fasthttp.MethodPost,
		URL:       w.url,
		BytesOut:  uint64(len(w.body)),
	}
	if err != nil {
		res.Error = err.Error()
		w.rec.add(&res, answer{})
		return
	}
	res.Code = uint16(w.resp.StatusCode())
	res.BytesIn = uint64(len(w.resp.Body()))
	if res.Code < 200 || res.Code >= 400 {
		res.Error = fasthttp.StatusMessage(int(res.Code)) // static: no allocation
	}
	w.rec.add(&res, readAnswer(&w.resp.Header))
}

// readAnswer reads the id and path an accepted answer carries.
func readAnswer(h *fasthttp.ResponseHeader) answer {
	var a answer
	if v := h.Peek(wire.HeaderID); len(v) > 0 {
		n, err := fasthttp.ParseUint(v)
		a.id, a.idOK = uint64(n), err == nil
	}
	a.path = pathOf(h.Peek(wire.HeaderPath))
	return a
}

// pathOf returns the constant for an X-Commbench-Path value, so that no
// string is made from the header's bytes.
func pathOf(v []byte) string {
	switch string(v) { // compared, not converted: no allocation
	case "sync":
		return "sync"
	case "async":
		return "async"
	}
	return ""
}

// attackSettings are AttackOptions with the defaults applied.
type attackSettings struct {
	timeout             time.Duration
	workers, maxWorkers uint64
	conns               int
	slack               time.Duration
}

func settingsOf(o AttackOptions) attackSettings {
	s := attackSettings{
		timeout:    orDefault(o.Timeout, DefaultTimeout),
		workers:    orDefault(o.Workers, DefaultWorkers),
		maxWorkers: orDefault(o.MaxWorkers, vegeta.DefaultMaxWorkers),
		conns:      orDefault(o.Connections, DefaultConnections),
	}
	switch {
	case o.Slack == 0:
		s.slack = DefaultSlack
	case o.Slack > 0:
		s.slack = o.Slack
	}
	return s
}

// answer is what the recorder reads of an accepted answer's headers.
type answer struct {
	id   uint64
	idOK bool
	path string // "sync", "async" or ""
}
