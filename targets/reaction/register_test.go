package reaction

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/wire"
)

// fakeNotifier is a registered pattern's sender: it notes what it was
// given and answers 201 on the "sync" path.
type fakeNotifier struct {
	calls  atomic.Int64
	lastID atomic.Uint64
	apiIn  atomic.Int64
	closed atomic.Bool
}

func (f *fakeNotifier) Notify(r *wire.Reaction, tr Trace, body []byte) Outcome {
	f.calls.Add(1)
	f.lastID.Store(r.ID)
	f.apiIn.Store(tr.APIIn)
	if !wire.ValidTraceparent(tr.Parent) || !strings.Contains(string(body), `"post-9"`) {
		return Outcome{Status: fasthttp.StatusBadGateway, Path: "sync", Err: errors.New("no trace or no body")}
	}
	return Outcome{Status: fasthttp.StatusCreated, Path: "sync"}
}

func (f *fakeNotifier) Close(context.Context) error { f.closed.Store(true); return nil }
func (f *fakeNotifier) Breaker() string             { return "closed" }

func TestRegisterNotifier(t *testing.T) {
	// The registry is global: registering a pattern here would show in
	// every later test's pattern list. The refusals need none; the
	// registered notifier is tried below through its adapter, and a
	// registration end to end in harness.TestFourthPattern.
	for _, tc := range []struct {
		name string
		p    pattern.Pattern
		f    func(Config) (Notifier, error)
		want string
	}{
		{"not a pattern", "grpc", func(Config) (Notifier, error) { return nil, nil }, "not a pattern"},
		{"a built-in pattern", pattern.Sync, func(Config) (Notifier, error) { return nil, nil }, "has one"},
		{"nil", pattern.Sync, nil, "nil"},
	} {
		if err := RegisterNotifier(tc.p, tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}

	s, err := New(Config{Mode: pattern.Sync, NotifyURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	s.notifier.close(context.Background())
	fake := &fakeNotifier{}
	s.notifier = registered{fake}
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI(wire.PathReactions)
	ctx.Request.SetBody((&wire.Reaction{ID: 7, User: "user-1", Post: "post-9", Author: "author-3", Kind: "like", SentAt: 1}).Append(nil))
	s.Handler()(&ctx)
	if got := ctx.Response.StatusCode(); got != 201 {
		t.Fatalf("status %d: %s", got, ctx.Response.Body())
	}
	if got := string(ctx.Response.Header.Peek(wire.HeaderPath)); got != "sync" {
		t.Errorf("path header %q, want the notifier's sync", got)
	}
	if fake.calls.Load() != 1 || fake.lastID.Load() != 7 || fake.apiIn.Load() == 0 {
		t.Errorf("the notifier got %d calls, id %d, api-in %d; want 1, 7 and a time", fake.calls.Load(), fake.lastID.Load(), fake.apiIn.Load())
	}
	if st := s.Stats(); st.SyncOK != 1 || st.Breaker != "closed" {
		t.Errorf("stats %+v: want one sync OK, the notifier's breaker", st)
	}
	if err := s.Close(context.Background()); err != nil || !fake.closed.Load() {
		t.Errorf("Close: %v, notifier closed %v", err, fake.closed.Load())
	}
}
