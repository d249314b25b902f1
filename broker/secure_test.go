package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// broker up --security ssl|sasl_ssl starts Apache Kafka with a secured
// listener and prints, after KAFKA_BROKERS, what a client exports; those
// settings connect, none do not; status prints them again; down stops the
// broker and removes the CA and passwords with its data folder.
func TestCLIUpSecured(t *testing.T) {
	localKafka(t) // skip when the shared one would; the jars are resolved
	exe := commbench(t)
	for _, tc := range []struct {
		protocol string
		vars     []string // what up prints after KAFKA_BROKERS, in order
	}{
		{"ssl", []string{"KAFKA_TLS_CA"}},
		{"sasl_ssl", []string{"KAFKA_TLS_CA", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"}},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "broker.json")
			run := func(args ...string) (string, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, exe, append([]string{"broker"}, append(args, "--state", state)...)...)
				cmd.Env = cleanEnv() // no exported settings of another broker
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				if err != nil {
					err = fmt.Errorf("%v: %w\n%s", args, err, stderr.String())
				}
				return string(out), err
			}
			out, err := run("up", "--kind", "local", "--security", tc.protocol, "--heap", "256m")
			if err != nil {
				t.Fatal(err)
			}
			b, err := broker.Load(state)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Stop(context.Background()) }) // if down fails
			env, names := exports(out)
			if want := append([]string{"KAFKA_BROKERS"}, tc.vars...); !slices.Equal(names, want) {
				t.Fatalf("up printed %q, want %q\n%s", names, want, out)
			}
			for _, f := range []string{broker.ClientPropertiesFile, broker.TruststoreFile, broker.LibrdkafkaFile, broker.ClientEnvFile} {
				if f != broker.TruststoreFile && !strings.Contains(out, filepath.Join(b.DataDir, f)) { // client.properties names the truststore
					t.Errorf("up does not show how to use %s\n%s", f, out)
				}
				if _, err := os.Stat(filepath.Join(b.DataDir, f)); err != nil {
					t.Errorf("up did not write %s: %v", f, err)
				}
			}
			if got := strings.Contains(out, "librdkafka >= 2.6.1"); got != (tc.protocol == "sasl_ssl") {
				t.Errorf("up says librdkafka >= 2.6.1: %v, want it with sasl_ssl only\n%s", got, out)
			}
			if env["KAFKA_BROKERS"] != strings.Join(b.Addrs, ",") {
				t.Errorf("KAFKA_BROKERS=%s, want %s", env["KAFKA_BROKERS"], strings.Join(b.Addrs, ","))
			}
			sec, err := kafkasec.Parse(func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("the printed settings do not parse: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := broker.Probe(ctx, b.Addrs, sec); err != nil {
				t.Errorf("probe with the printed settings: %v", err)
			}
			if err := broker.Probe(ctx, b.Addrs, kafkasec.Config{}); err == nil || !strings.Contains(err.Error(), "KAFKA_TLS") {
				t.Errorf("probe in plaintext = %v, want a refusal naming KAFKA_TLS", err)
			}
			if st, err := run("status"); err != nil || !strings.Contains(st, "running") || !strings.Contains(st, "KAFKA_TLS_CA="+env["KAFKA_TLS_CA"]) {
				t.Errorf("status = %q, %v; want running and the settings", st, err)
			}
			if _, err := run("down"); err != nil {
				t.Error(err)
			}
			if broker.GroupAlive(b.PID) {
				t.Errorf("process group %d still alive after down", b.PID)
			}
			if _, err := os.Stat(env["KAFKA_TLS_CA"]); !os.IsNotExist(err) {
				t.Errorf("the CA %s is left after down: %v", env["KAFKA_TLS_CA"], err)
			}
		})
	}
}

// --security with a broker that cannot listen with it fails before
// anything starts, naming the flag.
func TestCLIUpSecuredRefused(t *testing.T) {
	exe := commbench(t)
	for _, args := range [][]string{
		{"--kind", "embedded", "--security", "ssl"},
		{"--kind", "external", "--brokers", "127.0.0.1:9", "--security", "sasl_ssl"},
		{"--security", "sasl_plaintext"},
	} {
		cmd := exec.Command(exe, append([]string{"broker", "up", "--state", filepath.Join(t.TempDir(), "b.json")}, args...)...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "security") {
			t.Errorf("broker up %q = %v, want a failure about --security\n%s", args, err, out)
		}
	}
}

// exports returns the KAFKA_* lines of out, and their names in order.
func exports(out string) (map[string]string, []string) {
	env := map[string]string{}
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "KAFKA_") {
			env[k] = v
			names = append(names, k)
		}
	}
	return env, names
}

// cleanEnv is this process's environment without the Kafka variables.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "KAFKA_BROKERS" && !slices.Contains(kafkasec.Vars, k) {
			out = append(out, kv)
		}
	}
	return out
}
