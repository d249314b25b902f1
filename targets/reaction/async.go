package reaction

import (
	"context"
	"errors"
	"fmt"
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
	w       *kafka.Writer
	timeout time.Duration
}

func newAsyncNotifier(cfg Config) *asyncNotifier {
	return &asyncNotifier{w: newWriter(cfg), timeout: cfg.Timeout}
}

// newWriter sets each kafka-go default that would mislead a benchmark. Its
// connections are secured as cfg.Security says.
func newWriter(cfg Config) *kafka.Writer {
	return kafkagroup.NewWriter(cfg.Brokers, cfg.Topic, kafkagroup.TransportOrDefault(cfg.Security.Transport()), cfg.BatchTimeout, cfg.Timeout)
}

func (n *asyncNotifier) notify(r *wire.Reaction, tr trace, body []byte) outcome {
	return produce(n.w, n.timeout, r, tr, body)
}

// produce writes one reaction, with the trace context and the hop stamps in
// message headers, and waits for the ack: 202, or 504 when the ack did not
// come in time, 503 when Kafka refused or could not be reached.
//
// t_handoff is stamped as the produce begins: the stamp travels in the
// message, so it cannot be the ack's time; the produce, the ack and the
// batching wait are in the queue hop, with the time in Kafka.
func produce(w *kafka.Writer, timeout time.Duration, r *wire.Reaction, tr trace, body []byte) outcome {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// The writer may hold the message until its batch is sent: give it its
	// own copies of the value and headers, not the caller's buffers.
	msg := kafka.Message{
		Key:   []byte(r.Author),
		Value: append([]byte(nil), body...),
		Headers: []kafka.Header{
			{Key: wire.HeaderTraceparent, Value: append([]byte(nil), tr.parent...)},
			{Key: wire.KafkaStamps, Value: wire.AppendStamps(make([]byte, 0, 40), tr.apiIn, time.Now().UnixNano())},
		},
	}
	err := w.WriteMessages(ctx, msg)
	switch {
	case err == nil:
		return outcome{status: fasthttp.StatusAccepted, path: "async"}
	case errors.Is(err, context.DeadlineExceeded):
		return outcome{status: fasthttp.StatusGatewayTimeout, path: "async", err: fmt.Errorf("produce: no ack within %v: %w", timeout, err)}
	default:
		return outcome{status: fasthttp.StatusServiceUnavailable, path: "async", err: fmt.Errorf("produce: %w", err)}
	}
}

func (n *asyncNotifier) close(ctx context.Context) error { return closeWriter(ctx, n.w) }

func (n *asyncNotifier) breaker() string { return "" }

// closeWriter flushes the writer, giving up when ctx is done.
func closeWriter(ctx context.Context, w *kafka.Writer) error {
	done := make(chan error, 1)
	go func() { done <- w.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("flush Kafka writer: %w", ctx.Err())
	}
}
