package svc

import (
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// DialTimeout bounds connecting to the next service.
const DialTimeout = time.Second

// NewHostClient returns the client a service calls the next one with (the
// reaction service the notification service, a relay the next hop):
// fasthttp's defaults are no dial, read or write timeout and an instant
// ErrNoFreeConns when the pool is full, so each is set on purpose. A call
// that finds none of maxConns connections free waits connWait for one.
func NewHostClient(addr, name string, maxConns int, connWait, timeout time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                addr,
		Name:                name,
		Dial:                func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, DialTimeout) },
		MaxConns:            maxConns,
		MaxConnWaitTimeout:  connWait,
		ReadTimeout:         timeout,
		WriteTimeout:        timeout,
		MaxIdleConnDuration: 30 * time.Second,
		// A POST is not idempotent: never resend it behind the caller's back.
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
}
