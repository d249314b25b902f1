// Package direct is a fake fourth pattern for harness tests: "direct" is a
// plain HTTP call, like sync, but over a way in of its own, so that a test
// can see a registered pattern's sender and receiver carry a whole run.
//
// The sender (the reaction service's side) POSTs the reaction to the
// notification service's /v1/direct, marked with the header X-Fourth-Direct;
// the receiver (the notification service's side) counts it and takes the
// service's one notify path (notification.Service.Notify).
//
// Pattern registers the pattern alone: the test process needs it (the
// harness checks the pattern and asks its traits). Register registers the
// pattern, the sender and the receiver: the binary the services run from
// (../main.go) needs them all.
package direct

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/reaction"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

// The pattern, its traits, its path and its mark.
const (
	Name   pattern.Pattern = "direct"
	Path                   = "/v1/direct"
	Header                 = "X-Fourth-Direct"
)

// Traits: an HTTP call, no Kafka, no chain form.
var Traits = pattern.Traits{SyncPath: true}

// Pattern registers the pattern and its traits.
func Pattern() error { return pattern.Register(Name, Traits) }

// Register registers the pattern, its sender and its receiver.
func Register() error {
	return errors.Join(Pattern(),
		reaction.RegisterNotifier(Name, newSender),
		notification.RegisterReceiver(string(Name), newReceiver))
}

// Counters, for the binary to print at its end.
var (
	Sent     atomic.Int64 // reactions the sender had notified
	Received atomic.Int64 // reactions the receiver took
	// Service is the notification service the receiver was made for, nil
	// in a reaction service.
	Service atomic.Pointer[notification.Service]
)

type sender struct {
	client  *fasthttp.HostClient
	uri     string
	timeout time.Duration
}

func newSender(cfg reaction.Config) (reaction.Notifier, error) {
	u, err := url.Parse(cfg.NotifyURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("notify URL %q: want http://host:port", cfg.NotifyURL)
	}
	return &sender{
		client:  svc.NewHostClient(u.Host, "commbench-direct", cfg.MaxConns, cfg.ConnWait, cfg.Timeout),
		uri:     "http://" + u.Host + Path,
		timeout: cfg.Timeout,
	}, nil
}

// Notify answers 201 once the receiver answered 200, on the "sync" path
// (the reaction is accepted only once notified).
func (s *sender) Notify(r *wire.Reaction, tr reaction.Trace, body []byte) reaction.Outcome {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(Header, "1")
	req.Header.SetBytesV(wire.HeaderTraceparent, tr.Parent)
	req.Header.SetBytesV(wire.HeaderStamps, wire.AppendStamps(nil, tr.APIIn, time.Now().UnixNano()))
	req.SetBodyRaw(body)
	if err := s.client.DoDeadline(req, resp, time.Now().Add(s.timeout)); err != nil {
		return reaction.Outcome{Status: svc.Classify(err), Path: "sync", Err: fmt.Errorf("direct: %w", err)}
	}
	if code := resp.StatusCode(); code != fasthttp.StatusOK {
		return reaction.Outcome{Status: fasthttp.StatusBadGateway, Path: "sync", Err: fmt.Errorf("direct: the receiver answered %d: %s", code, resp.Body())}
	}
	Sent.Add(1)
	return reaction.Outcome{Status: fasthttp.StatusCreated, Path: "sync"}
}

func (s *sender) Close(context.Context) error {
	s.client.CloseIdleConnections()
	return nil
}

func newReceiver(ns *notification.Service) (notification.Receiver, error) {
	Service.Store(ns)
	return notification.Receiver{
		Path: Path,
		Handler: func(ctx *fasthttp.RequestCtx) {
			notifIn := time.Now().UnixNano()
			if string(ctx.Request.Header.Peek(Header)) != "1" {
				svc.WriteError(ctx, fasthttp.StatusBadRequest, "not marked "+Header)
				return
			}
			var r wire.Reaction
			if !svc.DecodeReaction(ctx, &r) {
				return
			}
			Received.Add(1)
			apiIn, handoff, _ := wire.ParseStamps(ctx.Request.Header.Peek(wire.HeaderStamps))
			dup, err := ns.Notify(context.Background(), &r, ledger.Stamps{APIIn: apiIn, Handoff: handoff, NotifIn: notifIn})
			switch {
			case err == nil:
				if dup {
					ctx.Response.Header.Set(wire.HeaderDuplicate, "1")
				}
				ctx.SetStatusCode(fasthttp.StatusOK)
			case errors.Is(err, provider.ErrOutage):
				svc.WriteError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
			case errors.Is(err, context.DeadlineExceeded):
				svc.WriteError(ctx, fasthttp.StatusGatewayTimeout, err.Error())
			default:
				svc.WriteError(ctx, fasthttp.StatusBadGateway, err.Error())
			}
		},
		Stats: func() any { return map[string]int64{"received": Received.Load()} },
	}, nil
}
