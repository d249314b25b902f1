package loadgen

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestAttackTimesOut: an endpoint that never answers gets each hit's
// timeout, recorded as a timeout (indeterminate), and the attack ends by
// itself within its bound.
func TestAttackTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hold := make(chan struct{})
	defer close(hold)
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) { <-hold }}
	go srv.Serve(ln)
	defer ln.Close()
	pacer := mustPacer(t, 5) // 50 ms
	rec := NewRecorder(RecorderOptions{Due: pacer.Due})
	o := AttackOptions{Target: "http://" + ln.Addr().String(), Pacer: pacer, Timeout: 200 * time.Millisecond, KeepAlive: true}
	done := make(chan error, 1)
	go func() { done <- Attack(context.Background(), o, rec) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the attack did not end by itself")
	}
	got := rec.Totals()
	if got.Requests != 5 || got.Drops.Timeout != 5 || got.Indeterminate != 5 {
		t.Errorf("%d requests, %d timeouts, %d indeterminate; want 5 each", got.Requests, got.Drops.Timeout, got.Indeterminate)
	}
}

// TestPoolTrim: idle connections unused for maxIdleConn are closed beyond
// keep, the oldest first, and their readers end.
func TestPoolTrim(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	p := &pool{addr: ln.Addr().String(), max: 10, timeout: time.Second}
	p.fill(context.Background(), 5)
	if n := p.idleCount(); n != 5 {
		t.Fatalf("%d idle after fill(5)", n)
	}
	now := time.Now()
	p.mu.Lock()
	for _, c := range p.idle[:4] { // the four oldest
		c.idleFrom = now.Add(-2 * maxIdleConn)
	}
	p.mu.Unlock()
	p.trim(now, 2)
	if n := p.idleCount(); n != 2 {
		t.Errorf("%d idle after trim to 2; want 2", n)
	}
	for deadline := time.Now().Add(5 * time.Second); p.open.Load() != 2 && time.Now().Before(deadline); {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if n := p.open.Load(); n != 2 {
		t.Errorf("%d open after trim; want 2 (the readers of the closed ones end)", n)
	}
	p.close()
	if n := p.open.Load(); n != 0 {
		t.Errorf("%d open after close; want 0", n)
	}
}

// TestStallJudge: a stall's cause follows the evidence: a dial that took
// most of the lag is a dial, a collection since the last check is gc.
func TestStallJudge(t *testing.T) {
	var tr stallTracker
	tr.init()
	tr.schedstat.Close()
	tr.schedstat = nil // no run-queue evidence: the test decides what changed
	ms := time.Millisecond
	if c, fig := tr.judge(5*ms, ms, 4*ms, true); c != CauseDial || fig != 4 {
		t.Errorf("a 4 ms dial of a 5 ms lag: %v %v; want dial 4", c, fig)
	}
	if c, _ := tr.judge(5*ms, 4*ms, ms, true); c == CauseDial {
		t.Error("a 1 ms dial of a 5 ms lag, 4 ms of it before the pacer woke, judged a dial")
	}
	tr.check(time.Now())
	runtime.GC()
	if c, _ := tr.judge(5*ms, 5*ms, 0, false); c != CauseGC {
		t.Errorf("a collection since the check: %v; want gc", c)
	}
	// The runtime parking the thread (here: a Go sleep on a locked thread)
	// with no collection is the Go scheduler.
	runtime.LockOSThread()
	tr.check(time.Now())
	time.Sleep(2 * ms)
	c, _ := tr.judge(5*ms, 5*ms, 0, false)
	runtime.UnlockOSThread()
	if c != CauseGoScheduler && c != CauseGC { // a collection may come on its own
		t.Errorf("the thread parked by the runtime: %v; want go-scheduler", c)
	}
	// A stall is judged once, at its first late send; an on-time send ends it.
	tr.check(time.Now())
	due := time.Now()
	c1, _ := tr.at(0, due, due.Add(ms), due.Add(5*ms), true)
	c2, _ := tr.at(1, due, due.Add(ms), due.Add(6*ms), false)
	c3, _ := tr.at(2, due, due, due, false)
	if c1 != CauseDial || c2 != CauseDial || c3 != CauseNone {
		t.Errorf("stall of a dial then on time: %v %v %v; want dial dial none", c1, c2, c3)
	}
	if got := tr.Counts(); got[CauseDial] != 2 {
		t.Errorf("counted %d dial-late sends; want 2", got[CauseDial])
	}
}

func TestCauseOf(t *testing.T) {
	var s Second
	if c := CauseOf(s); c != CauseNone {
		t.Errorf("no late sends: %v", c)
	}
	s.Late, s.LateBy[CauseDial], s.LateBy[CauseOSRunQueue] = 7, 2, 5
	s.Evidence[CauseOSRunQueue] = 3.25
	if c := CauseOf(s); c != CauseOSRunQueue {
		t.Errorf("5 run-queue, 2 dial: %v", c)
	}
	if e := Evidence(s, CauseOSRunQueue); e != "5 of 7 late sends: the pacer's thread waited up to 3.25 ms in the OS run queue (another process had the CPU)" {
		t.Errorf("evidence %q", e)
	}
	for c := CauseGC; c < NumCauses; c++ {
		if got, ok := ParseCause(c.String()); !ok || got != c {
			t.Errorf("ParseCause(%q) = %v %v", c.String(), got, ok)
		}
	}
}
