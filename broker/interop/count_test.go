package interop_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/results"
)

// The outside count: commbench runs async against the SASL_SSL broker as
// an external cluster, keeping its topics (--keep); then Kafka's Java
// consumer and librdkafka each count the run's reactions topic
// (commbench.<run id>.async.reactions), and both counts equal the run's
// accepted reactions plus its warm-up's (results.json: accepted,
// warmup_accepted), which the run counted from the answers it got.
func TestOutsideCount(t *testing.T) {
	s := local(t, broker.SASLSSL)
	exe := commbench(t)
	env, err := s.b.ClientEnv()
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "KAFKA_BROKERS="+s.addr())
	out := t.TempDir()
	profile, err := filepath.Abs(filepath.Join("testdata", "outside.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run := execute(t, env, exe, "run", "--broker", "external", "--profile", profile, "--keep", "--out", out)
	if run.err != nil {
		t.Fatalf("commbench run against the SASL_SSL broker failed\n%s", run)
	}
	dir := runDir(t, out)
	res, err := results.Read(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Patterns["async"]
	if p == nil {
		t.Fatalf("results.json has no async pattern: %v", keys(res.Patterns))
	}
	sum := p.Summary
	want := sum.Accepted + sum.WarmupAccepted
	if sum.Accepted == 0 || sum.WarmupAccepted == 0 {
		t.Fatalf("the run accepted %d, its warm-up %d: want both above 0\n%s", sum.Accepted, sum.WarmupAccepted, run)
	}
	if res.Run.ID != filepath.Base(dir) {
		t.Errorf("results.json's run.id %q, want the run folder's name %q", res.Run.ID, filepath.Base(dir))
	}
	topic := "commbench." + res.Run.ID + ".async.reactions"
	if !strings.Contains(run.stderr, "keeping topics "+topic) {
		t.Errorf("the run does not say it keeps %s\n%s", topic, run)
	}
	t.Logf("run %s: accepted %d + warm-up %d = %d in %s", res.Run.ID, sum.Accepted, sum.WarmupAccepted, want, topic)

	// The Java consumer reads until no record came for 15 s: the count is
	// what it printed and what it said it processed.
	j := javaRead(t, s, s.file(broker.ClientPropertiesFile), topic, 0, 15*time.Second)
	if n, said := len(j.lines()), javaProcessed(j); n != int(want) || said != int(want) {
		t.Errorf("the Java consumer counted %d records (said %d) in %s, want accepted %d + warm-up %d = %d\n%s",
			n, said, topic, sum.Accepted, sum.WarmupAccepted, want, j)
	}
	// librdkafka reads every partition to its end offset.
	r := rdkafka(t, "read", s.file(broker.LibrdkafkaFile), topic, "--timeout", "60")
	if n := len(r.lines()); r.err != nil || n != int(want) {
		t.Errorf("librdkafka counted %d records in %s, want accepted %d + warm-up %d = %d\n%s",
			n, topic, sum.Accepted, sum.WarmupAccepted, want, r)
	}
}

// runDir is the one run folder commbench run wrote under out.
func runDir(t *testing.T, out string) string {
	t.Helper()
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if _, err := os.Stat(filepath.Join(out, e.Name(), "results.json")); err == nil {
				dirs = append(dirs, filepath.Join(out, e.Name()))
			}
		}
	}
	if len(dirs) != 1 {
		t.Fatalf("run folders with a results.json in %s: %q, want one", out, dirs)
	}
	return dirs[0]
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
