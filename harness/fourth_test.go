package harness_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/harness/testdata/fourth/direct"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/notification"
)

// TestFourthPattern runs a pattern defined outside the project's packages
// through a whole smoke run: "direct" (testdata/fourth/direct), an HTTP
// call to a receiver of its own on the notification service. The services
// run from a binary the test builds (testdata/fourth), which registers the
// pattern, its sender and its receiver and then is 'commbench serve'; this
// process registers the pattern alone, for the harness's checks and traits.
// The registry is global: "direct" stays a pattern for the package's later
// tests, so that a profile without a patterns list would run it too (every
// profile these tests load names its patterns).
func TestFourthPattern(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole run: skipped under -short")
	}
	if !direct.Name.Valid() {
		if err := direct.Pattern(); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(t.TempDir(), "fourth")
	if out, err := exec.Command("go", "build", "-o", exe, "./testdata/fourth").CombinedOutput(); err != nil {
		t.Fatalf("build the fourth pattern's binary: %v\n%s", err, out)
	}

	p := quickSmoke(t)
	p.Patterns = []pattern.Pattern{direct.Name}
	res, dir, err := harness.Run(context.Background(), harness.RunOptions{
		Profile: p, ProfileFile: "profiles/smoke.yaml", Patterns: p.Patterns,
		Exe: exe, OutRoot: filepath.Join(t.TempDir(), "runs"), Logf: t.Logf,
	})
	noChildrenLeft(t)
	if err != nil {
		t.Fatal(err)
	}
	if res.Run.Partial {
		t.Errorf("partial: %s", res.Run.PartialReason)
	}
	if res.Run.Broker.Kind != "" {
		t.Errorf("broker %+v: a pattern without the Kafka trait needs none", res.Run.Broker)
	}
	pat := res.Patterns[string(direct.Name)]
	if pat == nil {
		t.Fatalf("results have no %s: %v", direct.Name, res.Patterns)
	}
	s := pat.Summary
	t.Logf("direct: requests %d accepted %d (sync %d) delivered %d lost %d duplicated %d dead-lettered %d", s.Requests, s.Accepted, s.AcceptedSync, s.Delivered, s.Lost, s.Duplicated, s.DeadLettered)
	if s.Requests != 400 && !s.Saturated || s.Requests == 0 {
		t.Errorf("requests %d (saturated %v), want the 400 scheduled", s.Requests, s.Saturated)
	}
	if s.Accepted != s.Requests || s.AcceptedSync != s.Accepted {
		t.Errorf("accepted %d (%d on the sync path) of %d: want every request accepted, once notified", s.Accepted, s.AcceptedSync, s.Requests)
	}
	if s.Delivered != s.Accepted || s.Lost != 0 || s.Duplicated != 0 || s.DeadLettered != 0 {
		t.Errorf("delivered %d of %d accepted, lost %d, duplicated %d, dead-lettered %d: want all delivered once", s.Delivered, s.Accepted, s.Lost, s.Duplicated, s.DeadLettered)
	}
	if s.Traced != s.Delivered {
		t.Errorf("traced %d of %d delivered: the receiver passes the hop stamps on", s.Traced, s.Delivered)
	}

	// The services' own counts, printed at their end into their logs: the
	// reactions came through the direct receiver, and none through
	// POST /v1/notify.
	reactionSent, _ := fourthLine(t, filepath.Join(dir, "reaction-direct.log"))
	_, notif := fourthLine(t, filepath.Join(dir, "notification-direct.log"))
	var st notification.Stats
	if err := json.Unmarshal([]byte(notif["notification"]), &st); err != nil {
		t.Fatalf("the notification service's stats %q: %v", notif["notification"], err)
	}
	received, _ := strconv.ParseInt(notif["received"], 10, 64)
	t.Logf("direct: the sender sent %d, the receiver took %d (the warmup included), /v1/notify took %d", reactionSent, received, st.HTTP.OK)
	// The receiver took the warmup too; the ledger was reset after it.
	if received < s.Accepted || received != reactionSent {
		t.Errorf("the direct receiver took %d, the sender sent %d, for %d accepted: want sent == received >= accepted", received, reactionSent, s.Accepted)
	}
	if st.HTTP.OK != 0 || st.Ledger.Delivered != s.Delivered {
		t.Errorf("notification stats: /v1/notify took %d, the ledger delivered %d; want 0 and %d", st.HTTP.OK, st.Ledger.Delivered, s.Delivered)
	}
	if r, ok := st.Receivers[string(direct.Name)].(map[string]any); !ok || r["received"] != float64(received) {
		t.Errorf("notification stats: receivers %v, want direct's count %d", st.Receivers, received)
	}
}

// fourthLine reads the FOURTH line the fourth binary prints at its end
// into the service's log: the sender's count and the line's fields.
func fourthLine(t *testing.T, log string) (sent int64, fields map[string]string) {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FOURTH sent=(\d+) received=(\d+) notification=(.*)$`).FindAllStringSubmatch(string(b), -1)
	if len(m) != 1 {
		t.Fatalf("%s: %d FOURTH lines, want 1 (did the service end gracefully?):\n%s", log, len(m), b)
	}
	sent, _ = strconv.ParseInt(m[0][1], 10, 64)
	return sent, map[string]string{"sent": m[0][1], "received": m[0][2], "notification": m[0][3]}
}
