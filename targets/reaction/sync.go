package reaction

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// syncNotifier calls POST /v1/notify and answers 201 only after the
// notification service answered 200: the reaction is not accepted unless
// the notification was sent.
type syncNotifier struct {
	client  *fasthttp.HostClient
	uri     string
	timeout time.Duration
}

func newSyncNotifier(cfg Config) (*syncNotifier, error) {
	u, err := url.Parse(cfg.NotifyURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("notify URL %q: want http://host:port", cfg.NotifyURL)
	}
	return &syncNotifier{
		client:  svc.NewHostClient(u.Host, "commbench-reaction", cfg.MaxConns, cfg.ConnWait, cfg.Timeout),
		uri:     "http://" + u.Host + wire.PathNotify,
		timeout: cfg.Timeout,
	}, nil
}

func (n *syncNotifier) notify(r *wire.Reaction, tr trace, body []byte) outcome {
	return n.call(tr, body, time.Now().Add(n.timeout))
}

// call posts body, with the trace context and the hop stamps in headers, and
// classifies the result: 201, or 502 (the notification service failed or
// answered garbage), 503 (unavailable or overloaded: no connection to be
// had) or 504 (it took too long).
func (n *syncNotifier) call(tr trace, body []byte, deadline time.Time) outcome {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(n.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.SetBytesV(wire.HeaderTraceparent, tr.parent)
	req.SetBodyRaw(body)
	// t_handoff: the call is sent now (a wait for a free connection is
	// in the queue hop, with the wire).
	var st [40]byte
	req.Header.SetBytesV(wire.HeaderStamps, wire.AppendStamps(st[:0], tr.apiIn, time.Now().UnixNano()))
	err := n.client.DoDeadline(req, resp, deadline)
	if err != nil {
		return outcome{status: svc.Classify(err), path: "sync", err: fmt.Errorf("notify: %w", err)}
	}
	switch code := resp.StatusCode(); code {
	case fasthttp.StatusOK:
		return outcome{status: fasthttp.StatusCreated, path: "sync"}
	case fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
		return outcome{status: code, path: "sync", err: fmt.Errorf("notify: notification service answered %d: %s", code, resp.Body())}
	default:
		return outcome{status: fasthttp.StatusBadGateway, path: "sync", err: fmt.Errorf("notify: notification service answered %d: %s", code, resp.Body())}
	}
}

func (n *syncNotifier) close(context.Context) error {
	n.client.CloseIdleConnections()
	return nil
}

func (n *syncNotifier) breaker() string { return "" }
