package kafkasec_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/results"
)

// TestRealKafka produces through a secured Writer, reads lag through the
// broker Client, and consumes and commits through a secured consumer-group
// Reader, against Apache Kafka's SASL_SSL listener with the CA and the
// SCRAM-SHA-512 user it made at start.
func TestRealKafka(t *testing.T) {
	b, env := securedKafka(t)
	sec, err := kafkasec.Parse(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sec.String(), "TLS, SASL SCRAM-SHA-512 as "+broker.ClientUser; got != want {
		t.Errorf("got security %q, want %q", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topic, group = "commbench.secure.real", "commbench.secure.group"
	if err := broker.CreateTopics(ctx, b.Addrs, sec, 2, topic); err != nil {
		t.Fatalf("create a topic over SASL_SSL: %v", err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addrs...), Topic: topic, Transport: sec.Transport(),
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Balancer: &kafka.Hash{}}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("a"), Value: []byte("hello")}, kafka.Message{Key: []byte("b"), Value: []byte("world")}); err != nil {
		t.Fatalf("produce over SASL_SSL: %v", err)
	}
	client, err := broker.NewClient(b.Addrs, sec)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if lag, _, err := client.Lag(ctx, group, topic); err != nil || lag != 2 {
		t.Fatalf("lag over SASL_SSL of a group that read nothing = %d, %v; want 2", lag, err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: b.Addrs, Topic: topic, GroupID: group, Dialer: sec.Dialer(),
		MaxWait: 100 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("fetch over SASL_SSL: %v", err)
	}
	if err := r.CommitMessages(ctx, m); err != nil {
		t.Fatalf("commit over SASL_SSL: %v", err)
	}
	if lag, _, err := client.Lag(ctx, group, topic); err != nil || lag != 1 {
		t.Errorf("lag after one commit = %d, %v; want 1", lag, err)
	}
}

// TestRealKafkaRefuses: each wrong setting fails at once — with an error
// naming the variable to fix, not a hang until a deadline — both when the
// harness probes the cluster and when a Writer produces.
func TestRealKafkaRefuses(t *testing.T) {
	b, env := securedKafka(t)
	otherCA := writeCA(t) // a CA that did not sign the broker's certificate
	tests := []struct {
		name   string
		change []string // variable, new value ("" unsets)
		want   string   // the variable the error names first
	}{
		// Kafka does not say which of the two was wrong.
		{"wrong password", []string{"KAFKA_SASL_PASSWORD", "not-the-password"}, "KAFKA_SASL_PASSWORD (or KAFKA_SASL_USERNAME)"},
		{"unknown user", []string{"KAFKA_SASL_USERNAME", "nobody"}, "KAFKA_SASL_PASSWORD (or KAFKA_SASL_USERNAME)"},
		{"wrong CA", []string{"KAFKA_TLS_CA", otherCA}, "KAFKA_TLS_CA"},
		// The listener offers SCRAM-SHA-512 only.
		{"other mechanism", []string{"KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"}, "KAFKA_SASL_MECHANISM"},
		{"no TLS", []string{"KAFKA_TLS_CA", ""}, "KAFKA_TLS"},
		{"no SASL", []string{"KAFKA_SASL_MECHANISM", "", "KAFKA_SASL_USERNAME", "", "KAFKA_SASL_PASSWORD", ""}, "KAFKA_SASL_MECHANISM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := with(env, tt.change...)
			sec, err := kafkasec.Parse(func(k string) string { return e[k] })
			if err != nil {
				t.Fatal(err)
			}
			// A hang would end at this deadline; the test wants the
			// broker's refusal, so a deadline error fails it.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = broker.Probe(ctx, b.Addrs, sec)
			checkRefused(t, "probe", err, tt.want)

			w := &kafka.Writer{Addr: kafka.TCP(b.Addrs...), Topic: "commbench.secure.refused", Transport: sec.Transport(),
				RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
			defer w.Close()
			err = w.WriteMessages(ctx, kafka.Message{Value: []byte("x")})
			checkRefused(t, "produce", kafkasec.Explain(err, sec), tt.want)
		})
	}
}

func checkRefused(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want it refused", what)
	case errors.Is(err, context.DeadlineExceeded):
		t.Errorf("%s hung until the deadline: %v", what, err)
	case !strings.Contains(err.Error(), want+":"):
		t.Errorf("%s: got %v, want an error naming %s", what, err, want)
	}
}

// TestSmokeRun runs the async pattern of a tiny profile with commbench run
// through the secured broker, as a user would after exporting what
// 'commbench broker up --security sasl_ssl' printed: the services inherit
// the variables. A wrong password stops the run before the attack, naming
// KAFKA_SASL_PASSWORD.
func TestSmokeRun(t *testing.T) {
	b, env := securedKafka(t)
	exe := buildCommbench(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "secure-smoke.yaml")
	if err := os.WriteFile(profile, []byte(tinyProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(env map[string]string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, "run", "--profile", profile, "--broker", "external", "--out", filepath.Join(dir, "runs"))
		cmd.Dir = dir
		cmd.Env = os.Environ()
		for _, k := range append([]string{"KAFKA_BROKERS"}, kafkasec.Vars...) {
			cmd.Env = append(cmd.Env, k+"="+env[k]) // unset ones are empty, which Parse reads as unset
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	out, err := run(env)
	if err != nil {
		t.Fatalf("commbench run through %s: %v\n%s", b, err, out)
	}
	res, err := results.Read(filepath.Join(dir, "runs", "latest", "results.json"))
	if err != nil {
		res, err = readNewest(t, filepath.Join(dir, "runs"))
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := strings.Join(res.Run.Broker.Addrs, ","); got != env["KAFKA_BROKERS"] || res.Run.Broker.Kind != "external" {
		t.Errorf("the run's broker is %s at %s, want external at %s", res.Run.Broker.Kind, got, env["KAFKA_BROKERS"])
	}
	s := res.Patterns["async"]
	if s == nil {
		t.Fatalf("no async pattern in the results (%v)", res.Keys())
	}
	if sum := s.Summary; sum.Accepted == 0 || sum.Delivered < sum.Accepted || sum.Lost != 0 || sum.LostUnknown {
		t.Errorf("async through SASL_SSL: accepted %d, delivered %d, lost %d (unknown %v); want all accepted delivered\n%s",
			sum.Accepted, sum.Delivered, sum.Lost, sum.LostUnknown, out)
	}

	start := time.Now()
	out, err = run(with(env, "KAFKA_SASL_PASSWORD", "not-the-password"))
	if err == nil || !strings.Contains(out, "KAFKA_SASL_PASSWORD") {
		t.Errorf("commbench run with a wrong password: %v, want a failure naming KAFKA_SASL_PASSWORD\n%s", err, out)
	}
	t.Logf("the run with a wrong password ended in %v (measured under contention)", time.Since(start).Round(time.Millisecond))
}

// tinyProfile is smoke.yaml cut down: async only, 4 s at 50 rps.
const tinyProfile = `name: secure-smoke
description: async through a SASL_SSL broker, a few seconds at a low rate.
patterns: [async]
stages:
  - {for: 4s, rate: 50}
warmup: {for: 1s, rate: 20}
services:
  provider: {latency: {p50: 2ms, p99: 10ms}, capacity: 64, error_rate: 0}
  notification: {consumers: 2, concurrency: 8, retries: 3, retry_backoff: 20ms, retry_max_backoff: 500ms}
  reaction: {write_cost: 0s, timeout: 2s}
  kafka: {partitions: 2}
attack: {timeout: 5s, workers: 8, max_workers: 64, connections: 64}
drain: {timeout: 30s}
`

// readNewest reads the results.json of the only run folder under root.
func readNewest(t *testing.T, root string) (*results.Results, error) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(root, "*", "results.json"))
	if len(m) == 0 {
		return nil, errors.New("no results.json under " + root)
	}
	return results.Read(m[len(m)-1])
}

// buildCommbench builds the commbench binary into the test's folder.
func buildCommbench(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(t.TempDir(), "commbench")
	out, err := exec.Command("go", "build", "-o", exe, "github.com/commbench/commbench/cmd/commbench").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/commbench: %v\n%s", err, out)
	}
	return exe
}
