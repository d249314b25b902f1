package reaction

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/wire"
)

// ackingProducer acknowledges every message at once: the async handler's
// own cost, without a broker.
type ackingProducer struct{}

func (ackingProducer) Produce(context.Context, kafka.Message) error { return nil }
func (ackingProducer) Close(context.Context) error                  { return nil }

// BenchmarkHandler measures one POST /v1/reactions through the service's
// handler, one request at a time, per mode and notification path:
//
//   - sync, hybrid: the notification service is a fasthttp server on an
//     in-memory listener that answers 200 at once;
//   - async/ack-at-once: a producer that acknowledges at once, so the
//     figure is the handler's own work (decode, store, encode, headers);
//   - async/kfake-producer and async/kfake-writer-2ms: a real produce to an
//     embedded kfake broker on loopback, waiting for its ack, with
//     kafkagroup.Producer (sent at once: one round trip) and with the
//     kafka.Writer of --batch-timeout 2ms (every lone message waits the
//     window). kfake's timings are not Kafka's: compare the two, not
//     against a broker (broker.BenchmarkProducers does that).
//
// Run it as go test -run XXX -bench Handler -benchmem ./targets/reaction/
func BenchmarkHandler(b *testing.B) {
	r := wire.Reaction{User: "user-1", Post: "post-9", Author: "author-3", Kind: "like", SentAt: 1700000000123456789}
	ln := downstream(b, func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(200) })
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, "commbench.bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer kf.Close()
	for _, v := range []struct {
		name  string
		mode  pattern.Pattern
		batch time.Duration
		fake  producer // replaces the Kafka producer when set
		want  int
	}{
		{"sync", pattern.Sync, 0, nil, 201},
		{"hybrid", pattern.Hybrid, 0, nil, 201},
		{"async/ack-at-once", pattern.Async, 0, ackingProducer{}, 202},
		{"async/kfake-producer", pattern.Async, 0, nil, 202},
		{"async/kfake-writer-2ms", pattern.Async, 2 * time.Millisecond, nil, 202},
	} {
		b.Run(v.name, func(b *testing.B) {
			s, err := New(Config{Mode: v.mode, NotifyURL: "http://notification", Brokers: kf.ListenAddrs(), Topic: "commbench.bench", BatchTimeout: v.batch})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			switch n := s.notifier.(type) {
			case *syncNotifier:
				n.client.Dial = func(string) (net.Conn, error) { return ln.Dial() }
			case *hybridNotifier:
				n.sync.client.Dial = func(string) (net.Conn, error) { return ln.Dial() }
			}
			if v.fake != nil {
				s.kafkaOut().p = v.fake
			}
			h := s.Handler()
			var (
				ctx  fasthttp.RequestCtx
				body []byte
			)
			serve := func(id uint64) {
				r.ID = id // a new reaction each time, as from the generator
				body = r.Append(body[:0])
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI(wire.PathReactions)
				ctx.Request.SetBody(body)
				h(&ctx)
				if ctx.Response.StatusCode() != v.want {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			serve(1 << 40) // connections, metadata
			b.ReportAllocs()
			id := uint64(0)
			for b.Loop() {
				id++
				serve(id)
			}
		})
	}
}
