package kafkagroup

import (
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
