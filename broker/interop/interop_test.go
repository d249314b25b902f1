package interop_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/targets/notification"
)

// protocols are the secured listeners every client is tried against.
var protocols = []broker.Protocol{broker.SSL, broker.SASLSSL}

// wantTopics are topics every broker of the package has: the readiness
// probe's and the seeded async topic.
var wantTopics = []string{broker.ProbeTopic, notification.DefaultTopic}

// Kafka's own Java tools, with the client.properties and truststore broker
// up wrote, list the topics (TopicCommand) and read the async topic
// (ConsoleConsumer) over SSL and SASL_SSL.
func TestJavaListsAndReads(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			s := local(t, p)
			conf := s.file(broker.ClientPropertiesFile)
			if r := javaList(t, s, conf); r.err != nil || !hasAll(r.lines(), wantTopics) {
				t.Errorf("TopicCommand --list = %q, want %q among them\n%s", r.lines(), wantTopics, r)
			}
			r := javaRead(t, s, conf, notification.DefaultTopic, seedCount, 60*time.Second)
			if got := r.lines(); r.err != nil || !sameSet(got, s.seeded) {
				t.Errorf("ConsoleConsumer read %q, want the seeded %q\n%s", got, s.seeded, r)
			}
		})
	}
}

// librdkafka (confluent-kafka), with the librdkafka.conf broker up wrote,
// lists the topics and reads the async topic over SSL and SASL_SSL.
func TestLibrdkafkaListsAndReads(t *testing.T) {
	for _, p := range protocols {
		t.Run(string(p), func(t *testing.T) {
			s := local(t, p)
			conf := s.file(broker.LibrdkafkaFile)
			if r := rdkafka(t, "list", conf); r.err != nil || !hasAll(r.lines(), wantTopics) {
				t.Errorf("list = %q, want %q among them\n%s", r.lines(), wantTopics, r)
			}
			if r := rdkafka(t, "read", conf, notification.DefaultTopic); r.err != nil || !sameSet(r.lines(), s.seeded) {
				t.Errorf("read %q, want the seeded %q\n%s", r.lines(), s.seeded, r)
			}
		})
	}
}

// Debian's kcat lists and reads over SSL with librdkafka.conf. Over
// SASL_SSL, a kcat on librdkafka before 2.6.1 is refused as "invalid
// credentials" with the right password (broker.LibrdkafkaNote); a newer
// one lists the topics.
func TestKcat(t *testing.T) {
	t.Run("ssl", func(t *testing.T) {
		s := local(t, broker.SSL)
		conf := s.file(broker.LibrdkafkaFile)
		r := kcat(t, "-F", conf, "-L", "-m", "30")
		for _, topic := range wantTopics {
			if r.err != nil || !strings.Contains(r.stdout, `topic "`+topic+`"`) {
				t.Errorf("kcat -L does not list %s\n%s", topic, r)
			}
		}
		r = kcat(t, "-F", conf, "-C", "-t", notification.DefaultTopic, "-o", "beginning", "-e", "-q", "-m", "30")
		if got := r.lines(); r.err != nil || !sameSet(got, s.seeded) {
			t.Errorf("kcat -C read %q, want the seeded %q\n%s", got, s.seeded, r)
		}
	})
	t.Run("sasl_ssl", func(t *testing.T) {
		s := local(t, broker.SASLSSL)
		v := kcatLibrdkafka(t)
		r := kcat(t, "-F", s.file(broker.LibrdkafkaFile), "-L", "-m", "10")
		if versionAtLeast(v, "2.6.1") {
			if r.err != nil || !strings.Contains(r.stdout, `topic "`+notification.DefaultTopic+`"`) {
				t.Errorf("kcat on librdkafka %s over SASL_SSL does not list the topics\n%s", v, r)
			}
			return
		}
		if r.err == nil || !strings.Contains(r.stderr, "invalid credentials with SASL mechanism SCRAM-SHA-512") {
			t.Errorf("kcat on librdkafka %s over SASL_SSL: want the refusal the librdkafka note explains\n%s", v, r)
		}
	})
}

// A refusal is one wrong setting, as each client takes it, and what each
// must say about it.
type refusal struct {
	name      string
	protocols []broker.Protocol
	java      func(s *secured) map[string]string // client.properties changes
	rdkafka   func(s *secured) []string          // -X overrides of librdkafka.conf
	// javaSays and rdkafkaSays must all be in the client's stderr.
	javaSays, rdkafkaSays []string
}

// refusals are the wrong settings every client must be refused with. A
// wrong password and an unknown user read alike: Kafka does not tell
// whether a user exists.
func refusals(t *testing.T) []refusal {
	foreign := foreignCA(t)
	const credentials = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
	return []refusal{{
		name:      "wrong password",
		protocols: []broker.Protocol{broker.SASLSSL},
		java: func(*secured) map[string]string {
			return map[string]string{"sasl.jaas.config": jaas(broker.ClientUser, "not-the-password")}
		},
		rdkafka:     func(*secured) []string { return []string{"sasl.password=not-the-password"} },
		javaSays:    []string{"SaslAuthenticationException", credentials},
		rdkafkaSays: []string{"SASL authentication error: " + credentials},
	}, {
		name:      "unknown user",
		protocols: []broker.Protocol{broker.SASLSSL},
		java: func(s *secured) map[string]string {
			return map[string]string{"sasl.jaas.config": jaas("nobody", s.password())}
		},
		rdkafka:     func(*secured) []string { return []string{"sasl.username=nobody"} },
		javaSays:    []string{"SaslAuthenticationException", credentials},
		rdkafkaSays: []string{"SASL authentication error: " + credentials},
	}, {
		name:      "foreign CA",
		protocols: protocols,
		java: func(*secured) map[string]string {
			return map[string]string{"ssl.truststore.type": "PEM", "ssl.truststore.location": foreign, "ssl.truststore.password": ""}
		},
		rdkafka:     func(*secured) []string { return []string{"ssl.ca.location=" + foreign} },
		javaSays:    []string{"SslAuthenticationException: SSL handshake failed", "PKIX path building failed"},
		rdkafkaSays: []string{"SSL handshake failed", "certificate verify failed"},
	}, {
		// Kafka's TLS listener answers the first plaintext bytes with a TLS
		// alert and closes. librdkafka sees the connection closed while
		// asking for the API versions, its first request. The Java client
		// reads the alert's first four bytes as a response size
		// (0x15030300, 336 MiB) and, with the 256 MiB heap Kafka's scripts
		// give their tools (kafka-run-class.sh), runs out of memory
		// (KAFKA-4090).
		name:        "plaintext to the TLS port",
		protocols:   protocols,
		java:        func(*secured) map[string]string { return map[string]string{"security.protocol": "PLAINTEXT"} },
		rdkafka:     func(*secured) []string { return []string{"security.protocol=PLAINTEXT"} },
		javaSays:    []string{"java.lang.OutOfMemoryError: Java heap space", "NetworkReceive.readFrom"},
		rdkafkaSays: []string{"Disconnected: connection closed by peer", "in state APIVERSION_QUERY"},
	}}
}

// The Java tools and librdkafka are each refused with a wrong password, an
// unknown user, a CA that did not sign the broker's certificate, and
// plaintext to the TLS port, each with the error that says so: listing
// the topics and reading the async topic alike.
func TestRefused(t *testing.T) {
	for _, rf := range refusals(t) {
		for _, p := range rf.protocols {
			t.Run(rf.name+"/"+string(p)+"/java", func(t *testing.T) {
				s := local(t, p)
				set := rf.java(s)
				// A refused client may wait for a node until the API
				// timeout: a short one keeps the test short.
				set["default.api.timeout.ms"], set["request.timeout.ms"] = "8000", "5000"
				conf := javaConfig(t, s, set)
				refused(t, "TopicCommand --list", javaList(t, s, conf), rf.javaSays)
				r := javaRead(t, s, conf, notification.DefaultTopic, seedCount, 8*time.Second)
				if n := len(r.lines()); n > 0 {
					t.Errorf("ConsoleConsumer read %d records with %s\n%s", n, rf.name, r)
				}
				says(t, "ConsoleConsumer", r, rf.javaSays[:1])
			})
			t.Run(rf.name+"/"+string(p)+"/librdkafka", func(t *testing.T) {
				s := local(t, p)
				args := []string{"--timeout", "5"}
				for _, x := range rf.rdkafka(s) {
					args = append(args, "-X", x)
				}
				conf := s.file(broker.LibrdkafkaFile)
				refused(t, "list", rdkafka(t, append([]string{"list", conf}, args...)...), rf.rdkafkaSays)
				refused(t, "read", rdkafka(t, append([]string{"read", conf, notification.DefaultTopic}, args...)...), rf.rdkafkaSays)
			})
		}
	}
}

// refused checks that r failed and said every one of want.
func refused(t *testing.T, what string, r result, want []string) {
	t.Helper()
	if r.err == nil {
		t.Errorf("%s succeeded, want it refused\n%s", what, r)
		return
	}
	says(t, what, r, want)
}

// says checks that r's stderr holds every one of want.
func says(t *testing.T, what string, r result, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s does not say %q\n%s", what, w, r)
		}
	}
}

// password is the client user's password, from the broker's client.env.
func (s *secured) password() string {
	data, err := os.ReadFile(s.file(broker.ClientEnvFile))
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`(?m)^KAFKA_SASL_PASSWORD=(.*)$`).FindStringSubmatch(string(data))
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// foreignCA writes the certificate of a CA that signed nothing of the
// broker's, PEM, and returns its path.
func foreignCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "foreign CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "foreign-ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hasAll reports whether every one of want is in got.
func hasAll(got, want []string) bool {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return false
		}
	}
	return true
}

// sameSet reports whether got and want hold the same lines, in any order.
func sameSet(got, want []string) bool {
	a, b := slices.Clone(got), slices.Clone(want)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
