package kafkasec_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParse(t *testing.T) {
	ca := writeCA(t)
	tests := []struct {
		name string
		have map[string]string
		want string // the String of the Config; "" when an error is wanted
		err  string // what the error must say
	}{
		// Nothing set: plaintext, as before.
		{name: "none", have: nil, want: "plaintext"},
		{name: "tls off", have: map[string]string{"KAFKA_TLS": "0"}, want: "plaintext"},
		{name: "tls", have: map[string]string{"KAFKA_TLS": "1"}, want: "TLS"},
		// A CA file implies TLS.
		{name: "ca implies tls", have: map[string]string{"KAFKA_TLS_CA": ca}, want: "TLS"},
		{name: "plain", have: map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, want: "SASL PLAIN as u"},
		// The mechanism is case-insensitive.
		{name: "scram 256", have: map[string]string{"KAFKA_TLS": "true", "KAFKA_SASL_MECHANISM": "scram-sha-256", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, want: "TLS, SASL SCRAM-SHA-256 as u"},
		{name: "scram 512", have: map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, want: "SASL SCRAM-SHA-512 as u"},
		// A typo fails fast, naming the variable and the choices.
		{name: "bad mechanism", have: map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-1", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, err: `KAFKA_SASL_MECHANISM: unknown mechanism "SCRAM-SHA-1": want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`},
		{name: "bad tls", have: map[string]string{"KAFKA_TLS": "maybe"}, err: `KAFKA_TLS: "maybe": want 1 or 0`},
		{name: "no user", have: map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_PASSWORD": "p"}, err: "KAFKA_SASL_USERNAME: unset"},
		{name: "no password", have: map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u"}, err: "KAFKA_SASL_PASSWORD: unset"},
		// A user name without a mechanism is a mistake, not plaintext.
		{name: "user without mechanism", have: map[string]string{"KAFKA_SASL_USERNAME": "u"}, err: "KAFKA_SASL_MECHANISM: unset"},
		{name: "missing ca", have: map[string]string{"KAFKA_TLS_CA": "/nonexistent/ca.pem"}, err: "KAFKA_TLS_CA: open /nonexistent/ca.pem"},
		{name: "cert without key", have: map[string]string{"KAFKA_TLS_CERT": ca}, err: "KAFKA_TLS_KEY: unset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kafkasec.Parse(env(tt.have))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, kafkasec.ErrEnv) {
					t.Fatalf("got error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("got %q, want %q", got.String(), tt.want)
			}
			if (got.Transport() == nil) != (tt.want == "plaintext") || (got.Dialer() == nil) != (tt.want == "plaintext") {
				t.Errorf("Transport/Dialer nil-ness does not match %q", tt.want)
			}
		})
	}
}

// TestSecureCluster produces through a secured Writer, reads the message
// back through a secured Reader, and reads lag through the broker Client,
// against kfake with TLS and each SASL mechanism.
func TestSecureCluster(t *testing.T) {
	for _, mech := range []string{kafkasec.Plain, kafkasec.ScramSHA256, kafkasec.ScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			certPEM, keyPEM := selfSigned(t)
			kp, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			const topic = "commbench.secure"
			c, err := kfake.NewCluster(
				kfake.NumBrokers(1),
				kfake.ListenFn(listenLoopback),
				kfake.EnableSASL(),
				kfake.Superuser(mech, "bench", "s3cret"),
				kfake.TLS(&tls.Config{Certificates: []tls.Certificate{kp}}),
				kfake.SeedTopics(2, topic),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			caFile := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
				t.Fatal(err)
			}
			sec, err := kafkasec.Parse(env(map[string]string{
				"KAFKA_TLS_CA": caFile, "KAFKA_SASL_MECHANISM": mech,
				"KAFKA_SASL_USERNAME": "bench", "KAFKA_SASL_PASSWORD": "s3cret",
			}))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			addrs := c.ListenAddrs()

			w := &kafka.Writer{Addr: kafka.TCP(addrs...), Topic: topic, Transport: sec.Transport(),
				RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Balancer: &kafka.Hash{}}
			defer w.Close()
			if err := w.WriteMessages(ctx, kafka.Message{Key: []byte("a"), Value: []byte("hello")}, kafka.Message{Key: []byte("b"), Value: []byte("world")}); err != nil {
				t.Fatalf("produce over TLS+SASL: %v", err)
			}

			client, err := broker.NewClient(addrs, sec)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			lag, _, err := client.Lag(ctx, "commbench.nobody", topic)
			if err != nil {
				t.Fatalf("lag over TLS+SASL: %v", err)
			}
			if lag != 2 {
				t.Errorf("got lag %d of a group that read nothing, want 2", lag)
			}

			r := kafka.NewReader(kafka.ReaderConfig{Brokers: addrs, Topic: topic, Partition: partitionOf(t, ctx, client, topic), Dialer: sec.Dialer(), MaxWait: 100 * time.Millisecond})
			defer r.Close()
			if _, err := r.ReadMessage(ctx); err != nil {
				t.Fatalf("fetch over TLS+SASL: %v", err)
			}

			// Without the credentials the cluster refuses.
			plain, err := broker.NewClient(addrs, kafkasec.Config{TLS: sec.TLS})
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			qctx, qcancel := context.WithTimeout(ctx, 3*time.Second)
			defer qcancel()
			if _, _, err := plain.Lag(qctx, "commbench.nobody", topic); err == nil {
				t.Error("lag without SASL succeeded, want it refused")
			}
		})
	}
}

// partitionOf finds a partition of topic with a message in it.
func partitionOf(t *testing.T, ctx context.Context, c *broker.Client, topic string) int {
	t.Helper()
	_, per, err := c.Lag(ctx, "commbench.nobody", topic)
	if err != nil {
		t.Fatal(err)
	}
	for p, n := range per {
		if n > 0 {
			return p
		}
	}
	t.Fatal("no partition holds a message")
	return 0
}

func listenLoopback(network, _ string) (net.Listener, error) {
	return net.Listen(network, "127.0.0.1:0")
}

// selfSigned returns a certificate for 127.0.0.1 and localhost, signed by
// itself, and its key, PEM-encoded.
func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "commbench test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func writeCA(t *testing.T) string {
	t.Helper()
	c, _ := selfSigned(t)
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, c, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func ExampleParse() {
	sec, err := kafkasec.Parse(func(k string) string {
		return map[string]string{"KAFKA_TLS": "1", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "bench", "KAFKA_SASL_PASSWORD": "secret"}[k]
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(sec)
	// Output: TLS, SASL SCRAM-SHA-512 as bench
}
