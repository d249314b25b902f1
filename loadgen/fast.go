package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
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
	// ClientFastHTTP sends from commbench's own attack loop over its own
	// HTTP/1.1 connections, answers parsed by fasthttp: the pacer writes
	// each request itself, a request buffer and a response reused per
	// connection, no per-request allocation, each hit sent once (no
	// retries).
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

// fastAttack is one attack with the fasthttp client: commbench's own
// HTTP/1.1 connections, written by the pacer and read by one goroutine
// each, with fasthttp's response parser.
//
// Why the pacer writes: a hit handed to a worker goroutine is sent when
// the Go scheduler runs that worker. With thousands of requests in flight
// (the surge's ramp: 1,400 rps × 1.4 s) the workers woken by their answers
// queue on the same two Ps, and the hand-off waited behind them: in the
// ramp-stall probe 245 of a second's 1,400 hits left more than 1 ms late
// while the pacer itself had woken on time for all but 30. Now the pacer
// takes an idle connection, stamps the send and writes the request
// itself; nothing is scheduled between its wake-up and the socket. The
// answers are read by the connection's reader, parked in the netpoller
// until they come.
type fastAttack struct {
	pool
	url       string
	head      []byte // the request line and the fixed headers
	first     uint64
	timeout   time.Duration
	keepAlive bool
	rec       *Recorder
	stalls    stallTracker
	yield     yielder
	// shortSlice: the kernel took the pacer thread's short time slice.
	shortSlice bool
}

// maxConns bounds the connections when the workers are unbounded: more
// than any loopback target can hold open.
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
	conns := int64(maxConns)
	if s.maxWorkers < maxConns {
		conns = int64(s.maxWorkers) // one connection per request in flight
	}
	f := &fastAttack{
		url:       strings.TrimSuffix(o.Target, "/") + wire.PathReactions,
		first:     max(o.FirstID, 1),
		timeout:   s.timeout,
		keepAlive: o.KeepAlive,
		rec:       rec,
	}
	f.pool = pool{addr: addr, max: conns, timeout: s.timeout, rec: rec, answered: f.answered}
	if u.Scheme == "https" {
		f.pool.tls = &tls.Config{ServerName: u.Hostname(), NextProtos: []string{"http/1.1"}}
	}
	path := u.EscapedPath()
	path = strings.TrimSuffix(path, "/") + wire.PathReactions
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	h := "POST " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n"
	if !o.KeepAlive {
		h += "Connection: close\r\n"
	}
	f.head = []byte(h + "Traceparent: ")
	return f, nil
}

// run sends the schedule: it waits out each hit's due time (pace), takes
// an idle connection (dialing one only when none is idle: the pool's
// dialer keeps enough ahead of the rate, by Little's law), stamps the
// send and writes the request. It returns when the schedule is sent or
// its bound passed and every answer came (or timed out), or ctx is done.
//
// The pacer runs on its own OS thread and sleeps with nanosleep(2)
// without giving up its P (rawSleep), so that it never waits for the
// answers' readers to hand a P back. The readers share the other Ps. (With
// one P more than the machine has cores the generator used 45 µs of CPU
// per request at 18,000 rps instead of 42, with no fewer late sends
// measured.)
func (f *fastAttack) run(ctx context.Context, p StagePacer, s attackSettings) {
	initial := int(min(s.workers, uint64(f.max)))
	f.fill(ctx, initial)
	dctx, stopDialer := context.WithCancel(ctx)
	defer f.close() // after the dialer stopped: waits for the answers in flight
	defer stopDialer()

	defer tightTimerSlack()()
	f.shortSlice = shortSlice()
	f.stalls.init()
	bound := p.Duration() + s.slack
	began := time.Now()
	f.rec.SetStart(began)
	f.rec.setGauges(func() (int64, int64) { return f.busy.Load(), f.open.Load() })
	defer f.stalls.close()
	f.yield.start(began)
	defer f.yield.stop()
	go f.dialer(dctx, p, began, initial)
	end := began.Add(bound)
	for seq := uint64(0); ; seq++ {
		elapsed := time.Since(began)
		if elapsed > bound || ctx.Err() != nil {
			return
		}
		wait, stop := p.Pace(elapsed, seq)
		if stop {
			return
		}
		if wait > 0 && !pace(ctx, began.Add(elapsed+wait), f.stalls.sleep) {
			return
		}
		due := began.Add(p.Due(seq + 1))
		woke := time.Now()
		c, dialed, err := f.acquire(ctx, end)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			sent := time.Now()
			cause, fig := f.stalls.at(seq, due, woke, sent, dialed)
			f.failed(seq, sent, err, cause, fig)
			continue
		}
		f.send(c, seq, due, woke, dialed)
		now := time.Now()
		f.stalls.maybeCheck(now)
		if yieldOn && f.yield.due(now, began.Add(p.Due(seq+2))) {
			f.yield.yield()
			f.stalls.yielded(f.yield.last.Sub(now))
		}
	}
}

// send stamps and writes hit seq on c: reaction id first+seq. The send
// time is taken when c is the hit's and nothing stands between it and the
// socket: the wire's time, dial included.
func (f *fastAttack) send(c *conn, seq uint64, due, woke time.Time, dialed bool) {
	id := f.first + seq
	n := names()
	sent := time.Now()
	cause, fig := f.stalls.at(seq, due, woke, sent, dialed)
	r := wire.Reaction{
		ID:     id,
		User:   n.users[id%users],
		Post:   n.posts[id%posts],
		Author: n.authors[id%Authors],
		Kind:   "like",
		SentAt: sent.UnixNano(),
	}
	c.body = r.Append(c.body[:0])
	b := append(c.buf[:0], f.head...)
	b = wire.AppendTraceparent(b, id)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(c.body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, c.body...)
	c.buf = b
	c.pending = inflight{seq: seq, sent: sent, bytesOut: uint64(len(c.body)), cause: cause, figure: fig}
	f.rec.countSent()
	f.busy.Add(1)
	c.start(sent)
	if err := c.write(b); err != nil {
		c.fail(err) // the reader records it and closes the connection
	}
}

// failed records hit seq as sent at sent and failed with err before it
// had a connection (the dial failed, or none came free by the bound).
func (f *fastAttack) failed(seq uint64, sent time.Time, err error, cause Cause, fig float64) {
	f.rec.countSent()
	res := vegeta.Result{Seq: seq, Timestamp: sent, Method: fasthttp.MethodPost, URL: f.url, Error: err.Error()}
	f.rec.add(&res, answer{}, cause, fig)
}

// answered records the answer (or the error) to c's pending hit.
func (f *fastAttack) answered(c *conn, err error) {
	p := c.pending
	f.busy.Add(-1)
	res := vegeta.Result{
		Seq:       p.seq,
		Timestamp: p.sent,
		Latency:   time.Since(p.sent),
		Method:    fasthttp.MethodPost,
		URL:       f.url,
		BytesOut:  p.bytesOut,
	}
	if err != nil {
		res.Error = errText(err)
		f.rec.add(&res, answer{}, p.cause, p.figure)
		return
	}
	res.Code = uint16(c.resp.StatusCode())
	res.BytesIn = uint64(len(c.resp.Body()))
	if res.Code < 200 || res.Code >= 400 {
		res.Error = fasthttp.StatusMessage(int(res.Code)) // static: no allocation
	}
	f.rec.add(&res, readAnswer(&c.resp.Header), p.cause, p.figure)
}

// errText is err's text as Classify reads it: a passed deadline is a
// timeout.
func errText(err error) string {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "i/o timeout"
	}
	return err.Error()
}

// pace sleeps until deadline with sleep, in steps of at most maxPaceSleep
// so that ctx is seen; it returns false when ctx ended first.
func pace(ctx context.Context, deadline time.Time, sleep func(time.Duration)) bool {
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
