package svc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// serveShort serves a NewServer with short timeouts on loopback, through
// Serve (guarded) or fasthttp's own Serve (bare), until the test ends.
func serveShort(t *testing.T, guarded bool, idle, header time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer("test", func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok\n") })
	s.IdleTimeout, s.ReadTimeout = idle, header
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if guarded {
		go func() { done <- Serve(ctx, ln, s, 5*time.Second) }()
	} else {
		go func() { done <- s.Serve(ln) }()
	}
	t.Cleanup(func() {
		cancel()
		if !guarded {
			s.Shutdown()
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// A connection that never sends a byte is closed after the idle time
// without an answer; fasthttp alone answers it with an error response
// that a client reusing the connection would take for its own.
func TestSilentIdleClose(t *testing.T) {
	for _, tc := range []struct {
		guarded bool
		want    string // what the silent client reads before the close
	}{
		{guarded: true, want: ""},
		{guarded: false, want: "HTTP/1.1 408"}, // why the guard exists
	} {
		addr := serveShort(t, tc.guarded, 300*time.Millisecond, 300*time.Millisecond)
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second)) // generous: the server's 300 ms ends it
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatalf("guarded %v: the idle connection was not closed by the server: %v", tc.guarded, err)
		}
		if tc.want == "" && len(got) != 0 || !strings.HasPrefix(string(got), tc.want) {
			t.Errorf("guarded %v: an idle connection read %q, want %q…", tc.guarded, got, tc.want)
		}
	}
}

// A client that trickles its headers (slowloris) is answered 408 and
// closed HeaderTimeout after their first byte, on a new connection and on
// a kept-alive one; a connection that waited idle first gets the whole
// header time from its first byte.
func TestSlowHeaders(t *testing.T) {
	const header = 500 * time.Millisecond
	addr := serveShort(t, true, 3*time.Second, header)
	for _, tc := range []struct {
		name      string
		idleFirst time.Duration // silence before the first byte
		keepAlive bool          // trickle the second request of a connection
	}{
		{name: "new connection"},
		{name: "after an idle wait", idleFirst: time.Second}, // longer than header, shorter than idle
		{name: "kept-alive connection", keepAlive: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp4", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			if tc.keepAlive {
				if _, err := io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("first request: %v %v", resp, err)
				}
				io.Copy(io.Discard, resp.Body)
			}
			time.Sleep(tc.idleFirst)
			// One header line every 100 ms, for at most 10 s (20 header
			// times): the server must cut it off long before.
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				io.WriteString(c, "POST /v1/reactions HTTP/1.1\r\nHost: x\r\n")
				for i := 0; i < 100; i++ {
					time.Sleep(100 * time.Millisecond)
					if _, err := io.WriteString(c, "X-Slow: yes\r\n"); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to trickled headers: %v", err)
			}
			if resp.StatusCode != fasthttp.StatusRequestTimeout {
				t.Errorf("trickled headers answered %d, want 408", resp.StatusCode)
			}
			c.Close()
			<-closed
		})
	}
}

// fakeListener fails Accept with errs, then returns a connection, then
// net.ErrClosed.
type fakeListener struct {
	net.Listener
	errs []error
	conn net.Conn
}

func (l *fakeListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	if c := l.conn; c != nil {
		l.conn = nil
		return c, nil
	}
	return nil, net.ErrClosed
}

// Running out of descriptors or memory is waited out; a closed listener
// ends Accept.
func TestAcceptWaitsOut(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: &osSyscallError{syscall.EMFILE}}
	l := guard(&fakeListener{errs: []error{emfile, syscall.ENFILE, syscall.ENOBUFS}, conn: a}, time.Second, time.Second)
	c, err := l.Accept()
	if err != nil || c == nil {
		t.Fatalf("Accept after passing errors = %v, %v; want the connection", c, err)
	}
	if got := l.waits.Load(); got != 3 {
		t.Errorf("waited out %d errors, want 3", got)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on a closed listener = %v, want net.ErrClosed", err)
	}
}

// osSyscallError wraps an errno as os.SyscallError does.
type osSyscallError struct{ errno syscall.Errno }

func (e *osSyscallError) Error() string { return "accept4: " + e.errno.Error() }
func (e *osSyscallError) Unwrap() error { return e.errno }

func TestMaxConns(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skip(err)
	}
	got := MaxConns()
	if got < 1 || rl.Cur <= 1<<20 && uint64(got) >= rl.Cur {
		t.Errorf("MaxConns() = %d with a descriptor limit of %d: want at least 1 and below the limit", got, rl.Cur)
	}
}
