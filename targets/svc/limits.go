package svc

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// The limits NewServer sets, against clients that abuse a service: a
// slow client (slowloris), thousands of idle connections, a surge far past
// capacity. /healthz must keep answering through all three.
const (
	// HeaderTimeout bounds a request's headers, from their first byte
	// (fasthttp's ReadTimeout): a client that trickles them is answered
	// 408 and closed.
	HeaderTimeout = 10 * time.Second
	// BodyTimeout bounds a request's body, from the end of its headers.
	BodyTimeout = 30 * time.Second
	// IdleTimeout bounds the wait for a request: the first on a new
	// connection, the next on a kept-alive one. A connection silent that
	// long is closed without an answer.
	IdleTimeout = time.Minute
	// WriteTimeout bounds writing a response to a client that does not
	// read it.
	WriteTimeout = 30 * time.Second
	// fdReserve is the descriptors kept back from client connections: the
	// service's own Kafka and HTTP connections, files, the listener; a
	// quarter of the limit when that is less.
	fdReserve = 512
)

// MaxConns is the most client connections a service serves at once
// (fasthttp's Concurrency); one more is answered 503 and closed at once.
// It is the process's descriptor limit (RLIMIT_NOFILE, whose soft value
// the Go runtime raises to the hard one at start) less a reserve, so the
// service refuses a connection before the kernel refuses it a descriptor.
// There is no per-address limit (MaxConnsPerIP): a benchmark's load comes
// from one address, the generator's.
func MaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<20 {
		return 256 * 1024 // fasthttp's default
	}
	n := int(rl.Cur)
	return max(1, n-min(fdReserve, n/4))
}

// guardListener makes fasthttp's timeouts fit a benchmark's clients and
// survive descriptor exhaustion:
//
//   - A new connection may wait idle for its first request (Go's HTTP
//     clients open spare connections under load) and, when it never sends
//     a byte, is closed without the error response fasthttp would send.
//     A client that reused it at that moment would read that response as
//     the answer to its request.
//   - The header timeout runs from a request's first byte, not from the
//     connection's start.
//   - Accept errors that pass (EMFILE, ENFILE, ENOBUFS, ENOMEM) are waited
//     out, as net/http does; fasthttp would stop serving on them.
type guardListener struct {
	net.Listener
	idle, header time.Duration
	// waits counts Accept errors waited out, for tests.
	waits atomic.Int64
}

func guard(ln net.Listener, idle, header time.Duration) *guardListener {
	return &guardListener{Listener: ln, idle: idle, header: header}
}

// Accept returns the next connection, waiting out a shortage of
// descriptors or memory (5 ms, doubling to 1 s) until the listener is
// closed.
func (l *guardListener) Accept() (net.Conn, error) {
	var wait time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return &guardConn{Conn: c, idle: l.idle, header: l.header}, nil
		}
		if !passing(err) {
			return nil, err
		}
		l.waits.Add(1)
		wait = min(max(2*wait, 5*time.Millisecond), time.Second)
		time.Sleep(wait)
	}
}

// passing reports whether an Accept error goes away when connections
// close.
func passing(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// guardConn is a connection of guardListener. fasthttp reads and sets its
// deadlines from one goroutine; started is atomic for Close and the race
// detector.
type guardConn struct {
	net.Conn
	idle, header time.Duration
	started      atomic.Bool // a byte has arrived
}

// SetReadDeadline lets a connection that has not spoken yet wait idle.
func (c *guardConn) SetReadDeadline(t time.Time) error {
	if !c.started.Load() && !t.IsZero() && c.idle > 0 {
		if d := time.Now().Add(c.idle); t.Before(d) {
			t = d
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// Read starts the header clock at the connection's first byte, and turns
// a timeout before any byte into io.EOF: fasthttp then closes without an
// answer.
func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.started.Load() {
		return n, err
	}
	if n > 0 {
		c.started.Store(true)
		if c.header > 0 {
			if derr := c.Conn.SetReadDeadline(time.Now().Add(c.header)); derr != nil && err == nil {
				err = derr
			}
		}
		return n, err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return 0, io.EOF
	}
	return n, err
}
