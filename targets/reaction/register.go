package reaction

import (
	"context"
	"errors"
	"fmt"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/wire"
)

// Notifier is the contract of a pattern's sender registered from outside
// this package (RegisterNotifier): how the reaction service gets the
// notification service to act. The built-in patterns implement the same
// contract unexported (notifier, in service.go).
type Notifier interface {
	// Notify hands the reaction on and says how that ended. body is r's
	// canonical JSON encoding and tr.Parent its trace context, both owned
	// by the caller until Notify returns. It is called concurrently.
	Notify(r *wire.Reaction, tr Trace, body []byte) Outcome
	// Close releases connections and flushes what is buffered.
	Close(ctx context.Context) error
}

// Trace is what a reaction's notification carries besides its body: the W3C
// traceparent and when the reaction service received the request (Unix
// ns). A sender stamps the hand-off as it sends (wire.AppendStamps in
// wire.HeaderStamps, over HTTP), so that the ledger can split the time.
type Trace struct {
	Parent []byte
	APIIn  int64
}

// Outcome is how the notification step ended: the status the reaction
// service answers (201: notified; 202: handed off durably; 502, 503, 504:
// failed), the path it reports in wire.HeaderPath ("sync" when it answers
// only once notified, "async" when it answers on the hand-off: the load
// generator counts those two), and the error behind a failure.
type Outcome struct {
	Status int
	Path   string
	Err    error
}

// RegisterNotifier makes f the sender of pattern p, which must be a
// pattern already (pattern.Register) and have no notifier yet. The service
// calls f once, in New, with the configuration (defaults applied); a
// notifier that wants a circuit breaker brings its own. Call it from an
// init function or at the start of main, before any service is made.
func RegisterNotifier(p pattern.Pattern, f func(Config) (Notifier, error)) error {
	switch {
	case f == nil:
		return errors.New("register a notifier: nil")
	case !p.Valid():
		return fmt.Errorf("register a notifier for %q: not a pattern (pattern.Register it first)", p)
	}
	if _, ok := notifiers[p]; ok {
		return fmt.Errorf("register a notifier for %s: it has one", p)
	}
	notifiers[p] = func(cfg Config, _ *breakerCounts) (notifier, error) {
		n, err := f(cfg)
		if err != nil {
			return nil, err
		}
		if n == nil {
			return nil, fmt.Errorf("%s: the registered notifier made none", p)
		}
		return registered{n}, nil
	}
	return nil
}

// registered adapts a Notifier to the service's notifier.
type registered struct{ n Notifier }

func (a registered) notify(r *wire.Reaction, tr trace, body []byte) outcome {
	o := a.n.Notify(r, Trace{Parent: tr.parent, APIIn: tr.apiIn}, body)
	return outcome{status: o.Status, path: o.Path, err: o.Err}
}

func (a registered) close(ctx context.Context) error { return a.n.Close(ctx) }

// breaker reports the notifier's circuit breaker state when it has one
// (a Breaker() string method), else "".
func (a registered) breaker() string {
	if b, ok := a.n.(interface{ Breaker() string }); ok {
		return b.Breaker()
	}
	return ""
}
