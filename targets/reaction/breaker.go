package reaction

import (
	"context"
	"errors"

	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets"
)

// newBreaker returns the circuit breaker hybrid and sync --breaker share:
// it opens after TripFailures consecutive failures and stays open for
// OpenFor before it lets one trial call through.
func newBreaker(cfg Config) *gobreaker.CircuitBreaker[outcome] {
	trip := cfg.TripFailures
	log := cfg.Log
	return gobreaker.NewCircuitBreaker[outcome](gobreaker.Settings{
		Name:        "notify",
		MaxRequests: 1,           // trial calls let through when half-open
		Interval:    0,           // closed: counts reset only on a state change
		Timeout:     cfg.OpenFor, // open this long before a trial
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= trip },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Info("circuit breaker", "name", name, "from", from.String(), "to", to.String())
		},
	})
}

// breakerNotifier is sync with a circuit breaker (--breaker): every failed
// call counts, and while the breaker is open the reaction is refused at once
// with 503 instead of waiting on a notification service that is failing.
// There is no fallback: that is hybrid.
type breakerNotifier struct {
	sync *syncNotifier
	cb   *gobreaker.CircuitBreaker[outcome]
}

var errCircuitOpen = errors.New("circuit open")

func newBreakerNotifier(cfg Config) (*breakerNotifier, error) {
	s, err := newSyncNotifier(cfg)
	if err != nil {
		return nil, err
	}
	return &breakerNotifier{sync: s, cb: newBreaker(cfg)}, nil
}

func (n *breakerNotifier) notify(r *targets.Reaction, tr trace, body []byte) outcome {
	o, err := n.cb.Execute(func() (outcome, error) {
		o := n.sync.notify(r, tr, body)
		if o.err != nil {
			return o, errSyncFailed
		}
		return o, nil
	})
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return outcome{status: fasthttp.StatusServiceUnavailable, path: "sync", err: errCircuitOpen}
	}
	return o
}

func (n *breakerNotifier) close(ctx context.Context) error { return n.sync.close(ctx) }

func (n *breakerNotifier) breaker() string { return n.cb.State().String() }
