package notification

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/targets"
)

const hdrV2 = hdrhistogram.V2CompressedEncodingCookieBase

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

type consumerCounters struct {
	fetched, handled, retries, deadLettered, poison, fetchErrors, commitErrors, inFlight atomic.Int64
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
	return ConsumerStats{
		Fetched:      c.fetched.Load(),
		Handled:      c.handled.Load(),
		Retries:      c.retries.Load(),
		DeadLettered: c.deadLettered.Load(),
		Poison:       c.poison.Load(),
		FetchErrors:  c.fetchErrors.Load(),
		CommitErrors: c.commitErrors.Load(),
		InFlight:     c.inFlight.Load(),
	}
}

// Consume runs the consumer group until ctx is done: Consumers group
// members, each with up to Concurrency messages in flight. A message's
// offset is committed only after it, and every message before it in its
// partition, was handled: delivered, found to be a duplicate, or
// dead-lettered (at-least-once). When ctx is done, fetching stops and the
// messages in flight get grace to finish; what does not finish is not
// committed and will be redelivered.
func (s *Service) Consume(ctx context.Context, grace time.Duration) error {
	if len(s.cfg.Brokers) == 0 {
		return errors.New("consume: no Kafka brokers given")
	}
	// TLS and SASL as KAFKA_TLS and KAFKA_SASL_* say (package kafkasec).
	sec, err := kafkasec.FromEnv()
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	dlq := &kafka.Writer{
		Addr:         kafka.TCP(s.cfg.Brokers...),
		Transport:    transportOrDefault(sec.Transport()),
		Topic:        s.cfg.DeadLetterTopic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll, // a literal Writer defaults to no acks
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: 10 * time.Second,
	}
	defer dlq.Close()

	// Work goes on for grace after ctx is done, then is cut off.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	var wg sync.WaitGroup
	errs := make([]error, s.cfg.Consumers)
	for i := range s.cfg.Consumers {
		wg.Go(func() { errs[i] = s.consume(ctx, work, sec.Dialer(), dlq, i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Service) consume(ctx, work context.Context, dialer *kafka.Dialer, dlq *kafka.Writer, member int) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           s.cfg.Brokers,
		GroupID:           s.cfg.Group,
		Topic:             s.cfg.Topic,
		Dialer:            dialer, // nil: kafka-go's default, plaintext
		MinBytes:          1,
		MaxBytes:          4 << 20,
		MaxWait:           MaxWait,
		CommitInterval:    CommitInterval,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		ReadBackoffMin:    10 * time.Millisecond,
		ReadBackoffMax:    200 * time.Millisecond,
		// kafka-go waits 5 s before retrying a failed join; on a fresh broker
		// the first join fails while Kafka creates __consumer_offsets.
		JoinGroupBackoff: 500 * time.Millisecond,
		ErrorLogger: kafka.LoggerFunc(func(msg string, args ...any) {
			text := fmt.Sprintf(msg, args...)
			level := slog.LevelWarn
			if strings.Contains(text, "Rebalance In Progress") || strings.Contains(text, "Group Coordinator Not Available") {
				level = slog.LevelDebug // a member joined or left, or a fresh broker: routine
			}
			s.cfg.Log.Log(context.Background(), level, "kafka reader", "member", member, "msg", text)
		}),
	})
	var (
		tr   tracker
		wg   sync.WaitGroup
		slot = make(chan struct{}, s.cfg.Concurrency)
	)
	defer func() {
		wg.Wait()
		r.Close() // commits what was handled
	}()
	for {
		select {
		case slot <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		m, err := r.FetchMessage(ctx)
		if err != nil {
			<-slot
			if ctx.Err() != nil {
				return nil
			}
			s.consumer.fetchErrors.Add(1)
			s.cfg.Log.Warn("fetch failed; retrying", "member", member, "err", err)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		notifIn := time.Now().UnixNano()
		s.consumer.fetched.Add(1)
		tr.fetched(m.Partition, m.Offset)
		s.consumer.inFlight.Add(1)
		wg.Go(func() {
			defer func() { s.consumer.inFlight.Add(-1); <-slot }()
			if !s.handle(work, dlq, &m, notifIn) {
				return // cut off by shutdown: not committed, redelivered later
			}
			s.consumer.handled.Add(1)
			if off, ok := tr.done(m.Partition, m.Offset); ok {
				if err := r.CommitMessages(work, kafka.Message{Topic: m.Topic, Partition: m.Partition, Offset: off}); err != nil {
					s.consumer.commitErrors.Add(1)
				}
			}
		})
	}
}

// transportOrDefault keeps a nil *kafka.Transport from becoming a non-nil
// RoundTripper: nil means kafka-go's default transport.
func transportOrDefault(t *kafka.Transport) kafka.RoundTripper {
	if t == nil {
		return nil
	}
	return t
}

// handle delivers one message, retrying failures with exponential backoff
// and jitter, and dead-letters it after the last attempt. It reports
// whether the message was handled (and may be committed). notifIn is when
// it was fetched: the retries and their backoff are in the processing hop.
func (s *Service) handle(ctx context.Context, dlq *kafka.Writer, m *kafka.Message, notifIn int64) bool {
	var r targets.Reaction
	if err := targets.Decode(m.Value, &r); err != nil {
		s.consumer.poison.Add(1)
		return s.deadLetter(ctx, dlq, m, 0, 0, err)
	}
	st := stamps(header(m, targets.KafkaStamps), notifIn)
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
		if !sleep(ctx, time.Duration(rand.Int64N(int64(backoff))+1)) {
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
		if !sleep(ctx, time.Second) {
			return false
		}
	}
	if id != 0 {
		s.ledger.DeadLetter(id)
	}
	s.consumer.deadLettered.Add(1)
	return true
}

// header returns the value of m's first header named key, or nil.
func header(m *kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// sleep waits d or until ctx is done; it reports whether it slept the whole d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tracker keeps, per partition, the offsets in flight in fetch order, so
// that only an offset with every earlier one handled is committed. Messages
// are handled concurrently and finish out of order; committing offset n
// tells Kafka that everything below n is done.
type tracker struct {
	mu    sync.Mutex
	parts map[int]*partition
}

type partition struct {
	pending  []int64        // in-flight offsets, ascending
	finished map[int64]bool // handled offsets still behind an unfinished one
}

func (t *tracker) fetched(part int, off int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.parts == nil {
		t.parts = make(map[int]*partition)
	}
	p := t.parts[part]
	// A rebalance can hand back a partition from its committed offset: the
	// old in-flight offsets are then superseded.
	if p == nil || (len(p.pending) > 0 && off <= p.pending[len(p.pending)-1]) {
		p = &partition{finished: make(map[int64]bool)}
		t.parts[part] = p
	}
	p.pending = append(p.pending, off)
}

// done marks off handled and returns the offset to commit (one past the
// last contiguous handled offset), if the head of the partition moved.
func (t *tracker) done(part int, off int64) (commit int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[part]
	if p == nil || len(p.pending) == 0 || off < p.pending[0] {
		return 0, false
	}
	p.finished[off] = true
	last := int64(-1)
	for len(p.pending) > 0 && p.finished[p.pending[0]] {
		last = p.pending[0]
		delete(p.finished, last)
		p.pending = p.pending[1:]
	}
	if last < 0 {
		return 0, false
	}
	// kafka-go commits Message.Offset+1: pass the last handled offset.
	return last, true
}
