// Package targettest holds what the services' tests share: a handler served
// on a loopback port for the length of a test, and a hop's interval read.
package targettest

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// Serve serves h on a free loopback port until the test ends and returns
// its base URL.
func Serve(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, ln, svc.NewServer("test", h), 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// HopInterval reads GET url/v1/hop/interval, failing the test if it cannot.
func HopInterval(t testing.TB, url string) wire.HopInterval {
	t.Helper()
	status, body, err := fasthttp.Get(nil, url+wire.PathHopInterval)
	var hi wire.HopInterval
	if err == nil && status == fasthttp.StatusOK {
		err = json.Unmarshal(body, &hi)
	}
	if err != nil || status != fasthttp.StatusOK {
		t.Fatalf("%s%s: %d %s (%v)", url, wire.PathHopInterval, status, body, err)
	}
	return hi
}
