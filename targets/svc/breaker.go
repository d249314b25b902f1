package svc

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sony/gobreaker/v2"
)

// NewBreaker returns the circuit breaker every service with one shares (the
// reaction service's sync and hybrid calls, a relay's call to the next hop):
// it opens after trip consecutive failures, stays open for openFor, then lets
// one trial call through. opened, when not nil, is called at each trip.
func NewBreaker[T any](name string, trip uint32, openFor time.Duration, log *slog.Logger, opened func()) *gobreaker.CircuitBreaker[T] {
	return gobreaker.NewCircuitBreaker[T](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,       // trial calls let through when half-open
		Interval:    0,       // closed: counts reset only on a state change
		Timeout:     openFor, // open this long before a trial
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= trip },
		OnStateChange: func(name string, from, to gobreaker.State) {
			log.Info("circuit breaker", "name", name, "from", from.String(), "to", to.String())
			if to == gobreaker.StateOpen && opened != nil {
				opened()
			}
		},
	})
}

// Refused reports whether err is a circuit breaker refusing a call: open,
// or half-open with its trial call in flight.
func Refused(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}
