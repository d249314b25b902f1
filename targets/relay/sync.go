package relay

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// newClient sets the HTTP client to the next hop as the reaction service's
// sync client is set (targets/reaction/sync.go).
func (s *Service) newClient() {
	u, _ := url.Parse(s.cfg.NextURL) // checked by Validate
	s.uri = "http://" + u.Host + wire.PathNotify
	s.client = svc.NewHostClient(u.Host, "commbench-relay-"+s.cfg.Name, s.cfg.MaxConns, s.cfg.ConnWait, s.cfg.Timeout)
}

// newBreaker sets the circuit breaker (svc.NewBreaker, as the reaction
// service's); its trips and state go to the hop meter.
func (s *Service) newBreaker() {
	s.cb = svc.NewBreaker[outcome]("relay "+s.cfg.Name, s.cfg.TripFailures, s.cfg.OpenFor, s.cfg.Log, s.hop.Opened)
	s.hop.SetBreaker(func() string { return s.cb.State().String() })
}

// outcome is how a call to the next hop ended: the status this relay
// answers, whether the next hop marked the reaction a duplicate, and why it
// failed.
type outcome struct {
	status    int
	duplicate bool
	err       error
}

var errFailed = errors.New("next hop failed")

// serveNotify validates the reaction, passes it on and answers as the next
// hop did. Every call, a bad one included, is a call of the hop meter;
// any status but 200 is a failure.
func (s *Service) serveNotify(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	s.counts.received.Add(1)
	var o outcome
	defer func() { s.hop.Observe(start, ctx.Response.StatusCode() != fasthttp.StatusOK) }()
	var r wire.Reaction
	if !svc.DecodeReaction(ctx, &r) {
		s.counts.bad.Add(1)
		return
	}
	s.counts.inFlight.Add(1)
	defer s.counts.inFlight.Add(-1)
	if s.cb == nil {
		o = s.forward(ctx)
	} else {
		var err error
		o, err = s.cb.Execute(func() (outcome, error) {
			o := s.forward(ctx)
			if o.err != nil {
				return o, errFailed
			}
			return o, nil
		})
		if svc.Refused(err) {
			s.hop.Reject()
			s.counts.rejected.Add(1)
			o = outcome{status: fasthttp.StatusServiceUnavailable, err: fmt.Errorf("relay %s: circuit open", s.cfg.Name)}
		}
	}
	if o.status == fasthttp.StatusOK {
		s.counts.ok.Add(1)
		if o.duplicate {
			s.counts.duplicate.Add(1)
			ctx.Response.Header.Set(wire.HeaderDuplicate, "1")
		}
	}
	s.counts.failed.Count(o.status)
	if o.err != nil {
		svc.WriteError(ctx, o.status, o.err.Error())
		return
	}
	ctx.SetStatusCode(o.status)
}

// forward posts the request's body unchanged to the next hop, with the
// traceparent and stamps headers exactly as they came (the stamps are A's:
// a relay's time is in the queue hop, as the wire's is), and maps the
// answer: 200, 503 and 504 as they are, anything else 502; a transport
// error as svc.Classify says.
func (s *Service) forward(ctx *fasthttp.RequestCtx) outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	if v := ctx.Request.Header.Peek(wire.HeaderTraceparent); v != nil {
		req.Header.SetBytesV(wire.HeaderTraceparent, v)
	}
	if v := ctx.Request.Header.Peek(wire.HeaderStamps); v != nil {
		req.Header.SetBytesV(wire.HeaderStamps, v)
	}
	// The body is the handler's until it returns, and the call ends first.
	req.SetBodyRaw(ctx.PostBody())
	err := s.client.DoDeadline(req, resp, time.Now().Add(s.cfg.Timeout))
	if err != nil {
		return outcome{status: svc.Classify(err), err: fmt.Errorf("relay %s: next hop: %w", s.cfg.Name, err)}
	}
	switch code := resp.StatusCode(); code {
	case fasthttp.StatusOK:
		return outcome{status: code, duplicate: len(resp.Header.Peek(wire.HeaderDuplicate)) > 0}
	case fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
		return outcome{status: code, err: fmt.Errorf("relay %s: next hop answered %d: %s", s.cfg.Name, code, resp.Body())}
	default:
		return outcome{status: fasthttp.StatusBadGateway, err: fmt.Errorf("relay %s: next hop answered %d: %s", s.cfg.Name, code, resp.Body())}
	}
}
