package loadgen

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkAttack sends b.N reactions through Attack, pacing included,
// to a null endpoint on loopback (real sockets; the endpoint runs in this
// process, so ns/op holds its cost too), with each client side by side.
// One op is one request sent, answered and recorded; allocs/op is the
// whole path's (the endpoint's included), so the fasthttp client's goal is
// close to 0. Each attack's rate is far above what the machine can send,
// so the loop runs as fast as the path allows (the hits are late, which
// does not matter here):
//
//	go test ./loadgen -run XXX -bench Attack -benchmem
func BenchmarkAttack(b *testing.B) {
	target := nullEndpoint(b)
	for _, client := range Clients {
		b.Run(string(client), func(b *testing.B) {
			b.ReportAllocs()
			// Not b.Loop: one Attack sends all b.N hits, as a run does.
			const rate = 1e6
			pacer, err := NewStagePacer(Stage{For: time.Duration(float64(b.N) / rate * float64(time.Second)), From: rate, To: rate})
			if err != nil {
				b.Fatal(err)
			}
			rec := NewRecorder(RecorderOptions{Due: pacer.Due})
			o := AttackOptions{Target: target, Pacer: pacer, KeepAlive: true, Client: client, Slack: time.Minute, MaxWorkers: 64}
			b.ResetTimer()
			if err := Attack(context.Background(), o, rec); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := rec.Totals(); got.Accepted != int64(pacer.Total()) {
				b.Fatalf("accepted %d of %d: %+v", got.Accepted, pacer.Total(), got.Drops)
			}
		})
	}
}

// nullEndpoint serves 202 with an id header to every request on loopback
// until the benchmark ends.
func nullEndpoint(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		c.Response.Header.Set("X-Commbench-Id", "1")
		c.SetStatusCode(fasthttp.StatusAccepted)
	}}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}
