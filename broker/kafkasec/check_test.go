package kafkasec_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// TestCheck: 'commbench broker check' with the settings 'broker up'
// printed reports the version, the listener, the mechanism and the
// topics; each of the five failures is one line that names it, and
// broker.Check's error wraps its sentinel.
func TestCheck(t *testing.T) {
	b, env := securedKafka(t)
	exe := buildCommbench(t)
	check := func(e map[string]string, args ...string) (stdout, stderr string, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, append([]string{"broker", "check", "--state", filepath.Join(t.TempDir(), "none.json")}, args...)...)
		cmd.Env = os.Environ()
		for _, k := range append([]string{"KAFKA_BROKERS"}, kafkasec.Vars...) {
			cmd.Env = append(cmd.Env, k+"="+e[k])
		}
		var o, s bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &s
		err = cmd.Run()
		return o.String(), s.String(), err
	}

	out, errOut, err := check(env)
	if err != nil {
		t.Fatalf("check with the printed settings: %v\n%s%s", err, out, errOut)
	}
	for _, want := range []string{
		"version: Apache Kafka " + b.Version[:strings.LastIndexByte(b.Version, '.')] + " (metadata.version",
		"listener: SASL_SSL (TLS 1.3, certificate for localhost, 127.0.0.1",
		"mechanisms offered: SCRAM-SHA-512\n",
		"authenticated: SCRAM-SHA-512 as " + broker.ClientUser + "\n",
		"  " + broker.ProbeTopic + ": 1 partitions\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check printed no %q:\n%s", want, out)
		}
	}

	plainTLS := net.JoinHostPort("127.0.0.1", controllerPort(t, b)) // the controller listens in plaintext
	closed := closedPort(t)
	noSec := []string{"KAFKA_TLS_CA", "", "KAFKA_SASL_MECHANISM", "", "KAFKA_SASL_USERNAME", "", "KAFKA_SASL_PASSWORD", ""}
	for _, tc := range []struct {
		name   string
		change []string
		want   error
		line   string // what the one line says
	}{
		{"wrong password", []string{"KAFKA_SASL_PASSWORD", "not-the-password"}, broker.ErrCredentials, `wrong password or unknown user: the broker refused user "commbench"`},
		{"unknown user", []string{"KAFKA_SASL_USERNAME", "nobody"}, broker.ErrCredentials, `wrong password or unknown user: the broker refused user "nobody"`},
		{"foreign CA", []string{"KAFKA_TLS_CA", writeCA(t)}, broker.ErrForeignCA, `the CA did not sign the broker's certificate (it is signed by "CN=commbench local Kafka CA`},
		{"plaintext to TLS", noSec, broker.ErrPlaintextToTLS, "plaintext to a TLS port: " + b.Addrs[0] + " wants TLS"},
		{"TLS to plaintext", []string{"KAFKA_BROKERS", plainTLS, "KAFKA_SASL_MECHANISM", "", "KAFKA_SASL_USERNAME", "", "KAFKA_SASL_PASSWORD", ""}, broker.ErrTLSToPlaintext, "TLS to a plaintext port: " + plainTLS},
		{"unreachable", []string{"KAFKA_BROKERS", closed}, broker.ErrUnreachable, "broker unreachable: " + closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := with(env, tc.change...)
			sec, err := kafkasec.Parse(func(k string) string { return e[k] })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := broker.Check(ctx, broker.SplitAddrs(e["KAFKA_BROKERS"]), sec); !errors.Is(err, tc.want) {
				t.Errorf("Check = %v, want %v", err, tc.want)
			}
			out, errOut, err := check(e)
			if err == nil {
				t.Fatalf("check succeeded, want %q\n%s", tc.line, out)
			}
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "commbench: broker check: "+tc.line) {
				t.Errorf("check said %q, want one line starting %q", errOut, "commbench: broker check: "+tc.line)
			}
		})
	}
}

// controllerPort reads the controller listener's port from the broker's
// server.properties.
func controllerPort(t *testing.T, b *broker.Broker) string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join(b.DataDir, "server.properties"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`CONTROLLER://127\.0\.0\.1:(\d+)`).FindSubmatch(conf)
	if m == nil {
		t.Fatal("no controller listener in server.properties")
	}
	return string(m[1])
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
