package broker

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProtocol(t *testing.T) {
	for _, tc := range []struct {
		have string
		want Protocol
		err  bool
	}{
		{"", Plaintext, false}, // unset is plaintext
		{"plaintext", Plaintext, false},
		{"SSL", SSL, false}, // Kafka's spelling works too
		{"sasl_ssl", SASLSSL, false},
		{"sasl_plaintext", "", true}, // SASL without TLS would send the password in clear
		{"tls", "", true},
	} {
		got, err := ParseProtocol(tc.have)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseProtocol(%q) = %q, %v; want %q, error %v", tc.have, got, err, tc.want, tc.err)
		}
	}
}

// The certificates verify for 127.0.0.1 and localhost against the CA
// alone, and the keystore holds the key first, as Kafka's PEM store wants.
func TestMakeCerts(t *testing.T) {
	caPEM, keystore, err := makeCerts()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the CA file holds no certificate")
	}
	kp, err := tls.X509KeyPair(keystore, keystore)
	if err != nil {
		t.Fatalf("the keystore is not a key and its chain: %v", err)
	}
	if !strings.HasPrefix(string(keystore), "-----BEGIN PRIVATE KEY-----") {
		t.Error("the keystore does not start with the PKCS#8 key")
	}
	leaf, err := x509.ParseCertificate(kp.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"127.0.0.1", "localhost", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("the broker certificate does not verify for %s: %v", name, err)
		}
	}
	other, _, _ := makeCerts()
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(other)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: otherPool, DNSName: "127.0.0.1"}); err == nil {
		t.Error("the broker certificate verifies against another CA")
	}
}

// A secured configuration has no plaintext listener but the controller's
// on loopback, and a SASL_SSL one keeps the passwords where they belong:
// the client's in the client files (0600), the broker's in
// server.properties.
func TestSecuredProperties(t *testing.T) {
	for _, p := range []Protocol{SSL, SASLSSL} {
		t.Run(string(p), func(t *testing.T) {
			dir := t.TempDir()
			s, err := secure(dir, p)
			if err != nil {
				t.Fatal(err)
			}
			conf := securedProperties(serverProperties(9092, 9093, 1, "/tmp/logs"), s, 9092, 9093)
			java, _, err := FindJava()
			if err != nil {
				t.Skip(err) // keytool comes with Java
			}
			if err := writeClientFiles(t.Context(), dir, "127.0.0.1:9092", java, s); err != nil {
				t.Fatal(err)
			}
			props := map[string]string{}
			for _, line := range strings.Split(conf, "\n") {
				if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
					if _, dup := props[k]; dup {
						t.Errorf("%s set twice", k)
					}
					props[k] = v
				}
			}
			name := strings.ToUpper(string(p))
			want := map[string]string{
				"listeners":                      name + "://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
				"advertised.listeners":           name + "://127.0.0.1:9092",
				"inter.broker.listener.name":     name,
				"listener.security.protocol.map": "CONTROLLER:PLAINTEXT," + name + ":" + name,
				"ssl.keystore.type":              "PEM",
				"log.dirs":                       "/tmp/logs", // the rest of the plaintext configuration stays
			}
			for k, v := range want {
				if props[k] != v {
					t.Errorf("%s = %q, want %q", k, props[k], v)
				}
			}
			env, err := os.ReadFile(filepath.Join(dir, ClientEnvFile))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{ClientEnvFile, ClientPropertiesFile, TruststoreFile, LibrdkafkaFile} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, want mode 0600", f, err)
				}
			}
			if fi, _ := os.Stat(filepath.Join(dir, keystoreFile)); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", keystoreFile, fi.Mode().Perm())
			}
			b := &Broker{Kind: Local, Protocol: p, DataDir: dir}
			sec, err := b.Security()
			if err != nil {
				t.Fatal(err)
			}
			if p == SSL {
				if sec.String() != "TLS" || strings.Contains(string(env), "PASSWORD") || len(s.scramArgs()) != 0 {
					t.Errorf("ssl: security %q, client env %q, scram args %q; want TLS only", sec, env, s.scramArgs())
				}
				return
			}
			if sec.String() != "TLS, SASL SCRAM-SHA-512 as "+ClientUser {
				t.Errorf("sasl_ssl: security %q", sec)
			}
			if !strings.Contains(string(env), "KAFKA_SASL_PASSWORD="+s.clientPassword) || strings.Contains(conf, s.clientPassword) {
				t.Error("the client's password is in server.properties, or not in client.env")
			}
			for f, want := range map[string]string{
				ClientPropertiesFile: `username="` + ClientUser + `" password="` + s.clientPassword + `";`,
				LibrdkafkaFile:       "sasl.password=" + s.clientPassword + "\n",
			} {
				if data, _ := os.ReadFile(filepath.Join(dir, f)); !strings.Contains(string(data), want) {
					t.Errorf("%s lacks %q:\n%s", f, want, data)
				}
			}
			if !strings.Contains(props["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"], `password="`+s.brokerPassword+`"`) {
				t.Error("the inter-broker login is not in server.properties")
			}
			if args := strings.Join(s.scramArgs(), " "); !strings.Contains(args, "name="+ClientUser+",password="+s.clientPassword) {
				t.Errorf("scram args %q do not create %s", args, ClientUser)
			}
		})
	}
}
