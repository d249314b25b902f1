package reaction

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/sony/gobreaker/v2"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// breakerCounts are a circuit breaker's trips and the calls it refused,
// for Stats.
type breakerCounts struct{ opened, rejected atomic.Int64 }

// refused reports whether err is the breaker refusing a call, and counts
// it.
func (bc *breakerCounts) refused(err error) bool {
	if svc.Refused(err) {
		bc.rejected.Add(1)
		return true
	}
	return false
}

// newBreaker returns the circuit breaker hybrid and sync --breaker share
// (svc.NewBreaker); its trips are counted in bc.
func newBreaker(cfg Config, bc *breakerCounts) *gobreaker.CircuitBreaker[outcome] {
	return svc.NewBreaker[outcome]("notify", cfg.TripFailures, cfg.OpenFor, cfg.Log, func() { bc.opened.Add(1) })
}

// breakerNotifier is sync with a circuit breaker (--breaker): every failed
// call counts, and while the breaker is open the reaction is refused at once
// with 503 instead of waiting on a notification service that is failing.
// There is no fallback: that is hybrid.
type breakerNotifier struct {
	sync *syncNotifier
	cb   *gobreaker.CircuitBreaker[outcome]
	bc   *breakerCounts
}

var errCircuitOpen = errors.New("circuit open")

func newBreakerNotifier(cfg Config, bc *breakerCounts) (*breakerNotifier, error) {
	s, err := newSyncNotifier(cfg)
	if err != nil {
		return nil, err
	}
	return &breakerNotifier{sync: s, cb: newBreaker(cfg, bc), bc: bc}, nil
}

func (n *breakerNotifier) notify(r *wire.Reaction, tr trace, body []byte) outcome {
	o, err := n.cb.Execute(func() (outcome, error) {
		o := n.sync.notify(r, tr, body)
		if o.err != nil {
			return o, errSyncFailed
		}
		return o, nil
	})
	if n.bc.refused(err) {
		return outcome{status: fasthttp.StatusServiceUnavailable, path: "sync", err: errCircuitOpen}
	}
	return o
}

func (n *breakerNotifier) close(ctx context.Context) error { return n.sync.close(ctx) }

func (n *breakerNotifier) breaker() string { return n.cb.State().String() }
