package broker_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// BenchmarkProduce measures produce latency with acks=all from kafka-go, at
// an open-model 1,000 messages/s (one message sent every millisecond, each
// in its own WriteMessages call, whatever the broker does), against each
// kind of broker, for two batch timeouts. Each iteration is one message;
// run it as
//
//	go test -run XXX -bench Produce -benchtime 5000x ./broker/
//
// p50-µs and p99-µs are the figures; ns/op is just the pacing.
func BenchmarkProduce(b *testing.B) {
	for _, bk := range brokers {
		for _, batch := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/batch=%v", bk.name, batch), func(b *testing.B) {
				benchProduce(b, bk.get(b), batch)
			})
		}
	}
}

func benchProduce(b *testing.B, br *broker.Broker, batch time.Duration) {
	ctx := context.Background()
	topic := fmt.Sprintf("commbench.bench.%d", time.Now().UnixNano())
	c, err := broker.NewClient(br.Addrs, kafkasec.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateTopics(ctx, 3, topic); err != nil {
		b.Fatal(err)
	}
	defer c.DeleteTopics(ctx, topic)
	w := &kafka.Writer{
		Addr:         kafka.TCP(br.Addrs...),
		Topic:        topic,
		RequiredAcks: kafka.RequireAll,   // the struct literal's default is none
		BatchTimeout: batch,              // the default is 1 s
		Balancer:     &kafka.Hash{},      // by key, as the reaction service does
		WriteTimeout: 10 * time.Second,   //
		Transport:    &kafka.Transport{}, // its own connections
	}
	defer w.Close()
	// Warm up: metadata and connections.
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("warm"), Value: []byte("up")}); err != nil {
		b.Fatal(err)
	}

	var (
		mu   sync.Mutex
		h    = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		wg   sync.WaitGroup
		errs int
	)
	const interval = time.Millisecond // 1,000 messages/s
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		due := start.Add(time.Duration(i) * interval)
		i++
		time.Sleep(time.Until(due))
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			t0 := time.Now()
			err := w.WriteMessages(ctx, kafka.Message{Key: []byte("author-" + strconv.Itoa(n%100)), Value: []byte("reaction")})
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			_ = h.RecordValue(d.Microseconds())
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	if errs > 0 {
		b.Errorf("%d of %d writes failed", errs, i)
	}
	b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-µs")
	b.ReportMetric(float64(h.Max()), "max-µs")
}

// BenchmarkLag measures one lag sample (Metadata, ListOffsets and
// OffsetFetch on a kept Client) on an 8-partition topic: what the run's
// sampler pays every second.
func BenchmarkLag(b *testing.B) {
	for _, bk := range brokers {
		b.Run(bk.name, func(b *testing.B) {
			br := bk.get(b)
			ctx := context.Background()
			topic := fmt.Sprintf("commbench.bench.lag.%d", time.Now().UnixNano())
			c, err := broker.NewClient(br.Addrs, kafkasec.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := c.CreateTopics(ctx, 8, topic); err != nil {
				b.Fatal(err)
			}
			defer c.DeleteTopics(ctx, topic)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := c.Lag(ctx, topic+".group", topic); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
