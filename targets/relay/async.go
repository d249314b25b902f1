package relay

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/targets/kafkagroup"
)

// Consume runs the consumer group (async) until ctx is done: each message
// of InTopic is produced to OutTopic with its key, value and headers (the
// trace context and stamps travel on), and committed only once Kafka
// acknowledged the produce, in order per partition (package kafkagroup).
// When ctx is done, the messages in flight get grace to be produced; what
// was not is not committed and will be redelivered.
func (s *Service) Consume(ctx context.Context, grace time.Duration) error {
	if !s.cfg.Mode.UsesKafka() {
		return fmt.Errorf("relay %s: consume: mode is %s, not async", s.cfg.Name, s.cfg.Mode)
	}
	gc := kafkagroup.Config{
		Brokers:     s.cfg.Brokers,
		Topic:       s.cfg.InTopic,
		Group:       s.cfg.Group,
		Consumers:   s.cfg.Consumers,
		Concurrency: s.cfg.Concurrency,
		Dialer:      s.sec.Dialer(),
		Log:         s.cfg.Log,
	}
	if err := kafkagroup.Run(ctx, grace, gc, s.relay, &s.group); err != nil {
		return fmt.Errorf("relay %s: %w", s.cfg.Name, err)
	}
	return nil
}

// relay produces m to OutTopic, retrying a failed produce with exponential
// backoff and full jitter until it is acknowledged or ctx is done: a
// message is never dropped. It reports whether m may be committed.
//
// Each attempt is a call of the hop meter: the first measured from the
// fetch (so that it holds the wait for a batch as a sync hop's call holds
// its wire), each retry from its own start (the backoff before it is not
// the next hop's time).
func (s *Service) relay(ctx context.Context, m *kafka.Message, fetched time.Time) bool {
	// The producer may keep the message until its batch is sent: Key,
	// Value and Headers are m's own, which the group loop does not reuse.
	out := kafka.Message{Key: m.Key, Value: m.Value, Headers: m.Headers}
	start := fetched
	backoff := RetryBackoff
	for {
		actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
		err := s.w.Produce(actx, out)
		cancel()
		s.hop.Observe(start, err != nil)
		if err == nil {
			s.counts.forwarded.Add(1)
			return true
		}
		s.counts.produceErrors.Add(1)
		if ctx.Err() != nil {
			return false // cut off by shutdown: redelivered after a restart
		}
		s.warnProduce(err)
		// Full jitter keeps the members from hitting a recovering broker in
		// lockstep.
		if !kafkagroup.Sleep(ctx, time.Duration(rand.Int64N(int64(backoff))+1)) {
			return false
		}
		backoff = min(2*backoff, RetryMaxBackoff)
		s.counts.produceRetries.Add(1)
		start = time.Now()
	}
}

// warnProduce logs a failed produce at most once a second: in a broker
// outage every message in flight fails, again and again.
func (s *Service) warnProduce(err error) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.cfg.Log.Warn("produce failed; retrying", "relay", s.cfg.Name, "topic", s.cfg.OutTopic, "produce_errors", s.counts.produceErrors.Load(), "err", err)
}
