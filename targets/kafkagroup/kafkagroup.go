// Package kafkagroup is the consumer loop the services share (the
// notification service and the async relays): N group members in a
// process, each with up to M messages in flight, and a message's offset
// committed only once it, and every message before it in its partition, was
// handled (at-least-once). What a message's handling is, is the caller's.
package kafkagroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
)

const (
	// CommitInterval is how often the consumers commit handled offsets. A
	// handled message is committed within this time; on a crash, at most this
	// much handled work is redelivered, and the ledger deduplicates it.
	CommitInterval = 200 * time.Millisecond
	// MaxWait bounds how long a fetch waits when a partition has no data;
	// with MinBytes 1 the broker answers as soon as a message exists, so this
	// only sets how fast an idle consumer notices shutdown and rebalances.
	MaxWait = 500 * time.Millisecond
)

// Config says which group reads which topic, and how many at once.
type Config struct {
	Brokers     []string
	Topic       string
	Group       string
	Consumers   int           // group members in this process, at least 1
	Concurrency int           // messages in flight per member, at least 1
	Dialer      *kafka.Dialer // nil: kafka-go's default, plaintext
	Log         *slog.Logger  // default slog.Default()
}

// Validate names the first missing or out-of-range field.
func (c Config) Validate() error {
	switch {
	case len(c.Brokers) == 0:
		return errors.New("consume: no Kafka brokers given")
	case c.Topic == "":
		return errors.New("consume: no topic given")
	case c.Group == "":
		return errors.New("consume: no consumer group given")
	case c.Consumers < 1:
		return fmt.Errorf("consumers: must be at least 1, got %d", c.Consumers)
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency: must be at least 1, got %d", c.Concurrency)
	}
	return nil
}

// Handler handles one message. ctx is cancelled grace after shutdown
// began; fetched is when the message was fetched. It reports whether the
// message was handled and may be committed; false (cut off by shutdown)
// leaves it, and every later one in its partition, to be redelivered.
type Handler func(ctx context.Context, m *kafka.Message, fetched time.Time) bool

// Counters are the loop's counters; the caller keeps them, so that they
// outlive one Run.
type Counters struct {
	fetched, handled, fetchErrors, commitErrors, inFlight atomic.Int64
}

// Stats is a snapshot of Counters.
type Stats struct {
	Fetched      int64
	Handled      int64 // handled messages: may be committed
	FetchErrors  int64
	CommitErrors int64
	InFlight     int64
}

// Snapshot returns the counters now.
func (c *Counters) Snapshot() Stats {
	return Stats{
		Fetched:      c.fetched.Load(),
		Handled:      c.handled.Load(),
		FetchErrors:  c.fetchErrors.Load(),
		CommitErrors: c.commitErrors.Load(),
		InFlight:     c.inFlight.Load(),
	}
}

// Run runs the consumer group until ctx is done: cfg.Consumers members,
// each with up to cfg.Concurrency messages in flight, each handled by h.
// When ctx is done, fetching stops and the messages in flight get grace to
// finish; what does not finish is not committed and will be redelivered.
// c may be nil.
func Run(ctx context.Context, grace time.Duration, cfg Config, h Handler, c *Counters) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if c == nil {
		c = new(Counters)
	}
	// Work goes on for grace after ctx is done, then is cut off.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stop()

	var (
		wg sync.WaitGroup
		// One tracker for every member: a message one member handles
		// must not let another commit past one it still handles.
		tr   Tracker
		errs = make([]error, cfg.Consumers)
	)
	for i := range cfg.Consumers {
		wg.Go(func() { errs[i] = consume(ctx, work, cfg, h, c, &tr, i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func consume(ctx, work context.Context, cfg Config, h Handler, c *Counters, tr *Tracker, member int) error {
	// Each setting below replaces a kafka-go default on purpose.
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           cfg.Brokers,
		GroupID:           cfg.Group,
		Topic:             cfg.Topic,
		Dialer:            cfg.Dialer,
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
			cfg.Log.Log(context.Background(), level, "kafka reader", "member", member, "msg", text)
		}),
	})
	var (
		wg   sync.WaitGroup
		slot = make(chan struct{}, cfg.Concurrency)
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
			c.fetchErrors.Add(1)
			cfg.Log.Warn("fetch failed; retrying", "member", member, "err", err)
			Sleep(ctx, 200*time.Millisecond)
			continue
		}
		fetched := time.Now()
		c.fetched.Add(1)
		tr.Fetched(m.Partition, m.Offset)
		c.inFlight.Add(1)
		wg.Go(func() {
			defer func() { c.inFlight.Add(-1); <-slot }()
			if !h(work, &m, fetched) {
				return // cut off by shutdown: not committed, redelivered later
			}
			c.handled.Add(1)
			if off, ok := tr.Done(m.Partition, m.Offset); ok {
				if err := r.CommitMessages(work, kafka.Message{Topic: m.Topic, Partition: m.Partition, Offset: off}); err != nil {
					c.commitErrors.Add(1)
				}
			}
		})
	}
}

// TransportOrDefault keeps a nil *kafka.Transport from becoming a non-nil
// RoundTripper: nil means kafka-go's default transport.
func TransportOrDefault(t *kafka.Transport) kafka.RoundTripper {
	if t == nil {
		return nil
	}
	return t
}

// Header returns the value of m's first header named key, or nil.
func Header(m *kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// Sleep waits d or until ctx is done; it reports whether it slept the whole d.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Tracker keeps, per partition, the offsets fetched and not yet handled,
// so that an offset is committed only when every offset below it that this
// process fetched was handled. Messages are handled concurrently and finish
// out of order; committing offset n tells Kafka that everything below n is
// done. One Tracker serves every group member of a process (Run shares it),
// across generations. The zero value is ready.
//
// It does not trust the order of fetches. kafka-go's Reader can hand a
// FetchMessage call that began before a rebalance one message of the old
// generation after the new one started (its FetchMessage keeps messages
// whose version is at least the one it saw on entry, and unsubscribe does
// not drain the queue): an old offset above the new start, for a
// partition that may now be another member's. The tracker this replaced
// kept one in-flight list per member and started a partition afresh
// whenever an offset went backwards, so such a message made it forget
// offsets still being handled, and a member could commit past a message
// another member (or itself) had not handled: a message lost if its
// handler was then cut off, or, at the end of a run, lag 0 while it was
// still being retried. Here nothing in flight is forgotten: an offset is
// in flight from its first fetch to its first handling, whichever member
// fetched it, and the commit never passes the lowest one in flight.
type Tracker struct {
	mu    sync.Mutex
	parts map[int]*partition
}

type partition struct {
	inFlight map[int64]struct{} // fetched, not yet handled
	first    int64              // the first offset fetched: nothing below it is ours to commit
	next     int64              // one past the highest offset handled
	last     int64              // the last offset returned to commit, -1 none
}

// Fetched records that off of partition part is in flight. Fetching an
// offset again (a rebalance hands the partition back from its committed
// offset) keeps it in flight until it is handled once more.
func (t *Tracker) Fetched(part int, off int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.parts == nil {
		t.parts = make(map[int]*partition)
	}
	p := t.parts[part]
	if p == nil {
		p = &partition{inFlight: make(map[int64]struct{}), first: off, next: off, last: -1}
		t.parts[part] = p
	}
	p.inFlight[off] = struct{}{}
	if off <= p.last {
		// Fetched again from below what was committed: that commit may
		// have been lost with its generation, so it is made again once
		// the commit point gets back there.
		p.last = off - 1
	}
}

// Done marks off handled and, if that moved the commit point, returns the
// last offset handled with no fetched offset below it still in flight:
// the offset to commit (kafka-go commits one past it). An offset that is
// not in flight (handled already, by another member or before a
// rebalance) moves nothing.
func (t *Tracker) Done(part int, off int64) (commit int64, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.parts[part]
	if p == nil {
		return 0, false
	}
	if _, in := p.inFlight[off]; !in {
		return 0, false
	}
	delete(p.inFlight, off)
	p.next = max(p.next, off+1)
	upTo := p.next
	for o := range p.inFlight { // at most Consumers x Concurrency offsets
		upTo = min(upTo, o)
	}
	commit = upTo - 1
	if commit < p.first || commit == p.last {
		return 0, false
	}
	p.last = commit
	return commit, true
}
