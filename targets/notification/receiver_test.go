package notification

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

var testReceived atomic.Int64

// registerTestReceiver registers a receiver on /v1/test-in that counts and
// takes the one notify path.
var registerTestReceiver = sync.OnceValue(func() error {
	return RegisterReceiver("test-in", func(s *Service) (Receiver, error) {
		return Receiver{
			Path: "/v1/test-in",
			Handler: func(ctx *fasthttp.RequestCtx) {
				var r wire.Reaction
				if !svc.DecodeReaction(ctx, &r) {
					return
				}
				testReceived.Add(1)
				dup, err := s.Notify(context.Background(), &r, ledger.Stamps{NotifIn: time.Now().UnixNano()})
				if err != nil {
					svc.WriteError(ctx, fasthttp.StatusBadGateway, err.Error())
					return
				}
				if dup {
					ctx.Response.Header.Set(wire.HeaderDuplicate, "1")
				}
			},
			Stats: func() any { return map[string]int64{"received": testReceived.Load()} },
		}, nil
	})
})

func TestReceiverTakesTheNotifyPath(t *testing.T) {
	if err := registerTestReceiver(); err != nil {
		t.Fatal(err)
	}
	if err := RegisterReceiver("test-in", func(*Service) (Receiver, error) { return Receiver{}, nil }); err == nil {
		t.Error("a second receiver of the same name was registered")
	}
	before := testReceived.Load()
	s, c := newTestService(t, Config{Provider: provider.Config{P50: time.Microsecond, P99: 2 * time.Microsecond}})
	body := (&wire.Reaction{ID: 42, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: time.Now().UnixNano()}).Append(nil)
	for range 2 {
		if code, msg := do(t, c, "POST", "/v1/test-in", body); code != 200 {
			t.Fatalf("receiver: %d %s", code, msg)
		}
	}
	if got := testReceived.Load() - before; got != 2 {
		t.Errorf("the receiver took %d, want 2", got)
	}
	if c := s.Ledger().Counts(); c.Delivered != 1 || c.Deduplicated != 1 {
		t.Errorf("ledger %+v: want the one notify path's dedup: 1 delivered, 1 deduplicated", c)
	}
	_, raw := do(t, c, "GET", wire.PathStats, nil)
	var st struct {
		HTTP      struct{ OK int64 }          `json:"http"`
		Receivers map[string]map[string]int64 `json:"receivers"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if st.HTTP.OK != 0 || st.Receivers["test-in"]["received"] < 2 {
		t.Errorf("stats %s: want no /v1/notify call and the receiver's counter", raw)
	}
}

func TestReceiverRefusesTakenPaths(t *testing.T) {
	saved := receiverMakers
	t.Cleanup(func() { receiverMakers = saved })
	h := func(*fasthttp.RequestCtx) {}
	for _, tc := range []struct {
		name string
		rs   []Receiver
		want string
	}{
		{"own path", []Receiver{{Path: wire.PathNotify, Handler: h}}, "own path"},
		{"two on one path", []Receiver{{Path: "/v1/x", Handler: h}, {Path: "/v1/x", Handler: h}}, "receiver r0's path"},
		{"no handler", []Receiver{{Path: "/v1/x"}}, "handler"},
		{"no slash", []Receiver{{Path: "v1/x", Handler: h}}, "path"},
	} {
		receiverMakers = nil
		for i, r := range tc.rs {
			if err := RegisterReceiver("r"+string(rune('0'+i)), func(*Service) (Receiver, error) { return r, nil }); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := New(Config{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
