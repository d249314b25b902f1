// Package netfault is a TCP proxy for loopback that puts network faults
// between two of a run's processes: added latency, a black hole (nothing
// gets through, connections hang) and resets (connections closed with RST).
// The client connects to the proxy's address instead of the server's; with
// no fault set, bytes pass through unchanged.
package netfault

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is the fault a Proxy applies.
type Mode int32

// The modes.
const (
	// Pass forwards everything as it comes.
	Pass Mode = iota
	// Latency holds each chunk of data going from the client to the server
	// for the delay before forwarding it: a request-response call gets the
	// delay once.
	Latency
	// Blackhole forwards nothing, like a partition in which packets are
	// dropped and TCP retransmits: new connections are accepted but not
	// connected on, data in flight waits, and callers hang until their own
	// timeouts. When the mode ends, what waited is forwarded.
	Blackhole
	// Reset closes every connection through the proxy with a TCP RST, and
	// each new one as soon as it is accepted.
	Reset
)

var modeNames = [...]string{Pass: "pass", Latency: "latency", Blackhole: "blackhole", Reset: "reset"}

func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// DialTimeout bounds the proxy's connection to the server.
const DialTimeout = 3 * time.Second

// poll is how often a connection held by Blackhole checks whether the mode
// ended.
const poll = 5 * time.Millisecond

// Proxy forwards the TCP connections it accepts to a server. It is safe for
// concurrent use; Close it when done.
type Proxy struct {
	ln     net.Listener
	target atomic.Pointer[string]

	mode  atomic.Int32
	delay atomic.Int64 // ns, for Latency

	mu     sync.Mutex
	conns  map[*pair]struct{}
	closed bool
	wg     sync.WaitGroup

	accepted, reset atomic.Int64
}

type pair struct {
	client, server net.Conn // server is nil until connected
	reset          bool     // guarded by Proxy.mu
}

// Listen starts a proxy on addr ("127.0.0.1:0" picks a free port) that
// forwards to target (host:port). The target may be "" and set later
// (SetTarget), when the server's address is known only after the proxy's
// is; until then a connection is closed at once.
func Listen(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("netfault: listen on %s: %w", addr, err)
	}
	p := &Proxy{ln: ln, conns: map[*pair]struct{}{}}
	p.target.Store(&target)
	p.wg.Go(p.accept)
	return p, nil
}

// SetTarget changes the server that new connections are forwarded to.
func (p *Proxy) SetTarget(target string) { p.target.Store(&target) }

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the server's address.
func (p *Proxy) Target() string { return *p.target.Load() }

// Set switches the proxy to mode m; delay is the added latency for Latency
// and ignored otherwise. Switching to Reset resets every open connection.
func (p *Proxy) Set(m Mode, delay time.Duration) {
	p.delay.Store(int64(delay))
	p.mode.Store(int32(m))
	if m == Reset {
		p.mu.Lock()
		for c := range p.conns {
			p.resetPair(c)
		}
		p.mu.Unlock()
	}
}

// Mode is the proxy's mode.
func (p *Proxy) Mode() Mode { return Mode(p.mode.Load()) }

// Stats are a proxy's counters.
type Stats struct {
	Accepted int64 // connections accepted
	Reset    int64 // connections closed with a reset
	Open     int   // connections open now
}

// Stats returns the proxy's counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Accepted: p.accepted.Load(), Reset: p.reset.Load(), Open: len(p.conns)}
}

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.client.Close()
		if c.server != nil {
			c.server.Close()
		}
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(poll) // EMFILE and the like: try again
			continue
		}
		p.accepted.Add(1)
		pr := &pair{client: c}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(pr) })
	}
}

// resetPair closes both sides of c with an RST. p.mu is held.
func (p *Proxy) resetPair(c *pair) {
	if c.reset {
		return
	}
	c.reset = true
	p.reset.Add(1)
	for _, conn := range []net.Conn{c.client, c.server} {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST, not FIN
			tc.Close()
		}
	}
}

func (p *Proxy) drop(c *pair) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
}

// hold waits while the proxy is in Blackhole; it reports false when the
// proxy closed meanwhile.
func (p *Proxy) hold() bool {
	for p.Mode() == Blackhole {
		if p.isClosed() {
			return false
		}
		time.Sleep(poll)
	}
	return !p.isClosed()
}

func (p *Proxy) serve(c *pair) {
	defer p.drop(c)
	if p.Mode() == Reset {
		p.mu.Lock()
		p.resetPair(c)
		p.mu.Unlock()
		return
	}
	if !p.hold() {
		return
	}
	target := p.Target()
	if target == "" {
		return
	}
	s, err := net.DialTimeout("tcp", target, DialTimeout)
	if err != nil {
		return // the client sees its connection closed, as with a refused one
	}
	p.mu.Lock()
	c.server = s
	if p.closed || p.Mode() == Reset {
		p.resetPair(c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(s, c.client, true) })
	p.pipe(c.client, s, false)
	wg.Wait()
}

// pipe copies src to dst, applying the proxy's mode to each chunk, until
// either side ends; then it closes dst's write side so the other end
// sees EOF.
func (p *Proxy) pipe(dst, src net.Conn, upstream bool) {
	buf := make([]byte, 32<<10)
	defer func() {
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		} else {
			dst.Close()
		}
	}()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.hold() {
				return
			}
			if upstream && p.Mode() == Latency {
				time.Sleep(time.Duration(p.delay.Load()))
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// A reset or a closed connection: end the other side too.
				src.Close()
				dst.Close()
			}
			return
		}
	}
}
