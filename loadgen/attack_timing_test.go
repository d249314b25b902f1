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
// does not matter here). The "new connection" variants close every
// connection after one request (KeepAlive false): the cost of each
// connection the attack opens, as when the requests in flight grow:
//
//	go test ./loadgen -run XXX -bench Attack -benchmem
func BenchmarkAttack(b *testing.B) {
	target := nullEndpoint(b)
	for _, v := range []struct {
		client    Client
		name      string
		keepAlive bool
	}{
		{ClientFastHTTP, "fasthttp", true},
		{ClientNetHTTP, "net/http", true},
		{ClientFastHTTP, "fasthttp/new connection", false},
		{ClientNetHTTP, "net/http/new connection", false},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			// Not b.Loop: one Attack sends all b.N hits, as a run does.
			const rate = 1e6
			pacer, err := NewStagePacer(Stage{For: time.Duration(float64(b.N) / rate * float64(time.Second)), From: rate, To: rate})
			if err != nil {
				b.Fatal(err)
			}
			rec := NewRecorder(RecorderOptions{Due: pacer.Due})
			o := AttackOptions{Target: target, Pacer: pacer, KeepAlive: v.keepAlive, Client: v.client, Slack: time.Minute, MaxWorkers: 64}
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

// BenchmarkRampStart is sync's ramp start in small: the target answers
// each request after a second (sync's surge answers in ~1.4 s), and the
// rate climbs from 200 to 1,400 rps over 5 s, so the requests in flight,
// and with them the workers and connections, grow from none to ~1,400.
// It reports the hits sent more than 1 ms late (late-%) and the send lag's
// p99 and max: what made sync's ramp seconds generator-bound. One op is
// one whole ramp (use -benchtime 1x); the target runs in this process.
//
//	go test ./loadgen -run XXX -bench RampStart -benchtime 1x -count 3
func BenchmarkRampStart(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		time.Sleep(time.Second)
		c.SetStatusCode(fasthttp.StatusAccepted)
	}}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })
	target := "http://" + ln.Addr().String()
	for _, client := range Clients {
		b.Run(string(client), func(b *testing.B) {
			var late, sent int64
			var lagP99, lagMax float64
			for b.Loop() {
				pacer, err := NewStagePacer(Stage{For: 5 * time.Second, From: 200, To: 1400}, Stage{For: time.Second, From: 1400, To: 1400})
				if err != nil {
					b.Fatal(err)
				}
				rec := NewRecorder(RecorderOptions{Due: pacer.Due})
				o := AttackOptions{Target: target, Pacer: pacer, KeepAlive: true, Client: client, Workers: 32, MaxWorkers: 4096}
				if err := Attack(context.Background(), o, rec); err != nil {
					b.Fatal(err)
				}
				t := rec.Totals()
				late, sent = late+t.Late, sent+t.Requests
				lag := rec.SendLag()
				lagP99 = max(lagP99, float64(lag.ValueAtQuantile(99))/1000)
				lagMax = max(lagMax, float64(lag.Max())/1000)
				time.Sleep(time.Second) // let the connections close
			}
			b.ReportMetric(100*float64(late)/float64(max(sent, 1)), "late-%")
			b.ReportMetric(lagP99, "lag-p99-ms")
			b.ReportMetric(lagMax, "lag-max-ms")
		})
	}
}
