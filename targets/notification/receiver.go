package notification

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/wire"
)

// Receiver is a way reactions reach the service besides POST /v1/notify
// and the Kafka consumer group: a registered pattern's receiving side
// (RegisterReceiver). Today it is an HTTP endpoint on the service's own
// listener; whatever transport it speaks, it ends in Service.Notify, the
// one notify path, so that deduplication, the provider and the ledger are
// the same for every pattern.
type Receiver struct {
	// Path is the HTTP path Handler serves, e.g. /v1/direct; it must not be
	// one of the service's own paths.
	Path    string
	Handler fasthttp.RequestHandler
	// Stats, when set, are the receiver's counters, shown in GET /v1/stats
	// under "receivers", keyed by the receiver's name.
	Stats func() any
}

// receiverMakers are the registered receivers, in registration order.
var receiverMakers []struct {
	name string
	make func(*Service) (Receiver, error)
}

// RegisterReceiver adds a receiver named name (usually its pattern's name)
// that every service New makes gets, made by f with the service. The
// notification service has no pattern of its own (it takes HTTP and Kafka
// at once), so neither does a receiver: it is always there. Call it from an
// init function or at the start of main, before any service is made.
func RegisterReceiver(name string, f func(*Service) (Receiver, error)) error {
	if name == "" || f == nil {
		return errors.New("register a receiver: want a name and a maker")
	}
	for _, m := range receiverMakers {
		if m.name == name {
			return fmt.Errorf("register receiver %q: already registered", name)
		}
	}
	receiverMakers = append(receiverMakers, struct {
		name string
		make func(*Service) (Receiver, error)
	}{name, f})
	return nil
}

// ownPaths are the paths Handler serves itself.
var ownPaths = []string{wire.PathNotify, wire.PathLedger, wire.PathLedgerInterval, wire.PathHopInterval,
	wire.PathLedgerReset, wire.PathStats, wire.PathProvider, wire.PathHealth}

// receiver is a made Receiver and its name.
type receiver struct {
	name string
	Receiver
}

// makeReceivers makes every registered receiver for s.
func (s *Service) makeReceivers() error {
	for _, m := range receiverMakers {
		r, err := m.make(s)
		if err != nil {
			return fmt.Errorf("receiver %s: %w", m.name, err)
		}
		if !strings.HasPrefix(r.Path, "/") || r.Handler == nil {
			return fmt.Errorf("receiver %s: want a path starting with / and a handler", m.name)
		}
		for _, p := range ownPaths {
			if r.Path == p {
				return fmt.Errorf("receiver %s: %s is the service's own path", m.name, p)
			}
		}
		for _, o := range s.receivers {
			if r.Path == o.Path {
				return fmt.Errorf("receiver %s: %s is receiver %s's path", m.name, r.Path, o.name)
			}
		}
		s.receivers = append(s.receivers, receiver{m.name, r})
	}
	return nil
}

// serveReceiver serves a receiver's path; it reports whether there was one.
func (s *Service) serveReceiver(ctx *fasthttp.RequestCtx) bool {
	for _, r := range s.receivers {
		if string(ctx.Path()) == r.Path {
			r.Handler(ctx)
			return true
		}
	}
	return false
}

// receiverStats are the receivers' counters, nil without any.
func (s *Service) receiverStats() map[string]any {
	var m map[string]any
	for _, r := range s.receivers {
		if r.Stats != nil {
			if m == nil {
				m = map[string]any{}
			}
			m[r.name] = r.Stats()
		}
	}
	return m
}

// Notify is the one notify path, for a receiver: it skips a reaction
// delivered already (duplicate true), else calls the provider, bounded by
// the call timeout, and records the delivery in the ledger with its hop
// stamps st (APIIn and Handoff as the reaction came, NotifIn when it
// arrived; Notify stamps ProviderStart). An error wrapping
// provider.ErrOutage or context.DeadlineExceeded is the provider's outage
// or slowness; any other is a failure.
func (s *Service) Notify(ctx context.Context, r *wire.Reaction, st ledger.Stamps) (duplicate bool, err error) {
	return s.notify(ctx, r, st)
}
