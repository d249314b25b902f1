package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
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
}

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
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true, // the names below are written as sent
		MaxResponseBodySize:           1 << 20,
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
// The hit's sequence number is the pacer's count, handed to the worker
// with it, and its due time counts from the same start the pacer's elapsed
// time does: the recorder's intended send time is the one the pacer waited
// for, exactly.
func (f *fastAttack) run(ctx context.Context, p StagePacer, s attackSettings) {
	defer f.hc.CloseIdleConnections()
	hits := make(chan uint64)
	var wg sync.WaitGroup
	spawn := func() {
		wg.Go(func() { f.work(hits) })
	}
	workers := min(s.workers, s.maxWorkers)
	for range workers {
		spawn()
	}
	defer func() { close(hits); wg.Wait() }()

	bound := p.Duration() + s.slack
	began := time.Now()
	f.rec.SetStart(began)
	for count := uint64(0); ; {
		elapsed := time.Since(began)
		if elapsed > bound || ctx.Err() != nil {
			return
		}
		wait, stop := p.Pace(elapsed, count)
		if stop {
			return
		}
		if wait > 0 && !pace(ctx, began.Add(elapsed+wait), highResSleep) {
			return
		}
		if workers < s.maxWorkers {
			select {
			case hits <- count:
				count++
				continue
			default: // every worker is busy: start one more
				workers++
				spawn()
			}
		}
		select {
		case hits <- count:
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

// work sends the hits it is handed until hits closes. Its request,
// response and buffers are its own and reused: a hit allocates nothing.
func (f *fastAttack) work(hits <-chan uint64) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(f.url)
	req.Header.SetContentType("application/json")
	if !f.keepAlive {
		req.SetConnectionClose()
	}
	body := make([]byte, 0, 192)
	trace := make([]byte, 0, 64)
	n := names()
	for seq := range hits {
		id := f.first + seq
		sent := time.Now()
		r := wire.Reaction{
			ID:     id,
			User:   n.users[id%users],
			Post:   n.posts[id%posts],
			Author: n.authors[id%Authors],
			Kind:   "like",
			SentAt: sent.UnixNano(),
		}
		body = r.Append(body[:0])
		req.SetBodyRaw(body)
		trace = wire.AppendTraceparent(trace[:0], id)
		req.Header.SetBytesV("Traceparent", trace)
		f.rec.countSent()
		err := f.hc.DoDeadline(req, resp, sent.Add(f.timeout))
		res := vegeta.Result{
			Seq:       seq,
			Timestamp: sent,
			Latency:   time.Since(sent),
			Method:    fasthttp.MethodPost,
			URL:       f.url,
			BytesOut:  uint64(len(body)),
		}
		if err != nil {
			res.Error = err.Error()
			f.rec.add(&res, answer{})
			continue
		}
		res.Code = uint16(resp.StatusCode())
		res.BytesIn = uint64(len(resp.Body()))
		if res.Code < 200 || res.Code >= 400 {
			res.Error = fasthttp.StatusMessage(resp.StatusCode()) // static: no allocation
		}
		f.rec.add(&res, readAnswer(&resp.Header))
	}
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
