package notification

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

func newTestService(t *testing.T, cfg Config) (*Service, *fasthttp.Client) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	go svc.NewServer("test", s.Handler()).Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return s, &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func do(t *testing.T, c *fasthttp.Client, method, path string, body []byte) (int, string) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://notification" + path)
	req.Header.SetMethod(method)
	req.SetBody(body)
	if err := c.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode(), string(resp.Body())
}

func TestNotifyEndpoint(t *testing.T) {
	s, c := newTestService(t, Config{Provider: provider.Config{P50: time.Millisecond, P99: time.Millisecond}})
	r := wire.Reaction{ID: 42, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: time.Now().UnixNano()}
	body := r.Append(nil)

	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		want   int
	}{
		{"first delivery", "POST", wire.PathNotify, body, 200},
		{"a duplicate is skipped but answered 200", "POST", wire.PathNotify, body, 200},
		{"bad body", "POST", wire.PathNotify, []byte(`{}`), 400},
		{"GET is not allowed", "GET", wire.PathNotify, nil, 405},
		{"outage on", "POST", wire.PathProvider, []byte(`{"outage":true}`), 200},
		{"a new reaction during the outage", "POST", wire.PathNotify, (&wire.Reaction{ID: 43, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil), 503},
		{"unknown switch", "POST", wire.PathProvider, []byte(`{"outtage":true}`), 400},
		{"bad slowdown", "POST", wire.PathProvider, []byte(`{"slowdown":-1}`), 400},
		{"outage off, errors on", "POST", wire.PathProvider, []byte(`{"outage":false,"error_rate":1}`), 200},
		{"a failed delivery", "POST", wire.PathNotify, (&wire.Reaction{ID: 44, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil), 502},
		{"unknown path", "GET", "/nope", nil, 404},
	}
	for _, tt := range tests {
		if got, text := do(t, c, tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s: got %d %s, want %d", tt.name, got, text, tt.want)
		}
	}
	st := s.Stats()
	if st.Ledger.Delivered != 1 || st.Ledger.Deduplicated != 1 || st.HTTP.Outage != 1 || st.HTTP.Failed != 1 || st.HTTP.Bad != 2 {
		t.Errorf("stats: %+v", st)
	} // The hop meter counts the notify calls, not the bad requests: the
	// delivery and the duplicate succeeded, the outage and the failure not.
	code, text := do(t, c, "GET", wire.PathHopInterval, nil)
	var hi wire.HopInterval
	if err := json.Unmarshal([]byte(text), &hi); code != 200 || err != nil {
		t.Fatalf("hop interval: %d %s (%v)", code, text, err)
	}
	if hi.Calls != 4 || hi.Errors != 2 || hi.Rejected != 0 || hi.Breaker != "" || hi.Hist == "" {
		t.Errorf("hop interval: %+v, want 4 calls, 2 errors", hi)
	}
}

func TestNotifyTimesOutWaitingForCapacity(t *testing.T) {
	s, c := newTestService(t, Config{
		Provider:    provider.Config{P50: time.Hour, P99: time.Hour, Capacity: 1},
		CallTimeout: 30 * time.Millisecond,
	})
	go s.notify(context.Background(), &wire.Reaction{ID: 1, SentAt: 1}, ledger.Stamps{}) // holds the only slot
	for s.provider.State().InFlight == 0 {
		time.Sleep(time.Millisecond)
	}
	if got, text := do(t, c, "POST", wire.PathNotify, (&wire.Reaction{ID: 2, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil)); got != 504 {
		t.Errorf("got %d %s, want 504", got, text)
	}
}

func TestConsumeNeedsBrokers(t *testing.T) {
	s, _ := New(Config{})
	if err := s.Consume(context.Background(), time.Second); err == nil {
		t.Error("got nil error")
	}
	if _, err := New(Config{Consumers: -1}); err == nil {
		t.Error("negative consumers: got nil error")
	}
}
