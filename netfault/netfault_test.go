package netfault

import (
	"bufio"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

// echo serves a line-echo server on loopback until the test ends.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func proxy(t *testing.T) *Proxy {
	t.Helper()
	p, err := Listen("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// call sends a line and waits up to timeout for it to come back.
func call(c net.Conn, r *bufio.Reader, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetDeadline(start.Add(timeout))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return 0, err
	}
	line, err := r.ReadString('\n')
	if err == nil && line != "hello\n" {
		err = errors.New("got " + line)
	}
	return time.Since(start), err
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestPassAndLatency(t *testing.T) {
	p := proxy(t)
	c, r := dial(t, p)
	// Only lower bounds: a delay cannot come early, but a busy machine can
	// make anything late.
	if _, err := call(c, r, 5*time.Second); err != nil {
		t.Fatalf("pass: %v; want an echo", err)
	}
	p.Set(Latency, 80*time.Millisecond)
	if d, err := call(c, r, 5*time.Second); err != nil || d < 80*time.Millisecond {
		t.Errorf("latency 80ms: %v, %v; want at least the delay", d, err)
	}
	p.Set(Pass, 0)
	if _, err := call(c, r, 5*time.Second); err != nil {
		t.Errorf("pass again: %v", err)
	}
}

func TestBlackholeHangsThenHeals(t *testing.T) {
	p := proxy(t)
	c, r := dial(t, p)
	if _, err := call(c, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Set(Blackhole, 0)
	// An open connection: nothing comes back.
	if _, err := call(c, r, 200*time.Millisecond); !isTimeout(err) {
		t.Errorf("open connection in a black hole: got %v, want a timeout", err)
	}
	// A new one is accepted (the dial succeeds) but hangs too.
	c2, r2 := dial(t, p)
	if _, err := call(c2, r2, 200*time.Millisecond); !isTimeout(err) {
		t.Errorf("new connection in a black hole: got %v, want a timeout", err)
	}
	p.Set(Pass, 0)
	// What waited is forwarded: the new connection's line comes back.
	c2.SetDeadline(time.Now().Add(5 * time.Second))
	if line, err := r2.ReadString('\n'); err != nil || line != "hello\n" {
		t.Errorf("after the black hole: %q, %v; want the held line", line, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestResetClosesWithRST(t *testing.T) {
	p := proxy(t)
	c, r := dial(t, p)
	if _, err := call(c, r, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Set(Reset, 0)
	if _, err := call(c, r, 5*time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("open connection: got %v, want ECONNRESET", err)
	}
	// A new connection is reset too: on loopback the proxy's RST can beat
	// connect(2)'s return, so the dial itself may see it.
	if c2, err := net.Dial("tcp", p.Addr()); err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("new connection: dial got %v, want ECONNRESET or a reset call", err)
		}
	} else {
		defer c2.Close()
		if _, err := call(c2, bufio.NewReader(c2), 5*time.Second); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Errorf("new connection: got %v, want ECONNRESET", err)
		}
	}
	p.Set(Pass, 0)
	c3, r3 := dial(t, p)
	if _, err := call(c3, r3, 5*time.Second); err != nil {
		t.Errorf("after the resets: %v", err)
	}
	if s := p.Stats(); s.Reset != 2 || s.Accepted != 3 {
		t.Errorf("stats %+v, want 2 reset of 3 accepted", s)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	p, err := Listen("127.0.0.1:0", echo(t))
	if err != nil {
		t.Fatal(err)
	}
	c, r := dial(t, p)
	call(c, r, 5*time.Second)
	p.Set(Blackhole, 0)
	dial(t, p)
	time.Sleep(20 * time.Millisecond)
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with connections held in a black hole")
	}
}
