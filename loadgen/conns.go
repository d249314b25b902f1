package loadgen

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// pool is the fasthttp attack's connections to the target: the idle ones
// on a stack (the last used first: its buffers are warm), each with one
// reader goroutine for its answers, and a dialer that keeps enough idle
// ones ahead of the rate.
type pool struct {
	addr     string
	tls      *tls.Config // nil: plain TCP
	max      int64       // connections open at most (a request in flight holds one)
	timeout  time.Duration
	rec      *Recorder
	answered func(*conn, error)

	// idleMu guards idle alone: the pacer takes it for every send, so
	// nothing slow (the registry, the timeout watch's walk, a dial's
	// bookkeeping) shares it, and the pacer spins for it rather than
	// parking (spinLock).
	idleMu sync.Mutex
	idle   []*conn
	// mu guards all; closing is set under it, before close empties idle.
	mu      sync.Mutex
	all     map[*conn]struct{} // every open connection, for the timeout watch
	closing atomic.Bool

	open    atomic.Int64 // connections open, or being dialed
	busy    atomic.Int64 // requests in flight
	readers sync.WaitGroup

	// slowest is the slowest answer of the current and the last period
	// (ns), for the dialer's Little's-law estimate of what is in flight.
	slowest     [2]atomic.Int64
	dialErr     atomic.Pointer[error]
	dialFailure atomic.Int64 // unix ns of the last failed dial by the dialer
}

// conn is one connection: its buffers, reused for every request on it,
// and the request in flight.
type conn struct {
	p    *pool
	nc   net.Conn
	raw  syscall.RawConn // nil for TLS
	br   *bufio.Reader
	resp fasthttp.Response
	buf  []byte // the request
	body []byte

	// state: idle (in the pool, or just taken), busy (a request written
	// or being written), dead. The pacer and the reader agree on it under
	// mu.
	mu    sync.Mutex
	state connState
	// wake carries "the request is written" from the pacer to the reader
	// (buffered: the pacer never waits). The reader is parked in the
	// socket, not here, so the write readies no goroutine; it takes wake
	// when the answer came.
	wake     chan struct{}
	pending  inflight // the request in flight, set by the pacer before it writes
	writeErr error
	sentNs   atomic.Int64 // pending's send time for the timeout watch; 0 when idle
	timedOut atomic.Bool  // the watch gave up on the pending request
	idleFrom time.Time
}

type connState uint8

const (
	connIdle connState = iota
	connBusy
	connDead
)

// inflight is what the reader needs to record a request's answer.
type inflight struct {
	seq, bytesOut uint64
	sent          time.Time
	cause         Cause
	figure        float64
}

// maxIdleConn is how long an idle connection is kept beyond what the
// dialer wants open: a stall opens many, and memory comes back down.
const maxIdleConn = 10 * time.Second

// dial opens one connection and starts its reader. It counts in open
// before it dials, so that max is never passed.
func (p *pool) dial() (*conn, error) {
	if p.open.Add(1) > p.max {
		p.open.Add(-1)
		return nil, errTooManyConns
	}
	nc, err := net.DialTimeout("tcp", p.addr, p.timeout)
	if err == nil && p.tls != nil {
		tc := tls.Client(nc, p.tls)
		tc.SetDeadline(time.Now().Add(p.timeout))
		if err = tc.Handshake(); err == nil {
			tc.SetDeadline(time.Time{})
			nc = tc
		} else {
			tc.Close()
		}
	}
	if err != nil {
		p.open.Add(-1)
		return nil, err
	}
	c := &conn{p: p, nc: nc, br: bufio.NewReaderSize(nc, 2048), wake: make(chan struct{}, 1),
		buf: make([]byte, 0, 512), body: make([]byte, 0, 192)}
	if tc, ok := nc.(*net.TCPConn); ok {
		c.raw, _ = tc.SyscallConn()
	}
	p.mu.Lock()
	if p.closing.Load() { // the attack ended while it dialed
		p.mu.Unlock()
		nc.Close()
		p.open.Add(-1)
		return nil, errClosing
	}
	if p.all == nil {
		p.all = make(map[*conn]struct{})
	}
	p.all[c] = struct{}{}
	p.readers.Add(1) // before close's Wait: both under mu
	p.mu.Unlock()
	go c.read()
	return c, nil
}

var (
	errTooManyConns = errors.New("loadgen: every connection is in flight (max_workers reached)")
	errClosing      = errors.New("loadgen: attack ended")
)

// acquire returns an idle connection, or dials one when none is idle; at
// the bound of connections it waits for one to come free, until end or
// ctx is done. dialed says that none was idle (it dialed or waited).
func (p *pool) acquire(ctx context.Context, end time.Time) (c *conn, dialed bool, err error) {
	for {
		if c = p.pop(); c != nil {
			c.mu.Lock()
			if c.state == connIdle {
				c.state = connBusy
				c.mu.Unlock()
				return c, dialed, nil
			}
			c.mu.Unlock() // died while idle: its reader closed it
			continue
		}
		if p.open.Load() < p.max {
			dialed = true
			c, err = p.dial()
			if err == nil {
				c.setState(connBusy)
				return c, true, nil
			}
			if !errors.Is(err, errTooManyConns) {
				return nil, true, err
			}
		}
		dialed = true // waiting at the bound: a dial's cause too
		if ctx.Err() != nil {
			return nil, dialed, ctx.Err()
		}
		if !time.Now().Before(end) {
			return nil, dialed, errTooManyConns
		}
		rawSleep(50 * time.Microsecond)
	}
}

func (p *pool) pop() *conn {
	spinLock(&p.idleMu)
	defer p.idleMu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return c
}

// put returns c to the idle stack; false when the attack is ending (the
// caller closes it).
func (p *pool) put(c *conn) bool {
	c.idleFrom = time.Now()
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	if p.closing.Load() {
		return false
	}
	p.idle = append(p.idle, c)
	return true
}

// idleCount is how many connections are idle.
func (p *pool) idleCount() int {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	return len(p.idle)
}

// fill dials n connections before the attack starts, a few at a time.
func (p *pool) fill(ctx context.Context, n int) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for range n {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if c, err := p.dial(); err == nil && !p.put(c) {
				c.shut()
			}
		})
	}
	wg.Wait()
}

// dialer keeps enough idle connections ahead of the schedule that the
// pacer need not dial: by Little's law the requests in flight are the
// rate times their latency, so a new one is needed per hit for as long as
// the answers take. Every tick it wants, idle, the hits due over the next
// lookahead (the most a stall of new requests takes before any answer
// comes back) with half as much again for headroom, and dials what is
// missing; it closes connections idle beyond maxIdleConn that are more
// than it wants (and the attack's initial ones).
func (p *pool) dialer(ctx context.Context, sched StagePacer, began time.Time, keep int) {
	const (
		tick      = 5 * time.Millisecond
		lookahead = 50 * time.Millisecond
		parallel  = 8
	)
	t := time.NewTicker(tick)
	defer t.Stop()
	sem := make(chan struct{}, parallel)
	period := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(period) >= time.Second {
				p.slowest[1].Store(p.slowest[0].Swap(0))
				period = now
			}
			p.watch(now)
			if time.Duration(now.UnixNano()-p.dialFailure.Load()) < 100*time.Millisecond {
				continue // the target refuses: the pacer's own dials report it
			}
			el := now.Sub(began)
			r := math.Max(sched.Rate(el), sched.Rate(el+lookahead))
			slow := time.Duration(max(p.slowest[0].Load(), p.slowest[1].Load()))
			want := int(math.Ceil(r*lookahead.Seconds()*1.5)) + 4
			// Connections that come back within the lookahead serve the
			// hits due in it: beyond what is idle, only the rest are new.
			if slow < lookahead {
				want = int(math.Ceil(r*slow.Seconds()*1.5)) + 4
			}
			missing := want - p.idleCount() - len(sem)
			for ; missing > 0 && p.open.Load() < p.max; missing-- {
				select {
				case sem <- struct{}{}:
				default:
					missing = 0
					continue
				}
				go func() {
					defer func() { <-sem }()
					c, err := p.dial()
					if err != nil {
						if !errors.Is(err, errTooManyConns) && !errors.Is(err, errClosing) {
							p.dialFailure.Store(time.Now().UnixNano())
							p.dialErr.Store(&err)
						}
						return
					}
					if !p.put(c) {
						c.shut()
					}
				}()
			}
			p.trim(now, max(want, keep))
		}
	}
}

// trim closes the idle connections (oldest first) unused for
// maxIdleConn, while more than keep are idle.
func (p *pool) trim(now time.Time, keep int) {
	var drop []*conn
	p.idleMu.Lock()
	for len(p.idle) > keep && now.Sub(p.idle[0].idleFrom) > maxIdleConn {
		drop = append(drop, p.idle[0])
		p.idle = p.idle[1:]
	}
	p.idleMu.Unlock()
	for _, c := range drop {
		c.shut()
	}
}

// close ends the pool: the idle connections are closed, and it waits for
// the answers in flight (each bounded by its deadline), whose connections
// their readers close.
func (p *pool) close() {
	p.mu.Lock()
	p.closing.Store(true) // a dial after this sees it (under mu), a put too (under idleMu, below)
	p.mu.Unlock()
	p.idleMu.Lock()
	idle := p.idle
	p.idle = nil
	p.idleMu.Unlock()
	for _, c := range idle {
		c.shut()
	}
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			p.watch(now) // the dialer stopped: the answers in flight still time out
		}
	}
}

// start readies c for the pending request, before it is written. The
// request's deadline is kept by the dialer's timeout watch, not by a
// timer set here: the pacer's P runs no timers.
func (c *conn) start(sent time.Time) {
	c.writeErr = nil
	c.sentNs.Store(sent.UnixNano())
}

// write writes b to the socket. For plain TCP it writes with a raw
// write(2) on the pacer's thread, which keeps its P; a request fits in
// the socket's buffer.
func (c *conn) write(b []byte) error {
	if c.raw != nil {
		var werr error
		err := c.raw.Write(func(fd uintptr) bool {
			for len(b) > 0 {
				n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(ptrOf(b)), uintptr(len(b)))
				switch {
				case e == syscall.EAGAIN:
					return false // wait until writable
				case e == syscall.EINTR:
					continue
				case e != 0:
					werr = e
					return true
				}
				b = b[n:]
			}
			return true
		})
		if err == nil {
			err = werr
		}
		if err == nil {
			c.wake <- struct{}{}
		}
		return err
	}
	_, err := c.nc.Write(b)
	if err == nil {
		c.wake <- struct{}{}
	}
	return err
}

// fail hands the reader a write's error for the pending request.
func (c *conn) fail(err error) {
	c.writeErr = err
	c.wake <- struct{}{}
	_ = c.nc.SetReadDeadline(time.Unix(1, 0)) // the parked read returns
}

// shut closes an idle connection: its reader sees it and ends.
func (c *conn) shut() {
	c.mu.Lock()
	if c.state == connIdle {
		c.state = connDead
	}
	c.mu.Unlock()
	_ = c.nc.Close()
}

// read is the connection's reader. It is parked in the socket (Peek)
// whether a request is in flight or not, so that the pacer's write readies
// no goroutine and the answer wakes it through the netpoller; when the
// socket has something it asks c's state what it was: an answer to the
// pending request (record it, return c to the pool), or, idle, the peer's
// close or the pool's shut (end). It ends and closes the connection on an
// error, a Connection: close answer, or the pool's end.
func (c *conn) read() {
	p := c.p
	defer p.readers.Done()
	defer p.open.Add(-1)
	defer c.forget()
	for {
		_, err := c.br.Peek(1)
		c.mu.Lock()
		st := c.state
		if st == connIdle { // closed or spoken to while idle: it is done
			c.state = connDead
		}
		c.mu.Unlock()
		if st != connBusy {
			p.remove(c)
			return
		}
		<-c.wake // the pacer finished writing (almost always before the answer came)
		switch {
		case c.writeErr != nil:
			err = c.writeErr
		case err == nil:
			err = c.resp.ReadLimitBody(c.br, 1<<20)
		}
		if err == nil {
			d := time.Since(c.pending.sent).Nanoseconds()
			if d > p.slowest[0].Load() {
				p.slowest[0].Store(d) // racy max: an estimate
			}
		}
		c.sentNs.Store(0)
		if err == nil && c.timedOut.Load() {
			err = os.ErrDeadlineExceeded // answered, but after the watch gave up on it
		}
		p.answered(c, err)
		if err != nil || c.resp.ConnectionClose() {
			c.setState(connDead)
			return
		}
		c.setState(connIdle)
		if !p.put(c) {
			c.setState(connDead)
			return
		}
	}
}

func (c *conn) setState(s connState) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

// forget closes c and drops it from the pool's registry.
func (c *conn) forget() {
	_ = c.nc.Close()
	c.p.mu.Lock()
	delete(c.p.all, c)
	c.p.mu.Unlock()
}

// remove takes c off the idle stack, if it is there.
func (p *pool) remove(c *conn) {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	for i, x := range p.idle {
		if x == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return
		}
	}
}

// watch gives up on the requests in flight longer than the timeout: their
// reader's read ends at once with a timeout. Called by the dialer every
// tick, so a timeout is seen within a tick of its deadline.
func (p *pool) watch(now time.Time) {
	limit := now.Add(-p.timeout).UnixNano()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.all {
		if s := c.sentNs.Load(); s != 0 && s <= limit && !c.timedOut.Load() {
			c.timedOut.Store(true)
			_ = c.nc.SetReadDeadline(now) // past: the parked read returns
		}
	}
}

// spinLock takes mu without parking, for a while: a reader holds the idle
// stack's lock for a few instructions, and a pacer parked on it would wait
// for the Go scheduler to hand its P back (the trace showed such waits of
// up to 4 ms). Past spinFor (the holder's thread descheduled) it parks.
func spinLock(mu *sync.Mutex) {
	if mu.TryLock() {
		return
	}
	start := time.Now()
	for i := 1; !mu.TryLock(); i++ {
		if i%64 == 0 && time.Since(start) > spinFor {
			mu.Lock()
			return
		}
	}
}

const spinFor = 2 * time.Millisecond
