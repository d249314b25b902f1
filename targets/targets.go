// Package targets holds the services under test and what they share
// beside the wire contract (package wire): the HTTP server and client
// helpers, the circuit breaker, the hop meter and buffer pools.
//
// The services themselves live beside it: reaction/, relay/ (the hops in
// the middle of a chain), notification/, the parts of the notification
// service, provider/ and ledger/, and kafkagroup/, the consumer loop the
// notification service and the async relays share.
package targets

import (
	"errors"
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
