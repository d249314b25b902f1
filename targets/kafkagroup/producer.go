package kafkagroup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// Defaults for the zero value of Producer fields.
const (
	DefaultMaxBatch     = 100
	DefaultMaxAttempts  = 3
	DefaultWriteTimeout = 10 * time.Second
)

// ErrClosed is Produce's answer once Close was called.
var ErrClosed = errors.New("kafka producer closed")

// Producer writes messages to one topic with acks=all and waits for each
// message's ack, batching by what is in flight rather than by a timer: a
// partition with no produce request outstanding sends a message at once;
// the messages that arrive while its request is out go together in the next
// one, up to MaxBatch (group commit). At low load a message waits only for
// its own round trip; under load a batch holds what arrived during one
// round trip, so the batches grow with the load and no timer is involved.
//
// kafka.Writer instead sends a batch when it is full or when its
// BatchTimeout fires, so at low load every message waits the whole window
// (kafka-go has no flush-when-idle option; segmentio/kafka-go#1339 proposes
// one). As with kafka.Writer, one request per partition is in flight at a
// time, so one key's messages stay in order, and a retried request can be
// written twice (kafka-go has no idempotent producer).
//
// Set the exported fields before the first Produce. The zero value of each
// field but Addr and Topic takes a documented default.
type Producer struct {
	Addr      []string           // bootstrap brokers
	Topic     string             // the one topic it writes to
	Transport kafka.RoundTripper // nil: kafka-go's default transport, plaintext
	// Balancer picks a message's partition; nil is &kafka.Hash{} (by key,
	// as the Writer the services used before).
	Balancer kafka.Balancer
	// MaxBatch is the most messages in one produce request; default
	// DefaultMaxBatch.
	MaxBatch int
	// MaxAttempts is how often a request is sent when the broker answers
	// with a temporary error or the connection breaks; default
	// DefaultMaxAttempts.
	MaxAttempts int
	// WriteTimeout bounds one produce request's round trip; default
	// DefaultWriteTimeout.
	WriteTimeout time.Duration

	requests, messages atomic.Int64 // sent since the last Stats

	mu     sync.Mutex
	client *kafka.Client
	parts  []*outPartition // by position in ids
	ids    []int           // the topic's partition ids
	closed bool
	wg     sync.WaitGroup // the partitions' send loops
}

// outPartition is one partition's queue and its send loop's wake-up.
type outPartition struct {
	id    int
	mu    sync.Mutex
	queue []*pending
	// closed is set by Close, under mu: nothing joins the queue after it.
	closed bool
	wake   chan struct{} // capacity 1: "the queue is not empty"
	quit   chan struct{} // closed by Close: send what is queued, then end
}

// pending is one message waiting for its ack. done has capacity 1 so that
// the send loop never waits for a caller that gave up.
type pending struct {
	msg  kafka.Message // Key, Value, Headers and Time
	done chan error
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// Produce writes msg and returns when the broker acknowledged it on all
// in-sync replicas, or with the error that ended its attempts, or with
// ctx's error. Only msg's Key, Value, Headers and Time are sent. msg's
// slices must not change until Produce returns, nor after it returned ctx's
// error: the message may still be sent.
func (p *Producer) Produce(ctx context.Context, msg kafka.Message) error {
	part, err := p.partition(ctx, msg)
	if err != nil {
		return err
	}
	pd := pendingPool.Get().(*pending)
	pd.msg = kafka.Message{Time: msg.Time, Key: msg.Key, Value: msg.Value, Headers: msg.Headers}
	part.mu.Lock()
	if part.closed {
		part.mu.Unlock()
		pendingPool.Put(pd)
		return ErrClosed
	}
	part.queue = append(part.queue, pd)
	part.mu.Unlock()
	select {
	case part.wake <- struct{}{}:
	default: // already awake or about to look at the queue
	}
	select {
	case err := <-pd.done:
		pd.msg = kafka.Message{}
		pendingPool.Put(pd)
		return err
	case <-ctx.Done():
		// pd stays with the send loop, which sends it and drops it.
		return ctx.Err()
	}
}

func bytesOrNil(b []byte) kafka.Bytes {
	if b == nil {
		return nil
	}
	return kafka.NewBytes(b)
}

// partition returns msg's partition, reading the topic's partitions and
// starting their send loops on the first call.
func (p *Producer) partition(ctx context.Context, msg kafka.Message) (*outPartition, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if p.parts == nil {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
	}
	id := p.balancer().Balance(msg, p.ids...)
	for i, x := range p.ids {
		if x == id {
			return p.parts[i], nil
		}
	}
	return nil, fmt.Errorf("produce to %s: the balancer chose partition %d, which the topic does not have", p.Topic, id)
}

func (p *Producer) balancer() kafka.Balancer {
	if p.Balancer == nil {
		p.Balancer = &kafka.Hash{}
	}
	return p.Balancer
}

// start reads the topic's partitions and starts one send loop for each.
// The caller holds p.mu.
func (p *Producer) start(ctx context.Context) error {
	if len(p.Addr) == 0 || p.Topic == "" {
		return errors.New("kafka producer: Addr and Topic must be set")
	}
	p.client = &kafka.Client{Addr: kafka.TCP(p.Addr...), Transport: p.Transport, Timeout: p.writeTimeout()}
	md, err := p.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{p.Topic}})
	if err != nil {
		return fmt.Errorf("produce to %s: metadata: %w", p.Topic, err)
	}
	var ids []int
	for _, t := range md.Topics {
		if t.Name != p.Topic {
			continue
		}
		if t.Error != nil {
			return fmt.Errorf("produce to %s: %w", p.Topic, t.Error)
		}
		for _, pt := range t.Partitions {
			ids = append(ids, pt.ID)
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("produce to %s: %w", p.Topic, kafka.UnknownTopicOrPartition)
	}
	p.ids = ids
	p.parts = make([]*outPartition, len(ids))
	for i, id := range ids {
		part := &outPartition{id: id, wake: make(chan struct{}, 1), quit: make(chan struct{})}
		p.parts[i] = part
		p.wg.Go(func() { p.sendLoop(part) })
	}
	return nil
}

// sendLoop sends part's queue, at most MaxBatch messages a request, one
// request at a time, until Close; then it sends what is left and ends.
func (p *Producer) sendLoop(part *outPartition) {
	maxBatch := p.MaxBatch
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	var batch []*pending
	for {
		part.mu.Lock()
		n := min(len(part.queue), maxBatch)
		batch = append(batch[:0], part.queue[:n]...)
		rest := copy(part.queue, part.queue[n:])
		clear(part.queue[rest:])
		part.queue = part.queue[:rest]
		part.mu.Unlock()
		if n == 0 {
			select {
			case <-part.wake:
				continue
			case <-part.quit:
				part.mu.Lock()
				empty := len(part.queue) == 0
				part.mu.Unlock()
				if empty {
					return
				}
				continue
			}
		}
		err := p.send(part.id, batch)
		p.requests.Add(1)
		p.messages.Add(int64(len(batch)))
		for i, pd := range batch {
			pd.done <- err
			batch[i] = nil
		}
	}
}

// send produces batch to partition id, trying again after a temporary
// error. Each attempt gets records of its own, in a slice of its own: an
// attempt that gave up (its context ended) may leave kafka-go's connection
// still reading the records it was given, so a retry must neither rewind
// those (what this did before, with Seek) nor reuse their slice.
func (p *Producer) send(id int, batch []*pending) error {
	attempts := p.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	var err error
	for a := range attempts {
		if a > 0 {
			time.Sleep(time.Duration(a) * 100 * time.Millisecond)
		}
		recs := make([]kafka.Record, 0, len(batch))
		for _, pd := range batch {
			m := &pd.msg
			recs = append(recs, kafka.Record{Time: m.Time, Key: bytesOrNil(m.Key), Value: bytesOrNil(m.Value), Headers: m.Headers})
		}
		err = p.produceOnce(id, recs)
		if err == nil || !retriable(err) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("produce %d messages to %s/%d: %w", len(batch), p.Topic, id, err)
	}
	return nil
}

func (p *Producer) produceOnce(id int, recs []kafka.Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.writeTimeout())
	defer cancel()
	res, err := p.client.Produce(ctx, &kafka.ProduceRequest{
		Topic:        p.Topic,
		Partition:    id,
		RequiredAcks: kafka.RequireAll,
		Records:      kafka.NewRecordReader(recs...),
	})
	if err != nil {
		return err
	}
	if res.Error != nil {
		return res.Error
	}
	for _, e := range res.RecordErrors {
		return e
	}
	return nil
}

// retriable reports the errors kafka.Writer tries again after: a broker's
// temporary error (not the leader, …) or a broken connection.
func retriable(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (p *Producer) writeTimeout() time.Duration {
	if p.WriteTimeout > 0 {
		return p.WriteTimeout
	}
	return DefaultWriteTimeout
}

// ProducerStats counts what a Producer sent: Messages/Requests is the mean
// batch.
type ProducerStats struct {
	Requests int64 // produce requests, a retried one counted once
	Messages int64
}

// Stats returns the counts since the last call, like kafka.Writer's Stats.
func (p *Producer) Stats() ProducerStats {
	return ProducerStats{Requests: p.requests.Swap(0), Messages: p.messages.Swap(0)}
}

// Close sends what is queued, waits for its acks and ends the send loops,
// giving up when ctx is done. A Produce after Close returns ErrClosed.
func (p *Producer) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for _, part := range p.parts {
		part.mu.Lock()
		part.closed = true
		part.mu.Unlock()
		close(part.quit)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("close kafka producer: %w", ctx.Err())
	}
	if t, ok := p.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	return nil
}
