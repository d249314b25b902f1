package reaction

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/kafkagroup"
	"github.com/commbench/commbench/targets/wire"
)

// asyncNotifier produces the reaction to Kafka, keyed by author, and answers
// 202 once the broker acknowledged it on all in-sync replicas. The
// notification service's consumer group delivers it later.
type asyncNotifier struct {
	out *kafkaOut
}

func newAsyncNotifier(cfg Config) *asyncNotifier {
	return &asyncNotifier{out: newKafkaOut(cfg)}
}

func (n *asyncNotifier) notify(r *wire.Reaction, tr trace, body []byte) outcome {
	return n.out.produce(r, tr, body)
}

// producer writes one message with acks=all and returns once it was
// acknowledged: what kafkagroup.NewSender returns, or a fake in tests.
type producer interface {
	Produce(ctx context.Context, msg kafka.Message) error
	Close(ctx context.Context) error
}

// kafkaOut is the way to Kafka of the async path and of hybrid's
// fallback: a producer, and a bound on the produces waiting for an ack.
//
// The bound is what keeps the service's memory flat when Kafka acks slower
// than reactions arrive: each waiting produce holds a handler goroutine, its
// connection's buffers and the message. Past MaxInFlight a reaction is
// answered 503 at once instead of joining the wait (load shedding, counted
// in Stats.ProduceShed), as the sync path answers 503 when it finds no free
// connection. At 5,000 rps with the broker paused (SIGSTOP) for 3 s, the
// service's peak RSS was 168 MB without the bound (the generator's 4,096
// workers all waiting) and 65 MB with the default 1024, which shed ~14,000
// of the pause's 15,000 reactions instead of holding them (2 cores, noisy;
// see issue 13).
type kafkaOut struct {
	p        producer
	timeout  time.Duration
	max      int64
	inFlight atomic.Int64
	peak     atomic.Int64 // the most in flight at once
	shed     atomic.Int64
}

func newKafkaOut(cfg Config) *kafkaOut {
	return &kafkaOut{p: newProducer(cfg), timeout: cfg.Timeout, max: int64(cfg.MaxInFlight)}
}

// newProducer returns what the reaction is produced with
// (kafkagroup.NewSender), its connections secured as cfg.Security says.
func newProducer(cfg Config) producer {
	return kafkagroup.NewSender(cfg.Brokers, cfg.Topic, kafkagroup.TransportOrDefault(cfg.Security.Transport()), cfg.BatchTimeout, cfg.Timeout)
}

// errShed is the answer to a reaction past MaxInFlight.
var errShed = errors.New("produce: too many reactions waiting for Kafka's ack; try again later")

// produce writes one reaction, with the trace context and the hop stamps in
// message headers, and waits for the ack: 202, or 504 when the ack did not
// come in time, 503 when Kafka refused or could not be reached, or when
// MaxInFlight produces wait already.
//
// t_handoff is stamped as the produce begins: the stamp travels in the
// message, so it cannot be the ack's time; the produce, the ack and the
// batching wait are in the queue hop, with the time in Kafka.
func (k *kafkaOut) produce(r *wire.Reaction, tr trace, body []byte) outcome {
	n := k.inFlight.Add(1)
	defer k.inFlight.Add(-1)
	if n > k.max {
		k.shed.Add(1)
		return outcome{status: fasthttp.StatusServiceUnavailable, path: "async", err: errShed}
	}
	for p := k.peak.Load(); n > p && !k.peak.CompareAndSwap(p, n); p = k.peak.Load() {
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	// The producer may hold the message until its batch is sent: give it
	// its own copies of the value and headers, not the caller's buffers.
	msg := kafka.Message{
		Key:   []byte(r.Author),
		Value: append([]byte(nil), body...),
		Headers: []kafka.Header{
			{Key: wire.HeaderTraceparent, Value: append([]byte(nil), tr.parent...)},
			{Key: wire.KafkaStamps, Value: wire.AppendStamps(make([]byte, 0, 40), tr.apiIn, time.Now().UnixNano())},
		},
	}
	err := k.p.Produce(ctx, msg)
	switch {
	case err == nil:
		return outcome{status: fasthttp.StatusAccepted, path: "async"}
	case errors.Is(err, context.DeadlineExceeded):
		return outcome{status: fasthttp.StatusGatewayTimeout, path: "async", err: fmt.Errorf("produce: no ack within %v: %w", k.timeout, err)}
	default:
		return outcome{status: fasthttp.StatusServiceUnavailable, path: "async", err: fmt.Errorf("produce: %w", err)}
	}
}

func (k *kafkaOut) close(ctx context.Context) error { return k.p.Close(ctx) }

func (n *asyncNotifier) close(ctx context.Context) error { return n.out.close(ctx) }

func (n *asyncNotifier) breaker() string { return "" }
