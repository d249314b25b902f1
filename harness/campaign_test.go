package harness_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// The fault campaign with a ledger check (issue 15): async and hybrid
// through profiles/campaign.yaml's faults — notification kill, restart and
// pause, provider outage, a black-holed link, broker kill — shortened, and
// then what the ledger says: every accepted reaction delivered or
// dead-lettered, the counts adding up, nothing lost. A loss is allowed
// only where a fault can lose data by design (a broker kill on one
// replica), and then it must be in the run's warnings with its ids and in
// every claim that read the pattern: never silent.
//
// COMMBENCH_CAMPAIGN_REPS=5 go test -run TestFaultCampaign ./harness runs
// it five times (one run each, a fresh topic and group each); the default
// is once, about a minute and a half on 2 cores.

// campaignProfile is profiles/campaign.yaml with its faults compressed to
// seconds, at 100 rps.
func campaignProfile(t *testing.T) *profiles.Profile {
	t.Helper()
	p, err := profiles.Load("../profiles/campaign.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := func(d float64) profiles.Duration { return dur(time.Duration(d * float64(time.Second))) }
	p.Stages = []profiles.Stage{{For: s(25), Rate: 100, To: 100}}
	p.Warmup = profiles.Warmup{For: s(1), Rate: 50}
	// When, and how long: the provider's and the link's faults first (they
	// need the notification service up), then the notification service's,
	// each with time to come back (a graceful stop takes seconds), the
	// broker last.
	window := map[[2]string][2]float64{
		{"provider", "outage"}:      {2, 1.5},
		{"network", "blackhole"}:    {5, 1.5},
		{"notification", "kill"}:    {8, 1},
		{"notification", "restart"}: {11, 1},
		{"notification", "pause"}:   {16, 1.5},
		{"broker", "kill"}:          {20, 2},
	}
	for i, f := range p.Faults {
		w, ok := window[[2]string{string(f.Target), string(f.Kind)}]
		if !ok {
			t.Fatalf("profiles/campaign.yaml: fault %s %s has no place in the shortened campaign; add it here", f.Target, f.Kind)
		}
		p.Faults[i].At, p.Faults[i].For = s(w[0]), s(w[1])
	}
	// Few retries, so that the short provider outage dead-letters some:
	// the ledger's dead-letter set is checked too, not only deliveries.
	p.Services.Notification.Retries = 4
	p.Services.Notification.RetryMaxBackoff = dur(400 * time.Millisecond)
	p.Drain.Timeout = dur(90 * time.Second)
	return p
}

// campaignReps is COMMBENCH_CAMPAIGN_REPS, default 1.
func campaignReps(t *testing.T) int {
	t.Helper()
	v := os.Getenv("COMMBENCH_CAMPAIGN_REPS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		t.Fatalf("COMMBENCH_CAMPAIGN_REPS=%q: want a whole number from 1 to 100", v)
	}
	return n
}

func TestFaultCampaign(t *testing.T) {
	b := localKafka(t)
	reps := campaignReps(t)
	var (
		table []string
		dead  int64
	)
	for rep := 1; rep <= reps; rep++ {
		p := campaignProfile(t)
		res, _, err := runSmoke(t, context.Background(), harness.RunOptions{Profile: p, Existing: b})
		if err != nil {
			t.Fatalf("repetition %d: %v", rep, err)
		}
		for _, key := range []string{"async", "hybrid"} {
			pat := res.Patterns[key]
			if pat == nil {
				t.Fatalf("repetition %d: no %s in the results", rep, key)
			}
			s := pat.Summary
			table = append(table, fmt.Sprintf("%d  %-6s  accepted %5d (sync %5d, async %5d)  delivered %5d  duplicated %3d  deduplicated %4d  dead-lettered %3d  lost %d  delivered-unaccepted %3d  drained %v in %.1f s",
				rep, key, s.Accepted, s.AcceptedSync, s.AcceptedAsync, s.Delivered, s.Duplicated, s.Deduplicated, s.DeadLettered, s.Lost, s.DeliveredUnaccepted, s.Drained, s.DrainS))
			checkCampaign(t, fmt.Sprintf("repetition %d: %s", rep, key), p, res, key)
			dead += s.DeadLettered
		}
	}
	t.Logf("the campaign, %d repetition(s):\n%s", reps, strings.Join(table, "\n"))
	if dead == 0 {
		t.Errorf("nothing was dead-lettered: the provider outage did not outlast the retries, so the dead-letter half of the check was not exercised")
	}
}

// checkCampaign asserts what the ledger says of one pattern's campaign run.
func checkCampaign(t *testing.T, at string, p *profiles.Profile, res *results.Results, key string) {
	t.Helper()
	pat := res.Patterns[key]
	s := pat.Summary
	fired := map[string]bool{}
	for _, w := range pat.Faults {
		if w.Error != "" {
			t.Errorf("%s: fault %s %s failed: %s", at, w.Target, w.Kind, w.Error)
		}
		fired[w.Target+" "+w.Kind] = true
	}
	for _, f := range p.Faults {
		if !fired[string(f.Target)+" "+string(f.Kind)] {
			t.Errorf("%s: fault %s %s has no window: it did not run", at, f.Target, f.Kind)
		}
	}
	if s.LostUnknown {
		t.Fatalf("%s: the final ledger read failed: nothing can be checked", at)
	}
	if s.Accepted == 0 || !s.Drained {
		t.Errorf("%s: accepted %d, drained %v; want some accepted and the backlog drained", at, s.Accepted, s.Drained)
	}
	// The ledger's sets add up: every accepted id is delivered,
	// dead-lettered or lost (a dead-lettered id may also have been
	// delivered, by hybrid's sync call, so the sum can exceed accepted).
	acceptedDelivered := s.Delivered - s.DeliveredUnaccepted
	if s.Accepted > acceptedDelivered+s.DeadLettered+s.Lost || s.Accepted < acceptedDelivered+s.Lost {
		t.Errorf("%s: accepted %d, but delivered of them %d + dead-lettered %d + lost %d do not account for it",
			at, s.Accepted, acceptedDelivered, s.DeadLettered, s.Lost)
	}
	if s.Duplicated < 0 || s.Deduplicated < 0 {
		t.Errorf("%s: duplicated %d, deduplicated %d: counts cannot be negative", at, s.Duplicated, s.Deduplicated)
	}
	if s.Lost == 0 {
		return
	}
	// A loss: allowed only with a broker kill, and never silent.
	t.Logf("LOSS %s: %d accepted reactions lost", at, s.Lost)
	if !fired["broker kill"] {
		t.Errorf("%s: lost %d accepted reactions with no broker kill to explain it", at, s.Lost)
	}
	warned := false
	for _, w := range res.Run.Warnings {
		warned = warned || (strings.HasPrefix(w, key+":") && strings.Contains(w, "LOST") && strings.Contains(w, "ids "))
	}
	if !warned {
		t.Errorf("%s: lost %d, and the run's warnings do not say so with the ids: %q", at, s.Lost, res.Run.Warnings)
	}
	for _, c := range claims.Evaluate(res) {
		if c.Verdict != claims.NotExercised && strings.Contains(c.Evidence, key) && !strings.Contains(c.Evidence, key+" lost") {
			t.Errorf("%s: lost %d, and claim %s, which reads %s, does not cite it: %s", at, s.Lost, c.ID, key, c.Evidence)
		}
	}
}
