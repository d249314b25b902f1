package notification

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/wire"
)

// FuzzHandler sends requests of any method, path, body and stamps header
// to the notification service's handler, in process: POST /v1/notify
// parses the reaction body as the reaction service's POST /v1/reactions
// does (svc.DecodeReaction), POST /admin/provider parses the provider
// switches. Every answer is one the API documents, a 400 names what was
// wrong, and nothing panics or hangs (the call timeout bounds a provider
// slowed by the fuzzer's switches).
func FuzzHandler(f *testing.F) {
	s, err := New(Config{Provider: provider.Config{P50: time.Microsecond, P99: 2 * time.Microsecond}, CallTimeout: 20 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	h := s.Handler()
	good := wire.Reaction{ID: 7, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: time.Now().UnixNano()}
	paths := []string{wire.PathNotify, wire.PathProvider, wire.PathLedger, wire.PathLedgerInterval, wire.PathHopInterval, wire.PathStats, wire.PathHealth, wire.PathLedgerReset, "/nope"}
	f.Add(uint8(0), true, good.Append(nil), []byte("1767225600000000000,1767225600000100000"))
	f.Add(uint8(0), true, []byte(`{"id":0}`), []byte("x"))
	f.Add(uint8(0), true, []byte(strings.Repeat("x", wire.MaxBodyBytes+1)), []byte{})
	f.Add(uint8(1), true, []byte(`{"outage":false,"slowdown":1e300,"delay":"1ms","error_rate":0.5}`), []byte{})
	f.Add(uint8(1), true, []byte(`{"delay":"-1s"}`), []byte{})
	f.Add(uint8(1), true, []byte(`{"slowdown":1,"extra":1}`), []byte{})
	f.Add(uint8(2), false, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, path uint8, post bool, body, stamps []byte) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(paths[int(path)%len(paths)])
		if post {
			ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		}
		ctx.Request.SetBody(body)
		ctx.Request.Header.SetBytesV(wire.HeaderStamps, stamps)
		h(&ctx)
		status := ctx.Response.StatusCode()
		switch status {
		case 200, 404, 405, 500, 502, 503, 504:
		case 400:
			var e struct{ Error string }
			if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Error == "" {
				t.Fatalf("400 without an error naming the problem: %q", ctx.Response.Body())
			}
		default:
			t.Fatalf("%s %s: status %d", ctx.Method(), ctx.Path(), status)
		}
		// Switches the fuzzer set must not outlive the call: restore them.
		one, zero, off := 1.0, provider.Duration(0), false
		if err := s.Provider().Set(provider.Switches{Outage: &off, Slowdown: &one, Delay: &zero}); err != nil {
			t.Fatal(err)
		}
	})
}
