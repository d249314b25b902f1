// Package provider simulates the email/push provider the notification
// service calls: a latency drawn from a log-normal distribution given by its
// p50 and p99, a capacity (the most calls it serves at once; more wait for a
// slot), an error rate, and outage, slowdown and delay switches that can be
// flipped while it runs.
package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Defaults for the zero value of Config fields.
const (
	DefaultP50      = 5 * time.Millisecond
	DefaultP99      = 40 * time.Millisecond
	DefaultCapacity = 256
)

// Errors a Send returns. A caller retries ErrOutage and ErrFailed; a context
// error means no slot came free, or the call took longer than the caller
// would wait.
var (
	ErrOutage = errors.New("provider: outage")
	ErrFailed = errors.New("provider: delivery failed")
)

// z99 is the standard normal quantile of 0.99.
const z99 = 2.326347874040841

// Config is the provider's behaviour. A zero field takes its default.
type Config struct {
	P50       time.Duration `json:"p50"`        // median latency; default DefaultP50
	P99       time.Duration `json:"p99"`        // 99th percentile latency, at least P50; default DefaultP99 (or P50 if that is larger)
	Capacity  int           `json:"capacity"`   // calls served at once; default DefaultCapacity
	ErrorRate float64       `json:"error_rate"` // share of calls that fail, 0 to 1
}

// Validate reports a field out of range.
func (c Config) Validate() error {
	switch {
	case c.P50 < 0 || c.P99 < 0:
		return errors.New("provider latency: p50 and p99 must not be negative")
	case c.P99 != 0 && c.P99 < c.P50:
		return fmt.Errorf("provider latency: p99 (%v) is below p50 (%v)", c.P99, c.P50)
	case c.Capacity < 0:
		return fmt.Errorf("provider capacity: must be at least 1, got %d", c.Capacity)
	case c.ErrorRate < 0 || c.ErrorRate > 1 || math.IsNaN(c.ErrorRate):
		return fmt.Errorf("provider error_rate: must be between 0 and 1, got %v", c.ErrorRate)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.P50 == 0 {
		c.P50 = DefaultP50
	}
	if c.P99 == 0 {
		c.P99 = max(DefaultP99, c.P50)
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultCapacity
	}
	return c
}

// Provider is safe for concurrent use.
type Provider struct {
	cfg   Config
	mu    float64 // log-normal parameters of the latency in nanoseconds
	sigma float64
	slots chan struct{}

	outage    atomic.Bool
	slowdown  atomic.Uint64 // float64 bits: latency multiplier, 1 = normal
	delay     atomic.Int64  // ns added to every call's latency
	errorRate atomic.Uint64 // float64 bits

	inFlight atomic.Int64
	waiting  atomic.Int64
	sent     atomic.Int64
	failed   atomic.Int64
	refused  atomic.Int64 // calls during an outage
}

// New returns a provider; cfg must be valid.
func New(cfg Config) *Provider {
	cfg = cfg.withDefaults()
	p := &Provider{
		cfg:   cfg,
		mu:    math.Log(float64(cfg.P50)),
		sigma: (math.Log(float64(cfg.P99)) - math.Log(float64(cfg.P50))) / z99,
		slots: make(chan struct{}, cfg.Capacity),
	}
	p.slowdown.Store(math.Float64bits(1))
	p.errorRate.Store(math.Float64bits(cfg.ErrorRate))
	return p
}

// Latency draws one call's latency, before any slowdown. It is capped at
// ten times p99 so that one draw cannot stall a run.
func (p *Provider) Latency() time.Duration {
	d := math.Exp(p.mu + p.sigma*rand.NormFloat64())
	return time.Duration(min(d, 10*float64(p.cfg.P99)))
}

// maxCallDelay caps one call's latency after the switches: a slowdown of
// 1e15 times a millisecond does not fit a time.Duration, and converted it
// would wrap to a negative delay, an instant provider.
const maxCallDelay = 24 * time.Hour

// callDelay is latency times slowdown plus delay, at most maxCallDelay.
func callDelay(latency time.Duration, slowdown float64, delay time.Duration) time.Duration {
	return time.Duration(min(float64(latency)*slowdown+float64(delay), float64(maxCallDelay)))
}

// Send delivers one notification: it waits for a free slot, then for the
// call's latency, and fails at the error rate. During an outage it fails at
// once with ErrOutage.
func (p *Provider) Send(ctx context.Context) error { return p.SendStamped(ctx, nil) }

// SendStamped is Send that, when start is not nil, stores in it the time
// (Unix ns) the call got its slot and began: the end of the wait for a free
// slot, the start of the provider hop.
func (p *Provider) SendStamped(ctx context.Context, start *int64) error {
	if p.outage.Load() {
		p.refused.Add(1)
		return ErrOutage
	}
	p.waiting.Add(1)
	select {
	case p.slots <- struct{}{}:
		p.waiting.Add(-1)
	case <-ctx.Done():
		p.waiting.Add(-1)
		return fmt.Errorf("provider: waiting for a free slot: %w", ctx.Err())
	}
	if start != nil {
		*start = time.Now().UnixNano()
	}
	p.inFlight.Add(1)
	defer func() {
		p.inFlight.Add(-1)
		<-p.slots
	}()
	d := callDelay(p.Latency(), math.Float64frombits(p.slowdown.Load()), time.Duration(p.delay.Load()))
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return fmt.Errorf("provider: call: %w", ctx.Err())
	}
	// An outage that began during the call fails it too.
	if p.outage.Load() {
		p.refused.Add(1)
		return ErrOutage
	}
	if rate := math.Float64frombits(p.errorRate.Load()); rate > 0 && rand.Float64() < rate {
		p.failed.Add(1)
		return ErrFailed
	}
	p.sent.Add(1)
	return nil
}

// Switches are the run-time settings that faults change. In a JSON update a
// field left out keeps its value.
type Switches struct {
	Outage    *bool     `json:"outage,omitempty"`
	Slowdown  *float64  `json:"slowdown,omitempty"`   // latency multiplier: 1 is normal, 5 is five times slower
	Delay     *Duration `json:"delay,omitempty"`      // added to every call's latency (after the slowdown): "100ms"; "0s" is none
	ErrorRate *float64  `json:"error_rate,omitempty"` // 0 to 1
}

// Set applies the switches that are present.
func (p *Provider) Set(s Switches) error {
	if s.Slowdown != nil && (*s.Slowdown <= 0 || math.IsNaN(*s.Slowdown) || math.IsInf(*s.Slowdown, 0)) {
		return fmt.Errorf("slowdown: must be a positive factor, got %v", *s.Slowdown)
	}
	if s.ErrorRate != nil && (*s.ErrorRate < 0 || *s.ErrorRate > 1 || math.IsNaN(*s.ErrorRate)) {
		return fmt.Errorf("error_rate: must be between 0 and 1, got %v", *s.ErrorRate)
	}
	if s.Delay != nil && *s.Delay < 0 {
		return fmt.Errorf("delay: must not be negative, got %v", time.Duration(*s.Delay))
	}
	if s.Outage != nil {
		p.outage.Store(*s.Outage)
	}
	if s.Delay != nil {
		p.delay.Store(int64(*s.Delay))
	}
	if s.Slowdown != nil {
		p.slowdown.Store(math.Float64bits(*s.Slowdown))
	}
	if s.ErrorRate != nil {
		p.errorRate.Store(math.Float64bits(*s.ErrorRate))
	}
	return nil
}

// State is the provider's configuration, switches and counters.
type State struct {
	Config
	Outage   bool     `json:"outage"`
	Slowdown float64  `json:"slowdown"`
	Delay    Duration `json:"delay"`
	InFlight int64    `json:"in_flight"`
	Waiting  int64    `json:"waiting"`
	Sent     int64    `json:"sent"`
	Failed   int64    `json:"failed"`
	Refused  int64    `json:"refused"`
}

// State returns a copy of the provider's state.
func (p *Provider) State() State {
	c := p.cfg
	c.ErrorRate = math.Float64frombits(p.errorRate.Load())
	return State{
		Config:   c,
		Outage:   p.outage.Load(),
		Slowdown: math.Float64frombits(p.slowdown.Load()),
		Delay:    Duration(p.delay.Load()),
		InFlight: p.inFlight.Load(),
		Waiting:  p.waiting.Load(),
		Sent:     p.sent.Load(),
		Failed:   p.failed.Load(),
		Refused:  p.refused.Load(),
	}
}

// Duration is a time.Duration written in JSON as a string like "100ms".
type Duration time.Duration

// MarshalJSON writes d like time.Duration's String.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads a string like "100ms" (a bare 0 is accepted).
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "0" {
		*d = 0
		return nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return fmt.Errorf(`delay: want a duration string like "100ms", got %s`, s)
	}
	v, err := time.ParseDuration(s[1 : len(s)-1])
	if err != nil {
		return fmt.Errorf("delay: %w", err)
	}
	*d = Duration(v)
	return nil
}
