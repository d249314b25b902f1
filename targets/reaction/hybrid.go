package reaction

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/commbench/commbench/targets/wire"
)

// hybridNotifier tries the sync call within a deadline budget, through a
// circuit breaker; on a timeout, an error or an open breaker it produces to
// Kafka instead. 201 means the notification was sent, 202 that it is on its
// way; X-Commbench-Path says which.
//
// A sync call that ran out of budget may still have been delivered: the
// Kafka copy is then a duplicate that the notification service skips (and
// counts).
type hybridNotifier struct {
	sync   *syncNotifier
	out    *kafkaOut
	cb     *gobreaker.CircuitBreaker[outcome]
	bc     *breakerCounts
	budget time.Duration
}

func newHybridNotifier(cfg Config, bc *breakerCounts) (*hybridNotifier, error) {
	s, err := newSyncNotifier(cfg)
	if err != nil {
		return nil, err
	}
	return &hybridNotifier{
		sync:   s,
		out:    newKafkaOut(cfg),
		cb:     newBreaker(cfg, bc),
		bc:     bc,
		budget: cfg.Budget,
	}, nil
}

var errSyncFailed = errors.New("sync call failed")

func (n *hybridNotifier) notify(r *wire.Reaction, tr trace, body []byte) outcome {
	o, err := n.cb.Execute(func() (outcome, error) {
		o := n.sync.call(tr, body, time.Now().Add(n.budget))
		if o.err != nil {
			return o, errSyncFailed
		}
		return o, nil
	})
	if err == nil {
		return o
	}
	n.bc.refused(err) // counted when the breaker, not the call, said no
	// Fall back to Kafka: the sync call failed, ran out of budget, or the
	// breaker is open (gobreaker.ErrOpenState, ErrTooManyRequests).
	// The fallback's t_handoff is stamped as it produces: the failed sync
	// try is in the handoff hop.
	fb := n.out.produce(r, tr, body)
	if fb.err != nil {
		why := o.err
		if why == nil {
			why = err
		}
		fb.err = fmt.Errorf("%w (after the sync path failed: %v)", fb.err, why)
	}
	return fb
}

func (n *hybridNotifier) close(ctx context.Context) error {
	n.sync.close(ctx)
	return n.out.close(ctx)
}

func (n *hybridNotifier) breaker() string { return n.cb.State().String() }
