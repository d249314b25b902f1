// Package svc is what the services under test share beside the wire
// contract (package wire): the HTTP server and client helpers, the
// mapping of a failed call to 502/503/504 and its counts, the circuit
// breaker, the hop meter and buffer pools. The services import it; it
// imports none of them.
package svc

import (
	"errors"
	"sync/atomic"
	"syscall"

	"github.com/valyala/fasthttp"
)

// Classify maps the error of an HTTP call to the next service (fasthttp's
// client) to the status a caller answers: 504 when the call took too long;
// 503 when the next service could not be had (no free connection, a dial
// timeout, connection refused); 502 otherwise (it failed or answered
// garbage). The reaction service and the relays answer the same way.
func Classify(err error) int {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout):
		return fasthttp.StatusGatewayTimeout
	case errors.Is(err, fasthttp.ErrNoFreeConns),
		errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, syscall.ECONNREFUSED):
		return fasthttp.StatusServiceUnavailable
	default:
		return fasthttp.StatusBadGateway
	}
}

// StatusCounts counts the failed answers a service gave, by the statuses
// Classify maps a failed call to. Safe for concurrent use; the zero value
// counts from zero.
type StatusCounts struct {
	s502, s503, s504 atomic.Int64
}

// Count counts status if it is 502, 503 or 504, and ignores any other.
func (c *StatusCounts) Count(status int) {
	switch status {
	case fasthttp.StatusBadGateway:
		c.s502.Add(1)
	case fasthttp.StatusServiceUnavailable:
		c.s503.Add(1)
	case fasthttp.StatusGatewayTimeout:
		c.s504.Add(1)
	}
}

// Load returns the counts so far.
func (c *StatusCounts) Load() Statuses {
	return Statuses{S502: c.s502.Load(), S503: c.s503.Load(), S504: c.s504.Load()}
}

// Statuses are a service's failed answers by status, as its GET /v1/stats
// shows them (embedded in its Stats).
type Statuses struct {
	S502 int64 `json:"status_502"`
	S503 int64 `json:"status_503"`
	S504 int64 `json:"status_504"`
}
