package harness_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// The fault tests: each fault kind fired in a short run (a few seconds at
// 100 rps), with an assertion on its effect inside its window against
// outside it, and on what the reconciliation says after the drain.

func dur(d time.Duration) profiles.Duration { return profiles.Duration(d) }

// faultProfile is quickSmoke with its own stages, patterns and faults.
func faultProfile(t *testing.T, stages time.Duration, patterns []pattern.Pattern, faults ...profiles.Fault) *profiles.Profile {
	t.Helper()
	p := quickSmoke(t)
	p.Stages = []profiles.Stage{{For: dur(stages), Rate: 100, To: 100}}
	p.Patterns = patterns
	p.Faults = faults
	// Retries that outlast a few seconds of outage: nothing dead-lettered
	// by a short fault.
	p.Services.Notification.Retries = 20
	p.Services.Notification.RetryMaxBackoff = dur(time.Second)
	p.Drain.Timeout = dur(60 * time.Second)
	return p
}

// second is one second of a pattern's series.
type second struct {
	drops, accepted, sent int64
	p99                   float64
	pathSync              int64
}

func seconds(pat *results.Pattern) []second {
	s := pat.Series
	out := make([]second, len(s.T))
	for i := range s.T {
		for _, d := range s.Drops {
			out[i].drops += d[i]
		}
		out[i].accepted = int64(s.AcceptedRPS[i])
		out[i].sent = int64(s.AchievedRPS[i])
		out[i].p99 = s.APIP99[i]
		out[i].pathSync = s.PathSync[i]
	}
	return out
}

// split sums the seconds of the attack that overlap window w (plus slack
// seconds after it, for calls that hung through it) and those that end
// before it starts.
func split(pat *results.Pattern, w results.FaultWindow, slack float64) (in, before second) {
	for i, s := range seconds(pat) {
		t := pat.Series.T[i]
		if t > pat.Series.AttackEndS+0.5 {
			break // the drain
		}
		switch {
		case t > w.StartS && t-1 < w.EndS+slack:
			in.drops += s.drops
			in.accepted += s.accepted
			in.sent += s.sent
			in.pathSync += s.pathSync
			in.p99 = max(in.p99, s.p99)
		case t <= w.StartS && t > 1: // the first second settles connections
			before.drops += s.drops
			before.accepted += s.accepted
			before.sent += s.sent
			before.p99 = max(before.p99, s.p99)
		}
	}
	return in, before
}

// window returns the pattern's one fired window of kind, failing the test
// if it is missing or could not be fired.
func window(t *testing.T, res *results.Results, key string, kind profiles.FaultKind) (*results.Pattern, results.FaultWindow) {
	t.Helper()
	pat := res.Patterns[key]
	if pat == nil {
		t.Fatalf("%s: no results", key)
	}
	for _, w := range pat.Faults {
		if w.Kind == string(kind) {
			if w.Error != "" {
				t.Fatalf("%s: fault %s %s: %s", key, w.Target, w.Kind, w.Error)
			}
			return pat, w
		}
	}
	t.Fatalf("%s: no %s window in %+v", key, kind, pat.Faults)
	return nil, results.FaultWindow{}
}

func TestFaultProviderOutage(t *testing.T) {
	b := localKafka(t)
	p := faultProfile(t, 6*time.Second, []pattern.Pattern{pattern.Sync, pattern.Async},
		profiles.Fault{At: dur(2 * time.Second), For: dur(2 * time.Second), Target: profiles.TargetProvider, Kind: profiles.KindOutage})
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Existing: b})
	if err != nil {
		t.Fatal(err)
	}
	pat, w := window(t, res, "sync", profiles.KindOutage)
	in, before := split(pat, w, 0)
	t.Logf("sync: in the outage %+v, before %+v", in, before)
	if in.drops == 0 {
		t.Errorf("sync: no errors inside the outage window [%.1f, %.1f] s", w.StartS, w.EndS)
	}
	if before.drops != 0 {
		t.Errorf("sync: %d errors before the outage", before.drops)
	}
	s := res.Patterns["async"].Summary
	t.Logf("async: accepted %d delivered %d lost %d dead-lettered %d drops %d", s.Accepted, s.Delivered, s.Lost, s.DeadLettered, s.Drops.Total)
	if s.Lost != 0 || !s.Drained {
		t.Errorf("async: lost %d (drained %v) after a provider outage, want 0", s.Lost, s.Drained)
	}
	if s.Drops.Total != 0 {
		t.Errorf("async: %d drops: the provider's outage reached the caller", s.Drops.Total)
	}
}

func TestFaultBrokerKill(t *testing.T) {
	b := localKafka(t)
	p := faultProfile(t, 6*time.Second, []pattern.Pattern{pattern.Async, pattern.Hybrid},
		profiles.Fault{At: dur(2 * time.Second), For: dur(2 * time.Second), Target: profiles.TargetBroker, Kind: profiles.KindKill})
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Existing: b})
	if err != nil {
		t.Fatal(err)
	}
	pat, w := window(t, res, "async", profiles.KindKill)
	if !strings.Contains(w.Detail, "replication factor 1") {
		t.Errorf("window detail %q does not say that one broker with replication factor 1 protects nothing against its loss", w.Detail)
	}
	in, before := split(pat, w, 0)
	t.Logf("async: in the window [%.1f, %.1f] %+v, before %+v; summary lost %d", w.StartS, w.EndS, in, before, pat.Summary.Lost)
	if in.drops == 0 {
		t.Errorf("async: no produce errors while the broker was down")
	}
	if pat.Summary.Lost != 0 {
		t.Errorf("async: %d acknowledged reactions lost to a SIGKILL of the broker", pat.Summary.Lost)
	}
	pat, w = window(t, res, "hybrid", profiles.KindKill)
	in, before = split(pat, w, 0)
	t.Logf("hybrid: in the window [%.1f, %.1f] %+v, before %+v", w.StartS, w.EndS, in, before)
	if in.sent == 0 || in.pathSync == 0 || in.accepted < in.sent*9/10 {
		t.Errorf("hybrid: with the broker down it accepted %d of %d (%d by the sync path); want it to keep answering through its sync path", in.accepted, in.sent, in.pathSync)
	}
}

func TestFaultNotificationKill(t *testing.T) {
	b := localKafka(t)
	p := faultProfile(t, 6*time.Second, []pattern.Pattern{pattern.Async},
		profiles.Fault{At: dur(2 * time.Second), For: dur(time.Second), Target: profiles.TargetNotification, Kind: profiles.KindKill})
	res, dir, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Existing: b})
	if err != nil {
		t.Fatal(err)
	}
	window(t, res, "async", profiles.KindKill)
	s := res.Patterns["async"].Summary
	t.Logf("async: accepted %d delivered %d duplicated %d deduplicated %d lost %d drain %.1f s", s.Accepted, s.Delivered, s.Duplicated, s.Deduplicated, s.Lost, s.DrainS)
	if s.Accepted == 0 || s.Lost != 0 || !s.Drained {
		t.Errorf("async: lost %d of %d accepted (drained %v) after a SIGKILL of the notification service, want 0", s.Lost, s.Accepted, s.Drained)
	}
	// The second process replayed the first one's journal: its log says so.
	log, _ := os.ReadFile(filepath.Join(dir, "notification-async.log"))
	if !strings.Contains(string(log), "--ledger-file") || !strings.Contains(string(log), "replayed from its journal") {
		t.Errorf("the notification service was not given a journal, or did not replay it; its log:\n%s", log)
	}
}

func TestFaultNetworkReactionNotification(t *testing.T) {
	// One sync run, three faults one after another on the link.
	link := func(at time.Duration, kind profiles.FaultKind) profiles.Fault {
		return profiles.Fault{At: dur(at), For: dur(1500 * time.Millisecond), Target: profiles.TargetNetwork, Kind: kind,
			Link: profiles.LinkReactionNotification, Delay: dur(200 * time.Millisecond)}
	}
	p := faultProfile(t, 13500*time.Millisecond, []pattern.Pattern{pattern.Sync},
		link(2*time.Second, profiles.KindLatency), link(6500*time.Millisecond, profiles.KindBlackhole), link(11*time.Second, profiles.KindReset))
	res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p})
	if err != nil {
		t.Fatal(err)
	}
	// The quiet seconds: those that overlap no window (nor the second after).
	pat := res.Patterns["sync"]
	quiet := 0.0
	for i, sec := range seconds(pat) {
		t0, t1 := pat.Series.T[i]-1, pat.Series.T[i]
		inAny := t0 < 1 || t1 > pat.Series.AttackEndS+0.5
		for _, w := range pat.Faults {
			inAny = inAny || (t1 > w.StartS && t0 < w.EndS+1)
		}
		if !inAny {
			quiet = max(quiet, sec.p99)
		}
	}
	for _, kind := range []profiles.FaultKind{profiles.KindLatency, profiles.KindBlackhole, profiles.KindReset} {
		pat, w := window(t, res, "sync", kind)
		in, _ := split(pat, w, 1)
		t.Logf("%s [%.1f, %.1f]: inside %+v; p99 outside the windows %.1f ms", kind, w.StartS, w.EndS, in, quiet)
		switch kind {
		case profiles.KindLatency:
			// Only the inside is asserted: the delay cannot make a call
			// faster, while a busy machine can make the quiet seconds slow.
			if in.p99 < 200 {
				t.Errorf("latency +200ms: p99 %.1f ms inside the window (%.1f outside); want >= 200 inside", in.p99, quiet)
			}
		case profiles.KindReset:
			if in.drops == 0 {
				t.Errorf("reset: no errors inside the window")
			}
		default:
			if in.drops == 0 && in.p99 < 200 {
				t.Errorf("%s: neither errors (%d) nor a latency rise (p99 %.1f ms, %.1f outside) inside the window", kind, in.drops, in.p99, quiet)
			}
		}
	}
}

func TestFaultsRefusedBeforeTheLoad(t *testing.T) {
	fault := func(target profiles.Target, kind profiles.FaultKind, link profiles.Link) profiles.Fault {
		return profiles.Fault{At: dur(time.Second), For: dur(time.Second), Target: target, Kind: kind, Link: link}
	}
	for _, c := range []struct {
		name     string
		patterns []pattern.Pattern
		broker   broker.Kind
		fault    profiles.Fault
		want     string
	}{
		// A proxy in front of the broker's bootstrap address would be bypassed.
		{"broker link", []pattern.Pattern{pattern.Async}, broker.Embedded, fault(profiles.TargetNetwork, profiles.KindReset, profiles.LinkReactionBroker), "link reaction-broker is not supported"},
		// kfake keeps everything in memory: a restart would be a new broker.
		{"embedded kill", []pattern.Pattern{pattern.Async}, broker.Embedded, fault(profiles.TargetBroker, profiles.KindKill, ""), "embedded kfake"},
		// An external cluster is not the run's to kill.
		{"external restart", []pattern.Pattern{pattern.Async}, broker.External, fault(profiles.TargetBroker, profiles.KindRestart, ""), "external"},
		// No pattern starts a broker.
		{"sync only", []pattern.Pattern{pattern.Sync}, broker.Embedded, fault(profiles.TargetBroker, profiles.KindPause, ""), "every pattern is sync"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := faultProfile(t, 3*time.Second, c.patterns, c.fault)
			o := harness.RunOptions{Profile: p, ProfileFile: "profiles/x.yaml", OutRoot: t.TempDir(), Exe: "/nonexistent",
				Broker: broker.Options{Kind: c.broker, Brokers: []string{"127.0.0.1:1"}}}
			_, _, err := harness.Run(context.Background(), o)
			if err == nil || !strings.HasPrefix(err.Error(), "profiles/x.yaml: faults[0]: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error naming profiles/x.yaml: faults[0] and %q", err, c.want)
			}
			if entries, _ := os.ReadDir(o.OutRoot); len(entries) != 0 {
				t.Errorf("a run folder was made before the refusal")
			}
		})
	}
}
