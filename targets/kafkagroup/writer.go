package kafkagroup

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// NewWriter returns the writer the services produce with (the reaction
// service to the reactions topic, an async relay to the next hop's), each
// kafka-go default that would mislead a benchmark replaced. transport nil is
// kafka-go's default, plaintext; timeout bounds one write's wait for the
// ack, and batchTimeout how long a message waits for its batch to fill.
func NewWriter(brokers []string, topic string, transport kafka.RoundTripper, batchTimeout, timeout time.Duration) *kafka.Writer {
	return &kafka.Writer{
		Addr:      kafka.TCP(brokers...),
		Transport: transport,
		Topic:     topic,
		Balancer:  &kafka.Hash{}, // key = author: one author's reactions stay in order
		// A Writer literal defaults to RequireNone: fire and forget.
		RequiredAcks: kafka.RequireAll,
		// The default 1 s would make each acknowledged write wait a second.
		// Concurrent writes still share batches within this window.
		BatchTimeout: batchTimeout,
		BatchSize:    100,
		WriteTimeout: timeout,
		ReadTimeout:  timeout,
		MaxAttempts:  3,
		// kafka-go has no idempotent producer: a retried batch can be written
		// twice. The notification service deduplicates by reaction id.
		AllowAutoTopicCreation: false,
	}
}

// NewSender returns what a service produces its messages with, one at a
// time, waiting for each ack: a *Producer (sent at once when the partition
// is idle, batched with what arrives while a request is out), or, with
// batchTimeout above zero, a kafka.Writer from NewWriter that waits that
// long to fill a batch (what the services used before; kept to compare).
func NewSender(brokers []string, topic string, transport kafka.RoundTripper, batchTimeout, timeout time.Duration) interface {
	Produce(ctx context.Context, msg kafka.Message) error
	Close(ctx context.Context) error
} {
	if batchTimeout > 0 {
		return WriterSender{NewWriter(brokers, topic, transport, batchTimeout, timeout)}
	}
	return &Producer{Addr: brokers, Topic: topic, Transport: transport, WriteTimeout: timeout}
}

// WriterSender gives a kafka.Writer Producer's methods.
type WriterSender struct{ W *kafka.Writer }

// Produce writes msg and waits for its batch's ack.
func (s WriterSender) Produce(ctx context.Context, msg kafka.Message) error {
	return s.W.WriteMessages(ctx, msg)
}

// Close flushes the writer, giving up when ctx is done.
func (s WriterSender) Close(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.W.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("flush Kafka writer: %w", ctx.Err())
	}
}
