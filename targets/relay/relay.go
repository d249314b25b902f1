// Package relay is a service in the middle of a chain (A→B→C→…→D): it
// passes each reaction on to the next hop unchanged, with its trace context
// and stamps, and measures the calls it handles (svc.HopMeter). Sync
// (sync.go), it serves POST /v1/notify and calls the next hop's, optionally
// through a circuit breaker; async (async.go), it is a consumer group on one
// topic that produces each message to the next hop's topic.
package relay

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/kafkagroup"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// ParseMode checks s names a pattern with a chain form: the relay's mode,
// how it reaches the next hop.
func ParseMode(s string) (pattern.Pattern, error) {
	m, err := pattern.Parse(s)
	if err != nil {
		return "", err
	}
	if !m.HasChainForm() {
		return "", fmt.Errorf("pattern %s has no chain form: want %s", m, chainList())
	}
	return m, nil
}

func chainList() string {
	cs := pattern.Chains()
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = string(c)
	}
	return strings.Join(names, " or ")
}

// Defaults for the zero value of Config fields: the reaction service's and
// the notification service's.
const (
	DefaultName         = "B"
	DefaultTimeout      = 2 * time.Second
	DefaultMaxConns     = 512
	DefaultConnWait     = 100 * time.Millisecond
	DefaultTripFailures = 5
	DefaultOpenFor      = 5 * time.Second
	DefaultConsumers    = 4
	DefaultConcurrency  = 64
	// DefaultBatchTimeout, none, produces with kafkagroup.Producer: a
	// message is sent at once when its partition has nothing in flight.
	DefaultBatchTimeout = 0
	// Produce retries back off from RetryBackoff, doubling up to
	// RetryMaxBackoff, with full jitter.
	RetryBackoff    = 50 * time.Millisecond
	RetryMaxBackoff = 5 * time.Second
)

// Config is a relay's configuration. A zero field takes its default.
type Config struct {
	// Mode is a pattern with a chain form: sync calls the next hop over
	// HTTP, async consumes a topic and produces to the next.
	Mode pattern.Pattern
	Name string // the hop's name in logs and error bodies; default DefaultName

	// Sync: the next hop, e.g. http://127.0.0.1:8081 (its POST /v1/notify).
	NextURL string
	// Timeout bounds one call to the next hop (sync) or one produce
	// attempt's wait for Kafka's ack (async). Default DefaultTimeout.
	Timeout time.Duration
	// MaxConns is the most connections to the next hop; default
	// DefaultMaxConns. A call that finds none free waits ConnWait (default
	// DefaultConnWait), then fails with 503.
	MaxConns int
	ConnWait time.Duration
	// Breaker puts the calls through a circuit breaker that opens after
	// TripFailures consecutive failed calls and stays open for OpenFor
	// before it lets one trial call through.
	Breaker      bool
	TripFailures uint32
	OpenFor      time.Duration

	// Async: the group Group reads InTopic and produces to OutTopic.
	Brokers     []string
	Security    kafkasec.Config // TLS and SASL; the zero value is plaintext
	InTopic     string
	OutTopic    string
	Group       string // default "commbench.relay." + Name
	Consumers   int    // group members in this process; default DefaultConsumers
	Concurrency int    // messages in flight per member; default DefaultConcurrency
	// BatchTimeout, when above zero, produces with a kafka.Writer that
	// waits this long to fill a batch (kept to compare); zero, the
	// default, with kafkagroup.Producer (see kafkagroup.NewSender).
	BatchTimeout time.Duration

	Log *slog.Logger // default slog.Default()
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.ConnWait == 0 {
		c.ConnWait = DefaultConnWait
	}
	if c.TripFailures == 0 {
		c.TripFailures = DefaultTripFailures
	}
	if c.OpenFor == 0 {
		c.OpenFor = DefaultOpenFor
	}
	if c.Group == "" {
		c.Group = "commbench.relay." + c.Name
	}
	if c.Consumers == 0 {
		c.Consumers = DefaultConsumers
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Validate names the first bad field, and the serve flag that sets it.
func (c Config) Validate() error {
	if _, err := ParseMode(string(c.Mode)); err != nil {
		return fmt.Errorf("Mode (--mode): %w", err)
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("Timeout (--timeout): must not be negative, got %v", c.Timeout)
	case c.MaxConns < 0:
		return fmt.Errorf("MaxConns (--max-conns): must be at least 1, got %d", c.MaxConns)
	case c.ConnWait < 0:
		return fmt.Errorf("ConnWait (--conn-wait): must not be negative, got %v", c.ConnWait)
	case c.OpenFor < 0:
		return fmt.Errorf("OpenFor (--open-for): must not be negative, got %v", c.OpenFor)
	case c.Consumers < 0:
		return fmt.Errorf("Consumers (--consumers): must be at least 1, got %d", c.Consumers)
	case c.Concurrency < 0:
		return fmt.Errorf("Concurrency (--concurrency): must be at least 1, got %d", c.Concurrency)
	case c.BatchTimeout < 0:
		return fmt.Errorf("BatchTimeout (--batch-timeout): must not be negative, got %v", c.BatchTimeout)
	}
	if c.Mode.HasSyncPath() {
		if c.NextURL == "" {
			return fmt.Errorf("NextURL (--next-url): mode %s needs the next hop's URL", c.Mode)
		}
		if u, err := url.Parse(c.NextURL); err != nil || u.Scheme != "http" || u.Host == "" {
			return fmt.Errorf("NextURL (--next-url): %q: want http://host:port", c.NextURL)
		}
	}
	if c.Mode.UsesKafka() {
		switch {
		case len(c.Brokers) == 0:
			return fmt.Errorf("Brokers (--brokers or KAFKA_BROKERS): mode %s needs Kafka brokers", c.Mode)
		case c.InTopic == "":
			return fmt.Errorf("InTopic (--in-topic): mode %s needs the topic to consume", c.Mode)
		case c.OutTopic == "":
			return fmt.Errorf("OutTopic (--out-topic): mode %s needs the next hop's topic", c.Mode)
		case c.OutTopic == c.InTopic:
			return fmt.Errorf("OutTopic (--out-topic): %q is the topic consumed; a relay to itself would loop", c.OutTopic)
		}
	}
	return nil
}

// Service is a relay.
type Service struct {
	cfg    Config
	hop    *svc.HopMeter
	counts counters

	// sync
	client *fasthttp.HostClient
	uri    string
	cb     *gobreaker.CircuitBreaker[outcome] // nil without Breaker

	// async: kafkagroup.NewSender's
	w interface {
		Produce(ctx context.Context, msg kafka.Message) error
		Close(ctx context.Context) error
	}
	group    kafkagroup.Counters
	sec      kafkasec.Config
	lastWarn atomic.Int64 // Unix ns of the last produce warning
}

type counters struct {
	received, bad, ok, duplicate, rejected, inFlight atomic.Int64
	forwarded, produceErrors, produceRetries         atomic.Int64
	failed                                           svc.StatusCounts // 502, 503 (rejected ones included), 504
}

// New returns a relay for cfg.Mode; sync, serve Handler; async, serve
// Handler (stats and the hop meter) and run Consume.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, hop: svc.NewHopMeter()}
	if cfg.Mode.HasSyncPath() {
		s.newClient()
		if cfg.Breaker {
			s.newBreaker()
		}
	}
	if cfg.Mode.UsesKafka() {
		s.sec = cfg.Security
		s.w = kafkagroup.NewSender(cfg.Brokers, cfg.OutTopic, kafkagroup.TransportOrDefault(cfg.Security.Transport()), cfg.BatchTimeout, cfg.Timeout)
	}
	return s, nil
}

// Hop returns the relay's hop meter.
func (s *Service) Hop() *svc.HopMeter { return s.hop }

// Close releases the HTTP connections (sync) or flushes the Kafka writer
// (async), giving up when ctx is done.
func (s *Service) Close(ctx context.Context) error {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	if s.w == nil {
		return nil
	}
	if err := s.w.Close(ctx); err != nil {
		return fmt.Errorf("relay %s: %w", s.cfg.Name, err)
	}
	return nil
}

// Handler serves POST /v1/notify (sync), GET /v1/hop/interval, GET
// /v1/stats and GET /healthz.
func (s *Service) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case wire.PathNotify:
			if !s.cfg.Mode.HasSyncPath() {
				svc.WriteError(ctx, fasthttp.StatusNotFound, fmt.Sprintf("relay %s is async: it consumes %s", s.cfg.Name, s.cfg.InTopic))
				return
			}
			s.serveNotify(ctx)
		case wire.PathHopInterval:
			s.hop.ServeInterval(ctx)
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

// Stats is the answer to GET /v1/stats.
type Stats struct {
	Name         string          `json:"name"`
	Mode         pattern.Pattern `json:"mode"`
	Received     int64           `json:"received"`
	Bad          int64           `json:"bad_request"`
	OK           int64           `json:"ok"`
	Dup          int64           `json:"duplicate"` // 200s the next hop marked duplicate
	svc.Statuses                 // S503 includes the rejected ones
	Rejected     int64           `json:"rejected"` // refused by the open circuit breaker
	InFlight     int64           `json:"in_flight"`
	Breaker      string          `json:"breaker,omitempty"`
	Consumer     *ConsumerStats  `json:"consumer,omitempty"`
}

// ConsumerStats are an async relay's counters.
type ConsumerStats struct {
	Fetched        int64 `json:"fetched"`
	Forwarded      int64 `json:"forwarded"` // produced and acknowledged
	ProduceErrors  int64 `json:"produce_errors"`
	ProduceRetries int64 `json:"produce_retries"`
	FetchErrors    int64 `json:"fetch_errors"`
	CommitErrors   int64 `json:"commit_errors"`
	InFlight       int64 `json:"in_flight"`
}

// Stats returns the relay's counters.
func (s *Service) Stats() Stats {
	st := Stats{
		Name:     s.cfg.Name,
		Mode:     s.cfg.Mode,
		Received: s.counts.received.Load(),
		Bad:      s.counts.bad.Load(),
		OK:       s.counts.ok.Load(),
		Dup:      s.counts.duplicate.Load(),
		Statuses: s.counts.failed.Load(),
		Rejected: s.counts.rejected.Load(),
		InFlight: s.counts.inFlight.Load(),
	}
	if s.cb != nil {
		st.Breaker = s.cb.State().String()
	}
	if s.cfg.Mode.UsesKafka() {
		g := s.group.Snapshot()
		st.Consumer = &ConsumerStats{
			Fetched:        g.Fetched,
			Forwarded:      s.counts.forwarded.Load(),
			ProduceErrors:  s.counts.produceErrors.Load(),
			ProduceRetries: s.counts.produceRetries.Load(),
			FetchErrors:    g.FetchErrors,
			CommitErrors:   g.CommitErrors,
			InFlight:       g.InFlight,
		}
	}
	return st
}
