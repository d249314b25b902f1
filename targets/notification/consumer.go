package notification

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/targets/kafkagroup"
	"github.com/commbench/commbench/targets/wire"
)

const hdrV2 = hdrhistogram.V2CompressedEncodingCookieBase

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// consumerCounters are the group loop's (package kafkagroup) and what
// handling a message adds.
type consumerCounters struct {
	group                         kafkagroup.Counters
	retries, deadLettered, poison atomic.Int64
}

// ConsumerStats are the consumer group's counters in this process.
type ConsumerStats struct {
	Fetched      int64 `json:"fetched"`
	Handled      int64 `json:"handled"`
	Retries      int64 `json:"retries"`
	DeadLettered int64 `json:"dead_lettered"`
	Poison       int64 `json:"poison"` // messages that were not a valid reaction
	FetchErrors  int64 `json:"fetch_errors"`
	CommitErrors int64 `json:"commit_errors"`
	InFlight     int64 `json:"in_flight"`
}

func (c *consumerCounters) snapshot() ConsumerStats {
	g := c.group.Snapshot()
	return ConsumerStats{
		Fetched:      g.Fetched,
		Handled:      g.Handled,
		Retries:      c.retries.Load(),
		DeadLettered: c.deadLettered.Load(),
		Poison:       c.poison.Load(),
		FetchErrors:  g.FetchErrors,
		CommitErrors: g.CommitErrors,
		InFlight:     g.InFlight,
	}
}

// Consume runs the consumer group until ctx is done: Consumers group
// members, each with up to Concurrency messages in flight (package
// kafkagroup). A message's offset is committed only after it, and every
// message before it in its partition, was handled: delivered, found to be a
// duplicate, or dead-lettered (at-least-once). When ctx is done, fetching
// stops and the messages in flight get grace to finish; what does not
// finish is not committed and will be redelivered.
func (s *Service) Consume(ctx context.Context, grace time.Duration) error {
	if len(s.cfg.Brokers) == 0 {
		return errors.New("consume: no Kafka brokers given")
	}
	sec := s.cfg.Security
	dlq := &kafka.Writer{
		Addr:         kafka.TCP(s.cfg.Brokers...),
		Transport:    kafkagroup.TransportOrDefault(sec.Transport()),
		Topic:        s.cfg.DeadLetterTopic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, // a literal Writer defaults to no acks
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: 10 * time.Second,
	}
	defer dlq.Close()
	gc := kafkagroup.Config{
		Brokers:     s.cfg.Brokers,
		Topic:       s.cfg.Topic,
		Group:       s.cfg.Group,
		Consumers:   s.cfg.Consumers,
		Concurrency: s.cfg.Concurrency,
		Dialer:      sec.Dialer(),
		Log:         s.cfg.Log,
	}
	handle := func(work context.Context, m *kafka.Message, fetched time.Time) bool {
		return s.handle(work, dlq, m, fetched.UnixNano())
	}
	return kafkagroup.Run(ctx, grace, gc, handle, &s.consumer.group)
}

// handle delivers one message, retrying failures with exponential backoff
// and jitter, and dead-letters it after the last attempt. It reports
// whether the message was handled (and may be committed). notifIn is when
// it was fetched: the retries and their backoff are in the processing hop.
func (s *Service) handle(ctx context.Context, dlq *kafka.Writer, m *kafka.Message, notifIn int64) bool {
	var r wire.Reaction
	if err := wire.Decode(m.Value, &r); err != nil {
		s.consumer.poison.Add(1)
		return s.deadLetter(ctx, dlq, m, 0, 0, err)
	}
	st := stamps(kafkagroup.Header(m, wire.KafkaStamps), notifIn)
	backoff := s.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		_, err := s.notify(ctx, &r, st)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if attempt >= s.cfg.Retries {
			return s.deadLetter(ctx, dlq, m, r.ID, attempt, err)
		}
		s.consumer.retries.Add(1)
		// Full jitter keeps retrying consumers from hitting a recovering
		// provider in lockstep.
		if !kafkagroup.Sleep(ctx, time.Duration(rand.Int64N(int64(backoff))+1)) {
			return false
		}
		backoff = min(2*backoff, s.cfg.RetryMaxBackoff)
	}
}

// deadLetter writes m to the dead-letter topic with why it was given up on,
// retrying the write until it succeeds or ctx is done.
func (s *Service) deadLetter(ctx context.Context, dlq *kafka.Writer, m *kafka.Message, id uint64, attempts int, cause error) bool {
	dm := kafka.Message{
		Key:   m.Key,
		Value: m.Value,
		Headers: append([]kafka.Header{
			{Key: "commbench-error", Value: []byte(cause.Error())},
			{Key: "commbench-attempts", Value: strconv.AppendInt(nil, int64(attempts), 10)},
			{Key: "commbench-source", Value: fmt.Appendf(nil, "%s/%d/%d", m.Topic, m.Partition, m.Offset)},
		}, m.Headers...), // the trace context and stamps go along
	}
	for {
		err := dlq.WriteMessages(ctx, dm)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return false
		}
		s.cfg.Log.Warn("dead-letter write failed; retrying", "topic", s.cfg.DeadLetterTopic, "err", err)
		if !kafkagroup.Sleep(ctx, time.Second) {
			return false
		}
	}
	if id != 0 {
		s.ledger.DeadLetter(id)
	}
	s.consumer.deadLettered.Add(1)
	return true
}
