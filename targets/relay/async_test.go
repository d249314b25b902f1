package relay

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/wire"
)

// The async relay runs against an embedded Kafka-protocol broker (kfake):
// these tests check what arrives and what is committed, not Kafka's timings.

const partitions = 4

func startKafka(t *testing.T, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// message i as a reaction service would produce it: keyed by author, with
// the trace context and stamps in headers, and one header a relay does not
// know, which must travel on all the same.
func message(i int) kafka.Message {
	r := wire.Reaction{ID: uint64(i), User: "u", Post: "p", Author: fmt.Sprint("a", i%5), Kind: "like", SentAt: 1700000000000000000 + int64(i)}
	return kafka.Message{
		Key:   []byte(r.Author),
		Value: r.Append(nil),
		Headers: []kafka.Header{
			{Key: wire.HeaderTraceparent, Value: []byte(wire.Traceparent(r.ID))},
			{Key: wire.KafkaStamps, Value: fmt.Appendf(nil, "%d,%d", r.SentAt+1, r.SentAt+2)},
			{Key: "x-extra", Value: []byte{0, 1, 2}},
		},
	}
}

func produce(t *testing.T, brokers []string, topic string, n int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = message(i + 1)
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
}

// startAsync runs an async relay's consumer group until the test ends.
func startAsync(t *testing.T, cfg Config) *Service {
	t.Helper()
	cfg.Mode = pattern.Async
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Consume(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume: %v", err)
		}
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// consumeAll reads n records of topic from the start, without a group.
func consumeAll(t *testing.T, brokers []string, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < n {
		f := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d records, want %d", topic, len(recs), n)
		}
		f.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		recs = append(recs, f.Records()...)
	}
	return recs
}

// waitCommitted polls until group has committed the end of every partition
// of topic.
func waitCommitted(t *testing.T, brokers []string, group, topic string) {
	t.Helper()
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	parts := []int{0, 1, 2, 3}
	var ends, committed map[int]int64
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {}}}
		for _, p := range parts {
			req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(p))
		}
		lo, err := cl.ListOffsets(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		of, err := cl.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		if err != nil {
			t.Fatal(err)
		}
		ends, committed = map[int]int64{}, map[int]int64{}
		for _, p := range lo.Topics[topic] {
			ends[p.Partition] = p.LastOffset
		}
		for _, p := range of.Topics[topic] {
			committed[p.Partition] = p.CommittedOffset
		}
		if fmt.Sprint(ends) == fmt.Sprint(committed) {
			return
		}
	}
	t.Fatalf("group %s on %s: committed %v, want the ends %v", group, topic, committed, ends)
}

// checkIntact checks that recs are messages 1..n with key, value and
// headers as produced.
func checkIntact(t *testing.T, recs []*kgo.Record, n int) {
	t.Helper()
	seen := map[string]bool{}
	for _, rec := range recs {
		var r wire.Reaction
		if err := wire.Decode(rec.Value, &r); err != nil {
			t.Fatalf("value %q: %v", rec.Value, err)
		}
		want := message(int(r.ID))
		var hdrs []kafka.Header
		for _, h := range rec.Headers {
			hdrs = append(hdrs, kafka.Header{Key: h.Key, Value: h.Value})
		}
		if string(rec.Key) != string(want.Key) || string(rec.Value) != string(want.Value) || fmt.Sprint(hdrs) != fmt.Sprint(want.Headers) {
			t.Errorf("message %d: got key %q value %s headers %q, want %q %s %q", r.ID, rec.Key, rec.Value, hdrs, want.Key, want.Value, want.Headers)
		}
		seen[string(rec.Value)] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages, want %d", len(seen), n)
	}
}

func TestAsyncRelayForwardsAndCommits(t *testing.T) {
	brokers := startKafka(t, "relay.in", "relay.out")
	const n = 200
	produce(t, brokers, "relay.in", n)
	s := startAsync(t, Config{Name: "B", Brokers: brokers, InTopic: "relay.in", OutTopic: "relay.out", Group: "g-relay", Consumers: 2, Concurrency: 8})
	recs := consumeAll(t, brokers, "relay.out", n)
	checkIntact(t, recs, n)
	// Same key, same hash balancer: one author's messages stay on one
	// partition, in order there.
	partOf := map[string]int32{}
	for _, rec := range recs {
		if p, ok := partOf[string(rec.Key)]; ok && p != rec.Partition {
			t.Errorf("key %s on partitions %d and %d", rec.Key, p, rec.Partition)
		}
		partOf[string(rec.Key)] = rec.Partition
	}
	waitCommitted(t, brokers, "g-relay", "relay.in")
	got, err := s.Hop().Interval()
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats().Consumer
	if st.Forwarded < n || got.Calls < n || got.Errors != 0 || st.ProduceErrors != 0 {
		t.Errorf("stats %+v, hop interval %+v; want %d forwarded and calls, no errors", st, got, n)
	}
}

// TestAsyncRelayRetriesUntilTheNextTopicExists: a produce that fails is
// retried, not dropped, and nothing is committed before it succeeds.
func TestAsyncRelayRetriesUntilTheNextTopicExists(t *testing.T) {
	brokers := startKafka(t, "retry.in")
	const n = 20
	produce(t, brokers, "retry.in", n)
	s := startAsync(t, Config{Name: "C", Brokers: brokers, InTopic: "retry.in", OutTopic: "retry.out", Group: "g-retry", Consumers: 1, Concurrency: 4, Timeout: time.Second})
	for deadline := time.Now().Add(60 * time.Second); s.Stats().Consumer.ProduceRetries == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no produce retried: %+v", s.Stats().Consumer)
		}
	}
	cl := &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 5 * time.Second}
	of, err := cl.OffsetFetch(context.Background(), &kafka.OffsetFetchRequest{GroupID: "g-retry", Topics: map[string][]int{"retry.in": {0, 1, 2, 3}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range of.Topics["retry.in"] {
		if p.CommittedOffset > 0 {
			t.Errorf("partition %d committed %d before any produce succeeded", p.Partition, p.CommittedOffset)
		}
	}
	if _, err := cl.CreateTopics(context.Background(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "retry.out", NumPartitions: partitions, ReplicationFactor: 1}}}); err != nil {
		t.Fatal(err)
	}
	checkIntact(t, consumeAll(t, brokers, "retry.out", n), n)
	waitCommitted(t, brokers, "g-retry", "retry.in")
	hi, err := s.Hop().Interval()
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats().Consumer; hi.Errors == 0 || hi.Errors != st.ProduceErrors || hi.Calls != st.ProduceErrors+st.Forwarded {
		t.Errorf("hop interval %+v, stats %+v: want every attempt a call, each failed one an error", hi, st)
	}
}
