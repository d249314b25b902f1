package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/netfault"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// What each target takes, as this runner fires it:
//
//   - provider outage, slowdown, latency: the notification service's admin
//     endpoint flips the simulated provider's switches.
//   - notification kill (SIGKILL), restart (SIGTERM, a graceful stop), both
//     started again with the same arguments after `for`; pause
//     (SIGSTOP/SIGCONT). A kill or restart would take the ledger with the
//     process, so those runs give the service a journal (--ledger-file) and
//     its ledger is replayed on start.
//   - broker pause (local or embedded); kill and restart for a local Apache
//     Kafka only, started again on the same ports and data folder. kfake
//     keeps everything in memory, so "restarting" it would be a new, empty
//     broker: refused, as is an external cluster.
//   - network latency, blackhole, reset on the reaction-notification link,
//     through a netfault proxy the run puts between the two services.
//     The links to the broker are refused: a Kafka client bootstraps from
//     the address it is given, then connects to the addresses the broker
//     advertises in its metadata (kafka-go does, as every client does), so
//     a proxy on the bootstrap address would only see metadata requests
//     while produce and fetch went around it. Doing it honestly needs a
//     broker listener per link advertised at the proxy's address.

// faults are a pattern's faults, and what they set up: a proxy on the
// reaction-notification link, a journal for the notification ledger.
type faults struct {
	r       *patternRun
	proxy   *netfault.Proxy // the reaction-notification link, or nil
	journal string          // the notification ledger's journal, or ""
}

var (
	_ part     = (*faults)(nil)
	_ attacker = (*faults)(nil)
)

// hasFault reports whether p has a fault on target whose kind is one of
// kinds (any kind when none are given).
func hasFault(p *profiles.Profile, target profiles.Target, kinds ...profiles.FaultKind) bool {
	for _, f := range p.Faults {
		if f.Target == target && (len(kinds) == 0 || slices.Contains(kinds, f.Kind)) {
			return true
		}
	}
	return false
}

// newFaults makes the profile's faults, fired by the ledger's owner. On
// services this run starts it prepares, before they start, what the
// faults need: a proxy on the reaction-notification link, a journal for a
// notification ledger that a fault will kill; both are undone once the
// services stopped.
func newFaults(r *patternRun) (part, error) {
	if len(r.p.Faults) == 0 || !r.o.Shard.OwnsLedger() {
		return nil, nil
	}
	f := &faults{r: r}
	if r.o.Targets != nil {
		return f, nil
	}
	if hasFault(r.p, profiles.TargetNetwork) {
		// The target is the notification service, whose address is known
		// once it started (start).
		p, err := netfault.Listen("127.0.0.1:0", "")
		if err != nil {
			return nil, fmt.Errorf("set up faults: %w", err)
		}
		f.proxy = p
		r.atEnd(func() { p.Close() })
	}
	if hasFault(r.p, profiles.TargetNotification, profiles.KindKill, profiles.KindRestart) {
		f.journal = filepath.Join(r.dir, r.key+"-ledger.journal")
		os.Remove(f.journal) // a journal of an earlier run is not this one's
		r.journal = f.journal
		// The reconciliation read the ledger; the journal (32 bytes a
		// delivery) is not kept in the run folder.
		r.atEnd(func() { os.Remove(f.journal) })
	}
	return f, nil
}

// start puts the proxy, if any, between the reaction service and what it
// calls: the notification service, its balancer or a chain's first relay.
func (f *faults) start(context.Context) error {
	if f.proxy != nil {
		f.proxy.SetTarget(strings.TrimPrefix(f.r.callURL, "http://"))
		f.r.callURL = "http://" + f.proxy.Addr()
	}
	return nil
}

func (f *faults) stop() {}

// during fires the faults at their times (fire).
func (f *faults) during(ctx context.Context, start time.Time) { f.fire(ctx, start) }

// after makes sure nothing is left paused or switched off (restore).
func (f *faults) after() { f.restore() }

// checkFaults refuses, before any load, the faults this runner cannot fire.
func checkFaults(o RunOptions) error {
	p := o.Profile
	needKafka := slices.ContainsFunc(o.Patterns, pattern.Pattern.UsesKafka)
	brokerKind := func() (broker.Kind, error) {
		if o.Existing != nil {
			return o.Existing.Kind, nil
		}
		return broker.Choose(o.Broker)
	}
	for i, f := range p.Faults {
		at := fmt.Sprintf("%s: faults[%d]: %s %s", o.ProfileFile, i, f.Target, f.Kind)
		if !slices.Contains(profiles.FaultKinds[f.Target], f.Kind) {
			return fmt.Errorf("%s: not a fault this target takes (%s takes %v)", at, f.Target, profiles.FaultKinds[f.Target])
		}
		switch f.Target {
		case profiles.TargetBroker:
			if !needKafka {
				return fmt.Errorf("%s: this run starts no broker (every pattern is sync); drop the fault or run an async or hybrid pattern", at)
			}
			kind, err := brokerKind()
			if err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
			switch {
			case kind == broker.External:
				return fmt.Errorf("%s: the broker is an external cluster, not a process of this run; broker faults need --broker local (or embedded for pause)", at)
			case f.Kind == profiles.KindPause:
			case o.Existing != nil:
				if err := o.Existing.Restartable(); err != nil {
					return fmt.Errorf("%s: %w", at, err)
				}
			default:
				if err := broker.RestartableKind(kind); err != nil {
					return fmt.Errorf("%s: %w", at, err)
				}
			}
		case profiles.TargetNetwork:
			if f.Link != profiles.LinkReactionNotification {
				return fmt.Errorf("%s: link %s is not supported: Kafka clients connect to the addresses the broker advertises, not to a proxy in front of its bootstrap address, so produce and fetch would go around the fault; use link reaction-notification, or a broker fault (pause, kill, restart)", at, f.Link)
			}
		}
	}
	return nil
}

// faultDetail says what a fault does beyond its target and kind, for the
// window in results.json and the report.
func faultDetail(f profiles.Fault) string {
	switch {
	case f.Kind == profiles.KindSlowdown:
		return fmt.Sprintf("latency x%g", f.Factor)
	case f.Target == profiles.TargetProvider && f.Kind == profiles.KindLatency:
		return "+" + f.Delay.String() + " per call"
	case f.Target == profiles.TargetNetwork && f.Kind == profiles.KindLatency:
		return fmt.Sprintf("+%s on %s (client to server)", f.Delay, f.Link)
	case f.Target == profiles.TargetNetwork:
		return string(f.Link)
	case f.Target == profiles.TargetNotification && f.Kind == profiles.KindKill:
		return "SIGKILL, started again after " + f.For.String() + "; its ledger is journalled to survive"
	case f.Target == profiles.TargetNotification && f.Kind == profiles.KindRestart:
		return "SIGTERM (graceful), started again after " + f.For.String() + "; its ledger is journalled to survive"
	case f.Target == profiles.TargetBroker && (f.Kind == profiles.KindKill || f.Kind == profiles.KindRestart):
		sig := "SIGKILL"
		if f.Kind == profiles.KindRestart {
			sig = "SIGTERM (graceful)"
		}
		return sig + ", started again after " + f.For.String() + " on the same ports and data; " +
			"one broker, replication factor 1: an acknowledged write survives the process's death (it is in the page cache) " +
			"but nothing protects it against the loss of that broker's machine or disk"
	}
	return ""
}

// fire fires the profile's faults at their times and undoes each at
// its end. A window ends when its fault is undone: for a process started
// again, once it answers.
func (ft *faults) fire(ctx context.Context, start time.Time) {
	r := ft.r
	var wg sync.WaitGroup
	for _, f := range r.p.Faults {
		wg.Go(func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(f.At.Std()))):
			}
			w := results.FaultWindow{Target: string(f.Target), Kind: string(f.Kind), StartS: time.Since(start).Seconds(), Detail: faultDetail(f)}
			if f.Target == profiles.TargetNetwork && !r.pattern.HasSyncPath() {
				w.Detail += "; async does not use this link"
			}
			detail := ""
			if w.Detail != "" {
				detail = ": " + w.Detail
			}
			r.o.Logf("%s: fault %s %s for %v%s", r.key, f.Target, f.Kind, f.For, detail)
			undo, err := ft.fault(ctx, f)
			if err != nil {
				w.Error = err.Error()
				r.o.Logf("%s: fault %s %s failed: %v", r.key, f.Target, f.Kind, err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Until(start.Add((f.At + f.For).Std()))):
			}
			if undo != nil {
				if err := undo(); err != nil {
					r.o.Logf("%s: ending fault %s %s: %v", r.key, f.Target, f.Kind, err)
					w.Error = strings.TrimPrefix(w.Error+"; ", "; ") + "ending it: " + err.Error()
				}
			}
			w.EndS = time.Since(start).Seconds()
			r.mu.Lock()
			r.faults = append(r.faults, w)
			r.mu.Unlock()
		})
	}
	wg.Wait()
}

// restore makes sure nothing is left paused or switched off after
// the attack, whatever happened to the fault goroutines. A process that a
// fault stopped is started again by that fault's own undo, which runs
// even when the attack ends early.
func (ft *faults) restore() {
	r := ft.r
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, f := range r.p.Faults {
		switch f.Target {
		case profiles.TargetProvider:
			for _, u := range r.ledgerURLs() {
				doJSON(ctx, "POST", u+wire.PathProvider, []byte(`{"outage":false,"slowdown":1,"delay":"0s"}`), nil)
			}
		case profiles.TargetNotification:
			r.notif.Signal(syscall.SIGCONT)
		case profiles.TargetBroker:
			if r.broker != nil && r.broker.Pid() != 0 && f.Kind == profiles.KindPause {
				syscall.Kill(-r.broker.Pid(), syscall.SIGCONT)
			}
		case profiles.TargetNetwork:
			if p := ft.proxy; p != nil {
				p.Set(netfault.Pass, 0)
			}
		}
	}
}

// restartTimeout bounds starting a process again after a fault.
const restartTimeout = 3 * time.Minute

// fault fires f and returns how to undo it.
func (ft *faults) fault(ctx context.Context, f profiles.Fault) (undo func() error, err error) {
	r := ft.r
	// startAgain is the undo of a kill or restart: it runs even when the
	// attack was interrupted, so it does not take ctx.
	startAgain := func(start func(context.Context) error) func() error {
		return func() error {
			c, cancel := context.WithTimeout(context.Background(), restartTimeout)
			defer cancel()
			return start(c)
		}
	}
	switch f.Target {
	case profiles.TargetProvider:
		return ft.providerFault(ctx, f)
	case profiles.TargetNotification:
		switch f.Kind {
		case profiles.KindPause:
			return func() error { return r.notif.Signal(syscall.SIGCONT) }, r.notif.Signal(syscall.SIGSTOP)
		case profiles.KindKill:
			if r.notif.PID() == 0 {
				return nil, fmt.Errorf("%s is not running", r.notif.Name)
			}
			r.notif.Kill()
			return startAgain(r.notif.Restart), nil
		case profiles.KindRestart:
			if r.notif.PID() == 0 {
				return nil, fmt.Errorf("%s is not running", r.notif.Name)
			}
			err := r.notif.Stop(Grace)
			return startAgain(r.notif.Restart), err
		}
	case profiles.TargetBroker:
		if r.broker == nil || r.broker.Pid() == 0 {
			return nil, errors.New("the broker is not a process of this run (external or none)")
		}
		switch f.Kind {
		case profiles.KindPause:
			pid := r.broker.Pid()
			return func() error { return syscall.Kill(-pid, syscall.SIGCONT) }, syscall.Kill(-pid, syscall.SIGSTOP)
		case profiles.KindKill, profiles.KindRestart:
			err := r.broker.Halt(ctx, f.Kind == profiles.KindKill)
			if err != nil && r.broker.Running() {
				return nil, err // still up: nothing to start again
			}
			return startAgain(r.broker.Start), err
		}
	case profiles.TargetNetwork:
		p := ft.proxy
		if p == nil {
			return nil, errors.New("no proxy on the link")
		}
		mode := map[profiles.FaultKind]netfault.Mode{
			profiles.KindLatency:   netfault.Latency,
			profiles.KindBlackhole: netfault.Blackhole,
			profiles.KindReset:     netfault.Reset,
		}[f.Kind]
		if mode == netfault.Pass {
			break
		}
		p.Set(mode, f.Delay.Std())
		return func() error { p.Set(netfault.Pass, 0); return nil }, nil
	}
	return nil, fmt.Errorf("%s %s is not supported", f.Target, f.Kind)
}

// providerFault fires a provider fault. It hits every replica's provider:
// they stand for one provider.
func (ft *faults) providerFault(ctx context.Context, f profiles.Fault) (undo func() error, err error) {
	r := ft.r
	providers := func(ctx context.Context, body string) error {
		var errs []error
		for _, u := range r.ledgerURLs() {
			errs = append(errs, doJSON(ctx, "POST", u+wire.PathProvider, []byte(body), nil))
		}
		return errors.Join(errs...)
	}
	provider := func(body string) error { return providers(ctx, body) }
	bg := func(body string) func() error {
		return func() error {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return providers(c, body)
		}
	}
	switch f.Kind {
	case profiles.KindOutage:
		return bg(`{"outage":false}`), provider(`{"outage":true}`)
	case profiles.KindSlowdown:
		return bg(`{"slowdown":1}`), provider(fmt.Sprintf(`{"slowdown":%g}`, f.Factor))
	case profiles.KindLatency:
		return bg(`{"delay":"0s"}`), provider(fmt.Sprintf(`{"delay":%q}`, f.Delay.String()))
	}
	return nil, fmt.Errorf("%s %s is not supported", f.Target, f.Kind)
}
