package notification

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/wire"
)

// BenchmarkNotify measures the path every reaction takes in the
// notification service, one at a time: through the HTTP handler (the sync
// path) and through the consumer's handling of a Kafka message (the async
// path), for a first delivery and for a duplicate, which skips the
// provider. The provider's latency is 1 ns, so a first delivery's figure is
// the service's own work plus the provider's slot and a timer that fires at
// once.
//
// Run it as go test -run XXX -bench Notify -benchmem ./targets/notification/
func BenchmarkNotify(b *testing.B) {
	r := wire.Reaction{User: "user-1", Post: "post-9", Author: "author-3", Kind: "like", SentAt: 1700000000123456789}
	stampsHeader := wire.AppendStamps(nil, 1700000000123456789, 1700000000223456789)
	for _, v := range []struct {
		name      string
		kafka     bool
		duplicate bool
	}{
		{"http/first", false, false},
		{"http/duplicate", false, true},
		{"kafka/first", true, false},
		{"kafka/duplicate", true, true},
	} {
		b.Run(v.name, func(b *testing.B) {
			s, err := New(Config{Provider: provider.Config{P50: time.Nanosecond, P99: time.Nanosecond}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			h := s.Handler()
			var (
				ctx  fasthttp.RequestCtx
				body []byte
				msg  = kafka.Message{Headers: []kafka.Header{{Key: wire.KafkaStamps, Value: stampsHeader}}}
			)
			notify := func(id uint64) {
				r.ID = id
				body = r.Append(body[:0])
				if v.kafka {
					msg.Value = body
					if !s.handle(context.Background(), nil, &msg, time.Now().UnixNano()) {
						b.Fatal("not handled")
					}
					return
				}
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI(wire.PathNotify)
				ctx.Request.Header.SetBytesV(wire.HeaderStamps, stampsHeader)
				ctx.Request.SetBody(body)
				h(&ctx)
				if ctx.Response.StatusCode() != fasthttp.StatusOK {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			notify(1)
			b.ReportAllocs()
			id := uint64(1)
			for b.Loop() {
				if !v.duplicate {
					id = id%wire.MaxID + 1
				}
				notify(id)
			}
		})
	}
}
