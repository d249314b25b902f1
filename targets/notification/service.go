// Package notification is the notification service: it notifies a post's
// author that someone reacted. Reactions reach it over HTTP (sync and hybrid
// patterns) and from a Kafka consumer group (async and hybrid); both go
// through one notify path that deduplicates by reaction id, calls the
// provider, and records the delivery in the ledger.
package notification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/targets/kafkagroup"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// Defaults for the zero value of Config fields.
const (
	DefaultTopic           = "commbench.reactions"
	DefaultGroup           = "commbench.notification"
	DefaultConsumers       = 4
	DefaultConcurrency     = 64
	DefaultRetries         = 10
	DefaultRetryBackoff    = 50 * time.Millisecond
	DefaultRetryMaxBackoff = 5 * time.Second
	DefaultCallTimeout     = 5 * time.Second
	// CommitInterval and MaxWait are the consumer loop's (package
	// kafkagroup, which says why).
	CommitInterval = kafkagroup.CommitInterval
	MaxWait        = kafkagroup.MaxWait
)

// Config is the service's configuration. A zero field takes its default.
type Config struct {
	Provider provider.Config

	Brokers []string // Kafka bootstrap addresses; none means HTTP only
	// Security is how Kafka connections are secured (TLS, SASL); the zero
	// value is plaintext.
	Security        kafkasec.Config
	Topic           string // reactions topic; default DefaultTopic
	DeadLetterTopic string // default Topic + ".dlq"
	Group           string // consumer group; default DefaultGroup

	Consumers       int           // group members in this process; default DefaultConsumers
	Concurrency     int           // messages in flight per consumer; default DefaultConcurrency
	Retries         int           // provider attempts per message before dead-lettering; default DefaultRetries
	RetryBackoff    time.Duration // first backoff, doubled per attempt; default DefaultRetryBackoff
	RetryMaxBackoff time.Duration // default DefaultRetryMaxBackoff
	CallTimeout     time.Duration // one provider call, waiting for a slot included; default DefaultCallTimeout

	// LedgerFile, when set, is the ledger's journal (see ledger.Open): the
	// ledger survives a SIGKILL of this process and is replayed from it on
	// start. "" keeps the ledger in memory only, at no cost.
	LedgerFile string

	Log *slog.Logger // default slog.Default()
}

func (c Config) withDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = c.Topic + ".dlq"
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.Consumers == 0 {
		c.Consumers = DefaultConsumers
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.RetryMaxBackoff == 0 {
		c.RetryMaxBackoff = DefaultRetryMaxBackoff
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	if err := c.Provider.Validate(); err != nil {
		return err
	}
	switch {
	case c.Consumers < 0:
		return fmt.Errorf("consumers: must be at least 1, got %d", c.Consumers)
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency: must be at least 1, got %d", c.Concurrency)
	case c.Retries < 0:
		return fmt.Errorf("retries: must be at least 1, got %d", c.Retries)
	case c.RetryBackoff < 0 || c.RetryMaxBackoff < 0 || c.CallTimeout < 0:
		return errors.New("retry backoff and call timeout must not be negative")
	}
	return nil
}

// Service is the notification service.
type Service struct {
	cfg      Config
	ledger   *ledger.Ledger
	provider *provider.Provider
	http     httpCounters
	consumer consumerCounters
	// hop meters every notify call, HTTP and each consumer attempt: this
	// service is the last hop of a chain (wire.PathHopInterval).
	hop *svc.HopMeter
	// receivers are the registered ways in besides HTTP and Kafka
	// (receiver.go).
	receivers []receiver
}

type httpCounters struct {
	ok, duplicate, bad, outage, failed, timeout, inFlight atomic.Int64
}

// New returns a service; call Handler to serve HTTP and Consume to run the
// consumer group.
func New(cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	l := ledger.New()
	if cfg.LedgerFile != "" {
		var err error
		if l, err = ledger.Open(cfg.LedgerFile); err != nil {
			return nil, err
		}
		if c := l.Counts(); c != (wire.Counts{}) {
			cfg.Log.Info("ledger replayed from its journal", "file", cfg.LedgerFile, "delivered", c.Delivered, "duplicates", c.Duplicates, "dead_lettered", c.DeadLettered)
		}
	}
	s := &Service{cfg: cfg, ledger: l, provider: provider.New(cfg.Provider), hop: svc.NewHopMeter()}
	if err := s.makeReceivers(); err != nil {
		l.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the ledger's journal, if any.
func (s *Service) Close() error { return s.ledger.Close() }

// Ledger returns the service's ledger.
func (s *Service) Ledger() *ledger.Ledger { return s.ledger }

// Hop returns the service's hop meter.
func (s *Service) Hop() *svc.HopMeter { return s.hop }

// Provider returns the service's provider, for faults.
func (s *Service) Provider() *provider.Provider { return s.provider }

// notify is the one path every reaction takes, whichever way it came:
// skip it if it was delivered already, else call the provider and record the
// delivery with its hop stamps st (APIIn, Handoff and NotifIn as they came;
// notify stamps ProviderStart). It reports whether the reaction was a
// duplicate. Each call is a call of the hop meter; a duplicate is a success.
func (s *Service) notify(ctx context.Context, r *wire.Reaction, st ledger.Stamps) (duplicate bool, err error) {
	start := time.Now()
	defer func() { s.hop.Observe(start, err != nil) }()
	if s.ledger.Delivered(r.ID) {
		s.ledger.Deduplicated()
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	if err := s.provider.SendStamped(ctx, &st.ProviderStart); err != nil {
		return false, err
	}
	first, err := s.ledger.RecordTrace(r.ID, r.SentAt, st, time.Now().UnixNano())
	return !first, err
}

// stamps are the hop stamps a reaction arrived with, and notifIn; a
// missing or malformed stamps value leaves APIIn and Handoff zero, and the
// delivery is counted as untraced.
func stamps(v []byte, notifIn int64) ledger.Stamps {
	apiIn, handoff, _ := wire.ParseStamps(v)
	return ledger.Stamps{APIIn: apiIn, Handoff: handoff, NotifIn: notifIn}
}

// Handler serves the HTTP API: POST /v1/notify, the ledger, the hop meter,
// stats, health and the provider's admin switch; and the registered
// receivers' paths (receiver.go).
func (s *Service) Handler() fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case wire.PathNotify:
			s.serveNotify(ctx)
		case wire.PathLedger:
			s.serveLedger(ctx)
		case wire.PathLedgerInterval:
			s.serveInterval(ctx)
		case wire.PathHopInterval:
			s.hop.ServeInterval(ctx)
		case wire.PathLedgerReset:
			if !ctx.IsPost() {
				svc.WriteError(ctx, fasthttp.StatusMethodNotAllowed, "use POST")
				return
			}
			if err := s.ledger.Reset(); err != nil {
				svc.WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
				return
			}
			svc.WriteJSON(ctx, fasthttp.StatusOK, s.ledger.Counts())
		case wire.PathStats:
			svc.WriteJSON(ctx, fasthttp.StatusOK, s.Stats())
		case wire.PathProvider:
			s.serveProvider(ctx)
		case wire.PathHealth:
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetBodyString("ok\n")
		default:
			if !s.serveReceiver(ctx) {
				svc.WriteError(ctx, fasthttp.StatusNotFound, "no such path")
			}
		}
	}
}

func (s *Service) serveNotify(ctx *fasthttp.RequestCtx) {
	notifIn := time.Now().UnixNano()
	var r wire.Reaction
	if !svc.DecodeReaction(ctx, &r) {
		s.http.bad.Add(1)
		return
	}
	s.http.inFlight.Add(1)
	defer s.http.inFlight.Add(-1)
	// fasthttp does not cancel a handler when its client goes away; the call
	// timeout bounds the work instead.
	dup, err := s.notify(context.Background(), &r, stamps(ctx.Request.Header.Peek(wire.HeaderStamps), notifIn))
	switch {
	case err == nil:
		if dup {
			s.http.duplicate.Add(1)
			ctx.Response.Header.Set(wire.HeaderDuplicate, "1")
		} else {
			s.http.ok.Add(1)
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
	case errors.Is(err, provider.ErrOutage):
		s.http.outage.Add(1)
		svc.WriteError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		s.http.timeout.Add(1)
		svc.WriteError(ctx, fasthttp.StatusGatewayTimeout, err.Error())
	default:
		s.http.failed.Add(1)
		svc.WriteError(ctx, fasthttp.StatusBadGateway, err.Error())
	}
}

func (s *Service) serveLedger(ctx *fasthttp.RequestCtx) {
	snap, err := s.ledger.Snapshot()
	if err != nil {
		svc.WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	svc.WriteJSON(ctx, fasthttp.StatusOK, snap)
}

func (s *Service) serveInterval(ctx *fasthttp.RequestCtx) {
	h := s.ledger.Interval()
	enc, err := h.Encode(hdrV2)
	if err != nil {
		svc.WriteError(ctx, fasthttp.StatusInternalServerError, err.Error())
		return
	}
	svc.WriteJSON(ctx, fasthttp.StatusOK, wire.LedgerInterval{Counts: s.ledger.Counts(), NotifyHist: string(enc)})
}

func (s *Service) serveProvider(ctx *fasthttp.RequestCtx) {
	if ctx.IsPost() {
		var sw provider.Switches
		dec := json.NewDecoder(bytesReader(ctx.PostBody()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sw); err != nil {
			svc.WriteError(ctx, fasthttp.StatusBadRequest, "provider switches: "+err.Error()+`; want {"outage":bool,"slowdown":factor,"delay":"100ms","error_rate":0..1}`)
			return
		}
		if err := s.provider.Set(sw); err != nil {
			svc.WriteError(ctx, fasthttp.StatusBadRequest, err.Error())
			return
		}
		st := s.provider.State()
		s.cfg.Log.Info("provider switches set", "outage", st.Outage, "slowdown", st.Slowdown, "delay", st.Delay, "error_rate", st.ErrorRate)
	}
	svc.WriteJSON(ctx, fasthttp.StatusOK, s.provider.State())
}

// Stats is the answer to GET /v1/stats.
type Stats struct {
	Ledger   wire.Counts    `json:"ledger"`
	Provider provider.State `json:"provider"`
	HTTP     struct {
		OK        int64 `json:"ok"`
		Duplicate int64 `json:"duplicate"`
		Bad       int64 `json:"bad_request"`
		Outage    int64 `json:"outage_503"`
		Failed    int64 `json:"failed_502"`
		Timeout   int64 `json:"timeout_504"`
		InFlight  int64 `json:"in_flight"`
	} `json:"http"`
	Consumer ConsumerStats `json:"consumer"`
	// Receivers are the registered receivers' counters (receiver.go).
	Receivers map[string]any `json:"receivers,omitempty"`
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	var st Stats
	st.Ledger = s.ledger.Counts()
	st.Provider = s.provider.State()
	st.HTTP.OK = s.http.ok.Load()
	st.HTTP.Duplicate = s.http.duplicate.Load()
	st.HTTP.Bad = s.http.bad.Load()
	st.HTTP.Outage = s.http.outage.Load()
	st.HTTP.Failed = s.http.failed.Load()
	st.HTTP.Timeout = s.http.timeout.Load()
	st.HTTP.InFlight = s.http.inFlight.Load()
	st.Consumer = s.consumer.snapshot()
	st.Receivers = s.receiverStats()
	return st
}
