package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/targets"
)

// The hooks below let faults sit between the run's processes. run.go
// calls them around starting the services of a pattern.

// setupFaults prepares what the profile's faults need before the services
// start (e.g. a proxy on a link).
func (r *patternRun) setupFaults(ctx context.Context) error { return nil }

// teardownFaults undoes setupFaults.
func (r *patternRun) teardownFaults() {}

// notifyTarget is the URL the reaction service calls the notification
// service at: the notification service itself, or a proxy in between.
func (r *patternRun) notifyTarget() string { return r.notifyURL }

// brokerAddrsFor is the Kafka address service ("reaction" or
// "notification") is given.
func (r *patternRun) brokerAddrsFor(service string) []string { return r.broker.Addrs }

// faultArgs are extra flags for service's process.
func (r *patternRun) faultArgs(service string) []string { return nil }

// checkFaults refuses, before any load, the faults this runner cannot fire.
func checkFaults(o RunOptions, p *profiles.Profile) error {
	for i, f := range p.Faults {
		ok := false
		switch f.Target {
		case profiles.TargetProvider:
			ok = f.Kind == profiles.KindOutage || f.Kind == profiles.KindSlowdown
		case profiles.TargetNotification:
			ok = f.Kind == profiles.KindPause
		case profiles.TargetBroker:
			ok = f.Kind == profiles.KindPause
		}
		if !ok {
			return fmt.Errorf("%s: faults[%d]: %s %s cannot be fired yet (supported: provider outage and slowdown, notification pause, broker pause)", o.ProfileFile, i, f.Target, f.Kind)
		}
	}
	return nil
}

func faultDetail(f profiles.Fault) string {
	switch f.Kind {
	case profiles.KindSlowdown:
		return fmt.Sprintf("latency x%g", f.Factor)
	case profiles.KindLatency:
		return "+" + f.Delay.String()
	}
	return ""
}

// fireFaults fires the profile's faults at their times and undoes each at
// its end.
func (r *patternRun) fireFaults(ctx context.Context, start time.Time) {
	var wg sync.WaitGroup
	for _, f := range r.p.Faults {
		wg.Go(func() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(start.Add(f.At.Std()))):
			}
			w := FaultWindow{Target: string(f.Target), Kind: string(f.Kind), StartS: time.Since(start).Seconds(), Detail: faultDetail(f)}
			r.o.Logf("%s: fault %s %s %s for %v", r.key, f.Target, f.Kind, w.Detail, f.For)
			undo, err := r.fault(ctx, f)
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

// restoreFaults makes sure nothing is left paused or switched off after
// the attack, whatever happened to the fault goroutines.
func (r *patternRun) restoreFaults() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, f := range r.p.Faults {
		switch f.Target {
		case profiles.TargetProvider:
			doJSON(ctx, "POST", r.notifyURL+targets.PathProvider, []byte(`{"outage":false,"slowdown":1}`), nil)
		case profiles.TargetNotification:
			r.notif.Signal(syscall.SIGCONT)
		case profiles.TargetBroker:
			if r.broker != nil && r.broker.PID != 0 {
				syscall.Kill(-r.broker.PID, syscall.SIGCONT)
			}
		}
	}
}

// fault fires f and returns how to undo it.
func (r *patternRun) fault(ctx context.Context, f profiles.Fault) (undo func() error, err error) {
	provider := func(body string) error {
		return doJSON(ctx, "POST", r.notifyURL+targets.PathProvider, []byte(body), nil)
	}
	bg := func(body string) func() error {
		return func() error {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return doJSON(c, "POST", r.notifyURL+targets.PathProvider, []byte(body), nil)
		}
	}
	switch {
	case f.Target == profiles.TargetProvider && f.Kind == profiles.KindOutage:
		return bg(`{"outage":false}`), provider(`{"outage":true}`)
	case f.Target == profiles.TargetProvider && f.Kind == profiles.KindSlowdown:
		return bg(`{"slowdown":1}`), provider(fmt.Sprintf(`{"slowdown":%g}`, f.Factor))
	case f.Target == profiles.TargetNotification && f.Kind == profiles.KindPause:
		return func() error { return r.notif.Signal(syscall.SIGCONT) }, r.notif.Signal(syscall.SIGSTOP)
	case f.Target == profiles.TargetBroker && f.Kind == profiles.KindPause:
		if r.broker == nil || r.broker.PID == 0 {
			return nil, errors.New("the broker is not a process of this run (external or none)")
		}
		pid := r.broker.PID
		return func() error { return syscall.Kill(-pid, syscall.SIGCONT) }, syscall.Kill(-pid, syscall.SIGSTOP)
	}
	return nil, fmt.Errorf("%s %s is not supported", f.Target, f.Kind)
}
