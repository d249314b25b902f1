package relay

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/targettest"
	"github.com/commbench/commbench/targets/wire"
)

// These tests run relays on loopback sockets in front of fake next hops;
// they check statuses and counts, never how long something took.

func TestConfigValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name string
		have Config
		want string // the field the error must name; "" for a good config
	}{
		{"sync", Config{Mode: pattern.Sync, NextURL: "http://127.0.0.1:1"}, ""},
		{"async", Config{Mode: pattern.Async, Brokers: []string{"127.0.0.1:1"}, InTopic: "a", OutTopic: "b"}, ""},
		{"no mode", Config{NextURL: "http://127.0.0.1:1"}, "Mode (--mode)"},
		{"unknown mode", Config{Mode: "rpc"}, "Mode (--mode)"},
		{"sync without a URL", Config{Mode: pattern.Sync}, "NextURL (--next-url)"},
		{"sync with an ftp URL", Config{Mode: pattern.Sync, NextURL: "ftp://x:1"}, "NextURL (--next-url)"},
		{"negative timeout", Config{Mode: pattern.Sync, NextURL: "http://x:1", Timeout: -1}, "Timeout (--timeout)"},
		{"negative max conns", Config{Mode: pattern.Sync, NextURL: "http://x:1", MaxConns: -1}, "MaxConns (--max-conns)"},
		{"negative conn wait", Config{Mode: pattern.Sync, NextURL: "http://x:1", ConnWait: -1}, "ConnWait (--conn-wait)"},
		{"negative open for", Config{Mode: pattern.Sync, NextURL: "http://x:1", OpenFor: -1}, "OpenFor (--open-for)"},
		{"async without brokers", Config{Mode: pattern.Async, InTopic: "a", OutTopic: "b"}, "Brokers (--brokers"},
		{"async without an in topic", Config{Mode: pattern.Async, Brokers: []string{"x:1"}, OutTopic: "b"}, "InTopic (--in-topic)"},
		{"async without an out topic", Config{Mode: pattern.Async, Brokers: []string{"x:1"}, InTopic: "a"}, "OutTopic (--out-topic)"},
		{"async to itself", Config{Mode: pattern.Async, Brokers: []string{"x:1"}, InTopic: "a", OutTopic: "a"}, "OutTopic (--out-topic)"},
		{"negative consumers", Config{Mode: pattern.Async, Brokers: []string{"x:1"}, InTopic: "a", OutTopic: "b", Consumers: -1}, "Consumers (--consumers)"},
		{"negative concurrency", Config{Mode: pattern.Async, Brokers: []string{"x:1"}, InTopic: "a", OutTopic: "b", Concurrency: -1}, "Concurrency (--concurrency)"},
	}
	for _, tt := range tests {
		err := tt.have.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: got %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want an error naming %s", tt.name, err, tt.want)
		}
	}
	if _, err := New(Config{Mode: pattern.Sync}); err == nil {
		t.Error("New with a bad config: got nil error")
	}
}

// startRelay serves a sync relay in front of next.
func startRelay(t *testing.T, cfg Config) (*Service, string) {
	t.Helper()
	cfg.Mode = pattern.Sync
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, targettest.Serve(t, s.Handler())
}

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

type answer struct {
	status    int
	body      string
	duplicate string // the HeaderDuplicate header
}

func post(t *testing.T, url string, body []byte, headers map[string]string) answer {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url + wire.PathNotify)
	req.Header.SetMethod("POST")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBody(body)
	if err := (&fasthttp.Client{}).DoTimeout(req, resp, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode(), body: string(resp.Body()), duplicate: string(resp.Header.Peek(wire.HeaderDuplicate))}
}

func reaction(id uint64) []byte {
	return (&wire.Reaction{ID: id, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1700000000000000000}).Append(nil)
}

func TestSyncForwardsBodyAndHeadersAsTheyCame(t *testing.T) {
	var (
		mu   sync.Mutex
		got  []byte
		hdrs = map[string]string{}
	)
	next := targettest.Serve(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		got = append([]byte(nil), ctx.PostBody()...)
		hdrs["path"] = string(ctx.Path())
		hdrs["traceparent"] = string(ctx.Request.Header.Peek(wire.HeaderTraceparent))
		hdrs["stamps"] = string(ctx.Request.Header.Peek(wire.HeaderStamps))
		mu.Unlock()
		ctx.Response.Header.Set(wire.HeaderDuplicate, "1")
		ctx.SetStatusCode(200)
	})
	s, url := startRelay(t, Config{Name: "B", NextURL: next})
	// Not canonical JSON on purpose: the body goes on unchanged, not re-encoded.
	body := []byte(`{"kind":"like", "id":7,"user":"u","post":"p","author":"a","sent_at":5}`)
	tp := wire.Traceparent(7)
	a := post(t, url, body, map[string]string{wire.HeaderTraceparent: tp, wire.HeaderStamps: "11,22"})
	if a.status != 200 || a.duplicate != "1" {
		t.Errorf("got %d %s duplicate=%q, want 200 and the duplicate header", a.status, a.body, a.duplicate)
	}
	mu.Lock()
	defer mu.Unlock()
	if string(got) != string(body) {
		t.Errorf("body: got %s, want %s", got, body)
	}
	if hdrs["path"] != wire.PathNotify || hdrs["traceparent"] != tp || hdrs["stamps"] != "11,22" {
		t.Errorf("next hop saw %v, want path %s, traceparent %s, stamps 11,22", hdrs, wire.PathNotify, tp)
	}
	if st := s.Stats(); st.Received != 1 || st.OK != 1 || st.Dup != 1 || st.Breaker != "" || st.Consumer != nil {
		t.Errorf("stats: %+v", st)
	}
}

func TestSyncStatusMapping(t *testing.T) {
	tests := []struct {
		name     string
		next     func(ctx *fasthttp.RequestCtx, hang <-chan struct{}) // nil: a closed port
		body     []byte
		want     int
		wantBody string
	}{
		{"delivered", func(ctx *fasthttp.RequestCtx, _ <-chan struct{}) { ctx.SetStatusCode(200) }, reaction(1), 200, ""},
		{"next hop unavailable", func(ctx *fasthttp.RequestCtx, _ <-chan struct{}) { ctx.SetStatusCode(503) }, reaction(1), 503, "relay B: next hop answered 503"},
		{"next hop timed out", func(ctx *fasthttp.RequestCtx, _ <-chan struct{}) { ctx.SetStatusCode(504) }, reaction(1), 504, "relay B: next hop answered 504"},
		{"next hop failed", func(ctx *fasthttp.RequestCtx, _ <-chan struct{}) { ctx.SetStatusCode(502) }, reaction(1), 502, "relay B: next hop answered 502"},
		{"unexpected answer", func(ctx *fasthttp.RequestCtx, _ <-chan struct{}) { ctx.SetStatusCode(404) }, reaction(1), 502, "relay B: next hop answered 404"},
		{"too slow for our timeout", func(_ *fasthttp.RequestCtx, hang <-chan struct{}) { <-hang }, reaction(1), 504, "relay B: next hop: fasthttp: timeout"},
		{"connection refused", nil, reaction(1), 503, "relay B: next hop:"},
		{"bad reaction", func(ctx *fasthttp.RequestCtx, _ <-chan struct{}) { ctx.SetStatusCode(200) }, []byte(`{"id":1}`), 400, `field \"user\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := closedPort(t)
			if tt.next != nil {
				// hang holds a handler until the test ends, before its
				// server shuts down.
				hang := make(chan struct{})
				next = targettest.Serve(t, func(ctx *fasthttp.RequestCtx) { tt.next(ctx, hang) })
				t.Cleanup(func() { close(hang) })
			}
			s, url := startRelay(t, Config{Name: "B", NextURL: next, Timeout: 100 * time.Millisecond})
			a := post(t, url, tt.body, nil)
			if a.status != tt.want || !strings.Contains(a.body, tt.wantBody) {
				t.Errorf("got %d %s, want %d %s", a.status, a.body, tt.want, tt.wantBody)
			}
			failed := int64(0)
			if tt.want != 200 {
				failed = 1
			}
			if hi := targettest.HopInterval(t, url); hi.Calls != 1 || hi.Errors != failed || hi.Rejected != 0 || hi.Breaker != "" {
				t.Errorf("hop interval: %+v, want 1 call, %d errors", hi, failed)
			}
			st := s.Stats()
			if n := map[int]int64{200: st.OK, 400: st.Bad, 502: st.S502, 503: st.S503, 504: st.S504}[tt.want]; n != 1 {
				t.Errorf("stats: %+v, want one %d", st, tt.want)
			}
		})
	}
}

func TestBreakerRefusesWhileOpen(t *testing.T) {
	var calls atomic.Int64
	next := targettest.Serve(t, func(ctx *fasthttp.RequestCtx) {
		calls.Add(1)
		ctx.SetStatusCode(503)
	})
	const trip = 3
	s, url := startRelay(t, Config{Name: "C", NextURL: next, Breaker: true, TripFailures: trip, OpenFor: time.Hour})
	if hi := targettest.HopInterval(t, url); hi.Breaker != "closed" {
		t.Errorf("breaker before: got %q, want closed", hi.Breaker)
	}
	const n = 10
	for i := 1; i <= n; i++ {
		a := post(t, url, reaction(uint64(i)), nil)
		open := strings.Contains(a.body, "relay C: circuit open")
		if a.status != 503 || open != (i > trip) {
			t.Errorf("call %d: got %d %s; want 503, circuit open: %v", i, a.status, a.body, i > trip)
		}
	}
	if got := calls.Load(); got != trip {
		t.Errorf("next hop called %d times, want %d (then the breaker is open)", got, trip)
	}
	hi := targettest.HopInterval(t, url)
	if hi.Calls != n || hi.Errors != n || hi.Rejected != n-trip || hi.Opened != 1 || hi.Breaker != "open" {
		t.Errorf("hop interval: %+v, want %d calls and errors, %d rejected, opened once, open", hi, n, n-trip)
	}
	if st := s.Stats(); st.Rejected != n-trip || st.S503 != n || st.Breaker != "open" {
		t.Errorf("stats: %+v", st)
	}
}

func TestAsyncRelayAnswersNoNotify(t *testing.T) {
	s, err := New(Config{Mode: pattern.Async, Name: "B", Brokers: []string{"127.0.0.1:1"}, InTopic: "a", OutTopic: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	url := targettest.Serve(t, s.Handler())
	if a := post(t, url, reaction(1), nil); a.status != 404 || !strings.Contains(a.body, "relay B is async") {
		t.Errorf("got %d %s, want 404", a.status, a.body)
	}
	if sync, _ := New(Config{Mode: pattern.Sync, NextURL: "http://x:1"}); sync.Consume(context.Background(), 0) == nil {
		t.Error("Consume in sync mode: got nil error")
	}
}
