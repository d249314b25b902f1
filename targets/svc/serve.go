package svc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/wire"
)

// DefaultGrace bounds a service's graceful shutdown: stop accepting, let
// in-flight requests finish, flush what is buffered.
const DefaultGrace = 10 * time.Second

// Serve serves h on ln until ctx is done, then shuts the server down,
// waiting at most grace for in-flight requests. Its connections wait up to
// s.IdleTimeout for their first byte and close silently after, and a
// request's headers get s.ReadTimeout from their first byte (see
// guardListener).
func Serve(ctx context.Context, ln net.Listener, s *fasthttp.Server, grace time.Duration) error {
	errc := make(chan error, 1)
	gl := guard(ln, s.IdleTimeout, s.ReadTimeout)
	go func() { errc <- s.Serve(gl) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.ShutdownWithContext(sctx); err != nil {
		return fmt.Errorf("shutdown within %v: %w", grace, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// NewServer returns a fasthttp server with the limits every service uses
// (limits.go): bodies above wire.MaxBodyBytes get 413; a request's headers
// must arrive within HeaderTimeout of their first byte and its body within
// BodyTimeout of its headers (408 otherwise); a connection waits at most
// IdleTimeout for a request; at most MaxConns connections are served at
// once. Serve it with Serve, whose listener makes the idle wait of a new
// connection silent.
func NewServer(name string, h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            h,
		Name:               name,
		MaxRequestBodySize: wire.MaxBodyBytes,
		// ReadTimeout is the header timeout: Serve's listener starts it at
		// a request's first byte and gives a new connection IdleTimeout
		// for that byte, closing it silently after (fasthttp alone would
		// start it when the connection opens and answer a spare
		// connection that a client never used with an error response).
		ReadTimeout: HeaderTimeout,
		HeaderReceived: func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
			return fasthttp.RequestConfig{ReadTimeout: BodyTimeout}
		},
		WriteTimeout:    WriteTimeout,
		IdleTimeout:     IdleTimeout,
		Concurrency:     MaxConns(),
		NoDefaultDate:   true,
		CloseOnShutdown: true,
		ErrorHandler:    errorHandler,
		Logger:          quietLogger{},
	}
}

// errorHandler answers requests fasthttp could not read: 413 for a body
// above wire.MaxBodyBytes, which fasthttp's default turns into a 400.
func errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		WriteError(ctx, fasthttp.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", wire.MaxBodyBytes))
	case errors.As(err, &small):
		WriteError(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	case isTimeout(err):
		WriteError(ctx, fasthttp.StatusRequestTimeout, fmt.Sprintf("request not received in time (headers within %v, body within %v)", HeaderTimeout, BodyTimeout))
	default:
		WriteError(ctx, fasthttp.StatusBadRequest, "cannot read the request: "+err.Error())
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// quietLogger drops fasthttp's per-connection error lines: a client that
// goes away mid-run is counted by the load generator, not logged per request.
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// WriteJSON answers with status and v as JSON.
func WriteJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctx.Error(fmt.Sprintf(`{"error":%q}`, err.Error()), fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// WriteError answers with status and {"error": msg}.
func WriteError(ctx *fasthttp.RequestCtx, status int, msg string) {
	WriteJSON(ctx, status, struct {
		Error string `json:"error"`
	}{msg})
}

// DecodeReaction parses the request body into r and answers 400 naming the
// bad field when it cannot; it reports whether r is good to use.
func DecodeReaction(ctx *fasthttp.RequestCtx, r *wire.Reaction) bool {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		WriteError(ctx, fasthttp.StatusMethodNotAllowed, "use POST")
		return false
	}
	if err := wire.Decode(ctx.PostBody(), r); err != nil {
		WriteError(ctx, fasthttp.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// BufPool is a pool of byte buffers for encodings that must not be kept.
type BufPool struct{ p sync.Pool }

// NewBufPool returns a pool of 512-byte buffers.
func NewBufPool() *BufPool {
	return &BufPool{p: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

// Get returns a buffer; Put it back when done.
func (p *BufPool) Get() *[]byte { return p.p.Get().(*[]byte) }

// Put returns b to the pool.
func (p *BufPool) Put(b *[]byte) { p.p.Put(b) }
