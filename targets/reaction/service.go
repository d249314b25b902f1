// Package reaction is the reaction service: it takes a user's reaction to a
// post, stores it, and gets the notification service to notify the post's
// author. How it does that last step is the only thing that differs between
// the patterns commbench compares, one file each: sync.go (HTTP), async.go
// (Kafka) and hybrid.go (HTTP within a budget, Kafka as the fallback).
package reaction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// Defaults for the zero value of Config fields.
const (
	DefaultTimeout      = 2 * time.Second
	DefaultMaxConns     = 512
	DefaultConnWait     = 100 * time.Millisecond
	DefaultBudget       = 50 * time.Millisecond
	DefaultTripFailures = 5
	DefaultOpenFor      = 5 * time.Second
	// DefaultBatchTimeout, none, produces with kafkagroup.Producer: a
	// reaction is sent at once when its partition has nothing in flight.
	DefaultBatchTimeout = 0
	// DefaultMaxInFlight lets 5,000 reactions/s wait 200 ms each for
	// Kafka's ack (Little's law) before the service sheds load.
	DefaultMaxInFlight = 1024
)

// Config is the service's configuration. A zero field takes its default.
type Config struct {
	Mode      pattern.Pattern // how to reach the notification service
	NotifyURL string          // sync, hybrid: the notification service, e.g. http://127.0.0.1:8081
	Brokers   []string        // async, hybrid: Kafka bootstrap addresses
	Topic     string          // async, hybrid: the reactions topic
	// Security is how Kafka connections are secured (TLS, SASL); the zero
	// value is plaintext.
	Security  kafkasec.Config
	WriteCost time.Duration // per store write, standing for a database; default none

	// Timeout bounds the whole notification step of one request: the HTTP
	// call (sync) or the wait for Kafka's ack (async). Default DefaultTimeout.
	Timeout time.Duration
	// MaxConns is the most connections to the notification service;
	// default DefaultMaxConns. A request that finds none free waits ConnWait
	// (default DefaultConnWait), then fails with 503.
	MaxConns int
	ConnWait time.Duration

	// Hybrid: the sync call's deadline budget, and the circuit breaker,
	// which opens after TripFailures consecutive failures and stays open for
	// OpenFor before it lets one trial call through.
	Budget       time.Duration
	TripFailures uint32
	OpenFor      time.Duration
	// Breaker puts sync's call through the same circuit breaker: open, a
	// reaction gets 503 "circuit open" at once. Hybrid always has one;
	// async ignores it.
	Breaker bool

	// BatchTimeout, when above zero, produces with a kafka.Writer that
	// waits this long to fill a batch (what the service did before;
	// kept to compare). Zero, the default, produces with
	// kafkagroup.Producer: sent at once when the partition is idle, batched
	// with what arrives while a request is out.
	BatchTimeout time.Duration
	// MaxInFlight is the most reactions waiting for Kafka's ack at once
	// (async, and hybrid's fallback); one more is answered 503 at once, so
	// that a broker slower than the arrivals cannot grow the service's
	// memory without bound. Default DefaultMaxInFlight.
	MaxInFlight int

	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ConnWait == 0 {
		c.ConnWait = DefaultConnWait
	}
	if c.Budget == 0 {
		c.Budget = DefaultBudget
	}
	if c.TripFailures == 0 {
		c.TripFailures = DefaultTripFailures
	}
	if c.OpenFor == 0 {
		c.OpenFor = DefaultOpenFor
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Topic == "" {
		c.Topic = "commbench.reactions"
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Validate reports what the mode needs and is missing.
func (c Config) Validate() error {
	if _, err := pattern.Parse(string(c.Mode)); err != nil {
		return fmt.Errorf("mode: %w", err)
	}
	if _, ok := notifiers[c.Mode]; !ok {
		return fmt.Errorf("mode %s: the reaction service has no notifier for it", c.Mode)
	}
	if c.Mode.HasSyncPath() && c.NotifyURL == "" {
		return fmt.Errorf("mode %s needs the notification service's URL (--notify-url)", c.Mode)
	}
	if c.Mode.UsesKafka() && len(c.Brokers) == 0 {
		return fmt.Errorf("mode %s needs Kafka brokers (--brokers or KAFKA_BROKERS)", c.Mode)
	}
	if c.Timeout < 0 || c.Budget < 0 || c.WriteCost < 0 || c.ConnWait < 0 || c.OpenFor < 0 || c.BatchTimeout < 0 {
		return errors.New("durations must not be negative")
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("max conns: must be at least 1, got %d", c.MaxConns)
	}
	if c.MaxInFlight < 0 {
		return fmt.Errorf("max in flight: must be at least 1, got %d", c.MaxInFlight)
	}
	return nil
}

// outcome is how the notification step ended: the status the service
// answers and the path taken.
type outcome struct {
	status int
	path   string // "sync" or "async"
	err    error
}

// trace is what a reaction's notification carries besides its body: the
// W3C traceparent (owned by the caller until notify returns) and when the
// reaction service received the request (t_api_in, Unix ns). The notifier
// stamps t_handoff as it sends.
type trace struct {
	parent []byte
	apiIn  int64
}

// notifier is one pattern's way to get the notification service to act.
// body is the reaction's canonical JSON encoding, owned by the caller until
// notify returns.
type notifier interface {
	notify(r *wire.Reaction, tr trace, body []byte) outcome
	close(ctx context.Context) error
	breaker() string // the circuit breaker's state, or "" without one
}

// Service is the reaction service.
type Service struct {
	cfg      Config
	store    *store
	notifier notifier
	counts   counters
	breaker  breakerCounts // sync --breaker and hybrid
}

type counters struct {
	received, bad, syncOK, asyncOK, inFlight, retried atomic.Int64
	failed                                            svc.StatusCounts // 502, 503, 504
}

// New returns a service for cfg.Mode.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, store: newStore(cfg.WriteCost)}
	var err error
	if s.notifier, err = notifiers[cfg.Mode](cfg, &s.breaker); err != nil {
		return nil, err
	}
	return s, nil
}

// notifiers makes each pattern's notifier, one file each: a new pattern is
// a row here and its file beside sync.go, async.go and hybrid.go. bc counts
// the trips of a notifier's circuit breaker, if it has one. A pattern
// defined outside this package adds its row with RegisterNotifier
// (register.go).
var notifiers = map[pattern.Pattern]func(cfg Config, bc *breakerCounts) (notifier, error){
	pattern.Sync: func(cfg Config, bc *breakerCounts) (notifier, error) {
		if cfg.Breaker {
			return newBreakerNotifier(cfg, bc)
		}
		return newSyncNotifier(cfg)
	},
	pattern.Async: func(cfg Config, _ *breakerCounts) (notifier, error) {
		return newAsyncNotifier(cfg), nil
	},
	pattern.Hybrid: func(cfg Config, bc *breakerCounts) (notifier, error) {
		return newHybridNotifier(cfg, bc)
	},
}

// Close flushes and releases the Kafka writer and HTTP connections.
func (s *Service) Close(ctx context.Context) error { return s.notifier.close(ctx) }

// Handler serves POST /v1/reactions, GET /v1/stats and GET /healthz.
func (s *Service) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case wire.PathReactions:
			s.serveReaction(ctx)
		case wire.PathStats:
			svc.WriteJSON(ctx, fasthttp.StatusOK, s.Stats())
		case wire.PathHealth:
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetBodyString("ok\n")
		default:
			svc.WriteError(ctx, fasthttp.StatusNotFound, "no such path")
		}
	}
}

// bufPool holds reaction encodings; a body is small and bounded.
var bufPool = svc.NewBufPool()

func (s *Service) serveReaction(ctx *fasthttp.RequestCtx) {
	tr := trace{apiIn: time.Now().UnixNano()}
	s.counts.received.Add(1)
	var r wire.Reaction
	if !svc.DecodeReaction(ctx, &r) {
		s.counts.bad.Add(1)
		return
	}
	s.counts.inFlight.Add(1)
	defer s.counts.inFlight.Add(-1)
	if !s.store.put(&r) {
		s.counts.retried.Add(1)
	}
	buf := bufPool.Get()
	defer bufPool.Put(buf)
	*buf = r.Append((*buf)[:0])
	// The load generator's trace context goes on as it came; a request
	// without a valid one gets one derived from the reaction id.
	var parent [55]byte
	if tr.parent = ctx.Request.Header.Peek(wire.HeaderTraceparent); !wire.ValidTraceparent(tr.parent) {
		tr.parent = wire.AppendTraceparent(parent[:0], r.ID)
	}
	o := s.notifier.notify(&r, tr, *buf)
	ctx.Response.Header.Set(wire.HeaderPath, o.path)
	*buf = strconv.AppendUint((*buf)[:0], r.ID, 10)
	ctx.Response.Header.SetBytesV(wire.HeaderID, *buf)
	switch o.status {
	case fasthttp.StatusCreated:
		s.counts.syncOK.Add(1)
	case fasthttp.StatusAccepted:
		s.counts.asyncOK.Add(1)
	default:
		s.counts.failed.Count(o.status)
	}
	if o.err != nil {
		svc.WriteError(ctx, o.status, o.err.Error())
		return
	}
	ctx.SetStatusCode(o.status)
}

// Stats is the answer to GET /v1/stats.
type Stats struct {
	Mode     pattern.Pattern `json:"mode"`
	Received int64           `json:"received"`
	Bad      int64           `json:"bad_request"`
	Stored   int             `json:"stored"`
	Retried  int64           `json:"retried"` // ids seen before
	SyncOK   int64           `json:"accepted_sync"`
	AsyncOK  int64           `json:"accepted_async"`
	svc.Statuses
	InFlight int64  `json:"in_flight"`
	Breaker  string `json:"breaker,omitempty"`
	// BreakerOpened counts the breaker's trips, BreakerRejected the calls
	// it refused (sync: answered 503 at once; hybrid: sent to Kafka).
	BreakerOpened   int64 `json:"breaker_opened,omitempty"`
	BreakerRejected int64 `json:"breaker_rejected,omitempty"`
	// Produce: async and hybrid's fallback. InFlight is the reactions
	// waiting for Kafka's ack now, Peak the most at once, Shed those
	// answered 503 at once because MaxInFlight were waiting.
	ProduceInFlight int64 `json:"produce_in_flight,omitempty"`
	ProducePeak     int64 `json:"produce_peak,omitempty"`
	ProduceShed     int64 `json:"produce_shed,omitempty"`
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	st := Stats{
		Mode:     s.cfg.Mode,
		Received: s.counts.received.Load(),
		Bad:      s.counts.bad.Load(),
		Stored:   s.store.len(),
		Retried:  s.counts.retried.Load(),
		SyncOK:   s.counts.syncOK.Load(),
		AsyncOK:  s.counts.asyncOK.Load(),
		Statuses: s.counts.failed.Load(),
		InFlight: s.counts.inFlight.Load(),
		Breaker:  s.notifier.breaker(),

		BreakerOpened:   s.breaker.opened.Load(),
		BreakerRejected: s.breaker.rejected.Load(),
	}
	if k := s.kafkaOut(); k != nil {
		st.ProduceInFlight, st.ProducePeak, st.ProduceShed = k.inFlight.Load(), k.peak.Load(), k.shed.Load()
	}
	return st
}

// kafkaOut returns the notifier's way to Kafka, or nil for sync.
func (s *Service) kafkaOut() *kafkaOut {
	switch n := s.notifier.(type) {
	case *asyncNotifier:
		return n.out
	case *hybridNotifier:
		return n.out
	}
	return nil
}
