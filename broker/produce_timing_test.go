package broker_test

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/targets/kafkagroup"
)

// benchBrokers points BenchmarkProducers at a running broker (the one
// `commbench broker up` started, so that Kafka's ProducerPerformance can be
// run against the same one in the same sitting) instead of the package's
// own local broker.
var (
	benchBrokers = flag.String("bench.brokers", "", "BenchmarkProducers: host:port of a running broker; empty starts a local one")
	benchRates   = flag.String("bench.rates", "400,5000", "BenchmarkProducers: messages/s, comma-separated")
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

// producerVariant is one way to produce a reaction and wait for its ack.
type producerVariant struct {
	name string
	// open returns the produce function, a report of produce requests and
	// messages sent since the last call, and a close.
	open func(addrs []string, topic string) (produce func(context.Context, kafka.Message) error, sent func() (reqs, msgs int64), close func())
}

var producerVariants = []producerVariant{
	// What the reaction service did: kafka.Writer, a batch leaves when full
	// (100) or when its BatchTimeout fires.
	{"writer-2ms", writerVariant(2 * time.Millisecond)},
	// The same with a window close to the timer's resolution.
	{"writer-50us", writerVariant(50 * time.Microsecond)},
	// No batching: one kafka.Client.Produce per message, concurrent
	// requests on as many pooled connections as are in flight.
	{"client-per-message", clientVariant},
	// kafkagroup.Producer: sent at once when the partition has nothing in
	// flight; what arrives meanwhile goes in the next request.
	{"producer", producerVariantOpen},
	// Not kafka-go: franz-go's ProduceSync with linger 0, idempotent (its
	// default), as a reference for what another Go client gives.
	{"franz-go", franzVariant},
}

func writerVariant(batch time.Duration) func([]string, string) (func(context.Context, kafka.Message) error, func() (int64, int64), func()) {
	return func(addrs []string, topic string) (func(context.Context, kafka.Message) error, func() (int64, int64), func()) {
		w := kafkagroup.NewWriter(addrs, topic, &kafka.Transport{}, batch, 10*time.Second)
		return func(ctx context.Context, m kafka.Message) error { return w.WriteMessages(ctx, m) },
			func() (int64, int64) { st := w.Stats(); return st.Writes, st.Messages },
			func() { w.Close() }
	}
}

func clientVariant(addrs []string, topic string) (func(context.Context, kafka.Message) error, func() (int64, int64), func()) {
	tr := &kafka.Transport{}
	c := &kafka.Client{Addr: kafka.TCP(addrs...), Transport: tr, Timeout: 10 * time.Second}
	md, err := c.Metadata(context.Background(), &kafka.MetadataRequest{Topics: []string{topic}})
	var ids []int
	if err == nil && len(md.Topics) == 1 {
		for _, p := range md.Topics[0].Partitions {
			ids = append(ids, p.ID)
		}
	}
	var n atomic.Int64
	bal := &kafka.Hash{}
	return func(ctx context.Context, m kafka.Message) error {
			if len(ids) == 0 {
				return fmt.Errorf("no partitions for %s (%v)", topic, err)
			}
			n.Add(1)
			res, err := c.Produce(ctx, &kafka.ProduceRequest{
				Topic: topic, Partition: bal.Balance(m, ids...), RequiredAcks: kafka.RequireAll,
				Records: kafka.NewRecordReader(kafka.Record{Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers}),
			})
			if err != nil {
				return err
			}
			return res.Error
		},
		func() (int64, int64) { x := n.Swap(0); return x, x },
		tr.CloseIdleConnections
}

func franzVariant(addrs []string, topic string) (func(context.Context, kafka.Message) error, func() (int64, int64), func()) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
	return func(ctx context.Context, m kafka.Message) error {
			if err != nil {
				return err
			}
			return cl.ProduceSync(ctx, &kgo.Record{Key: m.Key, Value: m.Value}).FirstErr()
		},
		func() (int64, int64) { return 0, 0 }, // no count of requests
		func() {
			if cl != nil {
				cl.Close()
			}
		}
}

func producerVariantOpen(addrs []string, topic string) (func(context.Context, kafka.Message) error, func() (int64, int64), func()) {
	p := &kafkagroup.Producer{Addr: addrs, Topic: topic, Transport: &kafka.Transport{}}
	return p.Produce,
		func() (int64, int64) { st := p.Stats(); return st.Requests, st.Messages },
		func() { p.Close(context.Background()) }
}

// BenchmarkProducers compares the ways to produce one reaction with
// acks=all and wait for its ack, open-model: a message is due every 1/rate
// whatever the broker does, and its latency counts from when it was due.
// 400/s is the ci profile's rate, 5000/s a surge's (-bench.rates sets
// others). Each iteration is one
// message, 100 bytes with a key of 100 authors, to an 8-partition topic.
// Against the broker `commbench broker up` started, beside Kafka's own
// ProducerPerformance, run it as
//
//	go test -run XXX -bench Producers -benchtime 4000x ./broker/ -bench.brokers 127.0.0.1:PORT
//
// p50-µs, p99-µs and max-µs are the figures, msgs/req the batching; ns/op is
// just the pacing.
func BenchmarkProducers(b *testing.B) {
	var addrs []string
	if *benchBrokers != "" {
		addrs = strings.Split(*benchBrokers, ",")
	} else {
		addrs = localKafka(b).Addrs
	}
	for _, r := range strings.Split(*benchRates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || rate < 1 {
			b.Fatalf("-bench.rates: %q is not a rate", r)
		}
		for _, v := range producerVariants {
			b.Run(fmt.Sprintf("rate=%d/%s", rate, v.name), func(b *testing.B) {
				benchProducer(b, addrs, v, rate)
			})
		}
	}
}

func benchProducer(b *testing.B, addrs []string, v producerVariant, rate int) {
	ctx := context.Background()
	topic := fmt.Sprintf("commbench.bench.%d", time.Now().UnixNano())
	c, err := broker.NewClient(addrs, kafkasec.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateTopics(ctx, 8, topic); err != nil {
		b.Fatal(err)
	}
	defer c.DeleteTopics(ctx, topic)
	produce, sent, closeFn := v.open(addrs, topic)
	defer closeFn()
	value := []byte(strings.Repeat("r", 100))
	// Warm up: metadata, a connection per partition, the broker's JIT.
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Go(func() {
			_ = produce(ctx, kafka.Message{Key: []byte("author-" + strconv.Itoa(i%100)), Value: value})
		})
		time.Sleep(time.Second / 400)
	}
	wg.Wait()
	sent()

	var (
		mu   sync.Mutex
		h    = hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
		errs int
	)
	interval := time.Second / time.Duration(rate)
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		due := start.Add(time.Duration(i) * interval)
		i++
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			err := produce(ctx, kafka.Message{Key: []byte("author-" + strconv.Itoa(i%100)), Value: value})
			d := time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				return
			}
			_ = h.RecordValue(d.Microseconds())
		})
	}
	wg.Wait()
	b.StopTimer()
	reqs, msgs := sent()
	if errs > 0 {
		b.Errorf("%d of %d produces failed", errs, i)
	}
	b.ReportMetric(float64(h.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "p99-µs")
	b.ReportMetric(float64(h.Max()), "max-µs")
	if reqs > 0 {
		b.ReportMetric(float64(msgs)/float64(reqs), "msgs/req")
	}
}
