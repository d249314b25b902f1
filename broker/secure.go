package broker

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/commbench/commbench/broker/kafkasec"
)

// Protocol is the security protocol of a local broker's client listener
// (Kafka's security.protocol).
type Protocol string

// The protocols a local broker can listen with.
const (
	// Plaintext: no TLS, no authentication (the default).
	Plaintext Protocol = "plaintext"
	// SSL: TLS with a certificate signed by a CA made at start; no
	// client authentication.
	SSL Protocol = "ssl"
	// SASLSSL: TLS as SSL, and SASL SCRAM-SHA-512 with a user and a
	// random password made at start.
	SASLSSL Protocol = "sasl_ssl"
)

// ParseProtocol returns the Protocol named s ("" is Plaintext).
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(strings.ToLower(s)); p {
	case "":
		return Plaintext, nil
	case Plaintext, SSL, SASLSSL:
		return p, nil
	}
	return "", fmt.Errorf("unknown security protocol %q: want plaintext, ssl or sasl_ssl", s)
}

// listenerName is the name of the client (and inter-broker) listener in
// server.properties: Kafka's own protocol names.
func (p Protocol) listenerName() string { return strings.ToUpper(string(p)) }

// The files a secured local broker keeps in its data folder.
const (
	CAFile        = "ca.pem"     // the CA's certificate: what clients trust (KAFKA_TLS_CA)
	keystoreFile  = "broker.pem" // the broker's key and certificate chain, PEM (0600)
	ClientEnvFile = "client.env" // the KAFKA_* lines a client exports (0600: holds the password)
)

// ClientUser is the SCRAM user a SASL_SSL local broker creates for its
// clients; the broker itself talks to itself as interBrokerUser.
const (
	ClientUser      = "commbench"
	interBrokerUser = "commbench-broker"
)

// secured is what a secured local broker needs besides the plaintext
// configuration: the listener's protocol, the files made for it, the
// passwords, and the client settings.
type secured struct {
	protocol       Protocol
	caFile, keyPEM string
	clientPassword string
	brokerPassword string
	clientEnv      []string // KAFKA_TLS_CA=…, KAFKA_SASL_*=…
}

// secure makes, in dir, a CA and a broker certificate for 127.0.0.1 and
// localhost signed by it, and for SASL_SSL two random passwords; the
// client's files are written by writeClientFiles once the address is known.
func secure(dir string, p Protocol) (*secured, error) {
	s := &secured{protocol: p, caFile: filepath.Join(dir, CAFile), keyPEM: filepath.Join(dir, keystoreFile)}
	caPEM, keystore, err := makeCerts()
	if err != nil {
		return nil, fmt.Errorf("make the broker's certificates: %w", err)
	}
	if err := os.WriteFile(s.caFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.keyPEM, keystore, 0o600); err != nil {
		return nil, err
	}
	s.clientEnv = []string{kafkasec.EnvTLSCA + "=" + s.caFile}
	if p == SASLSSL {
		s.clientPassword, s.brokerPassword = password(), password()
		s.clientEnv = append(s.clientEnv,
			kafkasec.EnvMechanism+"="+kafkasec.ScramSHA512,
			kafkasec.EnvUsername+"="+ClientUser,
			kafkasec.EnvPassword+"="+s.clientPassword)
	}
	return s, nil
}

// password returns 24 random URL-safe characters: nothing that needs
// quoting in a JAAS line, a --add-scram argument or a shell.
func password() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// scramArgs are the kafka-storage format arguments that create the SCRAM
// users in the metadata log (in KRaft, users exist before the broker
// starts only this way).
func (s *secured) scramArgs() []string {
	if s == nil || s.protocol != SASLSSL {
		return nil
	}
	return []string{
		"--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", ClientUser, s.clientPassword),
		"--add-scram", fmt.Sprintf("SCRAM-SHA-512=[name=%s,password=%s]", interBrokerUser, s.brokerPassword),
	}
}

// properties returns the lines that replace the plaintext listener with
// the secured one, for clients and between brokers. The controller
// listener stays PLAINTEXT on 127.0.0.1: KRaft keeps SCRAM users in the
// metadata log the controller serves, so the controller cannot
// authenticate with them, and a one-node quorum talks only to itself.
func (s *secured) properties(port, controllerPort int) string {
	name := s.protocol.listenerName()
	var b strings.Builder
	fmt.Fprintf(&b, `listeners=%[1]s://127.0.0.1:%[2]d,CONTROLLER://127.0.0.1:%[3]d
advertised.listeners=%[1]s://127.0.0.1:%[2]d
inter.broker.listener.name=%[1]s
listener.security.protocol.map=CONTROLLER:PLAINTEXT,%[1]s:%[1]s
ssl.keystore.type=PEM
ssl.keystore.location=%[4]s
ssl.truststore.type=PEM
ssl.truststore.location=%[5]s
ssl.client.auth=none
ssl.endpoint.identification.algorithm=https
`, name, port, controllerPort, s.keyPEM, s.caFile)
	if s.protocol == SASLSSL {
		fmt.Fprintf(&b, `sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.%s.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="%s" password="%s";
`, strings.ToLower(name), interBrokerUser, s.brokerPassword)
	}
	return b.String()
}

// securedProperties rewrites a plaintext server.properties: its listener
// lines are dropped and s's are added.
func securedProperties(plain string, s *secured, port, controllerPort int) string {
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(plain))
	for sc.Scan() {
		line := sc.Text()
		key, _, _ := strings.Cut(line, "=")
		switch key {
		case "listeners", "advertised.listeners", "inter.broker.listener.name", "listener.security.protocol.map":
			continue
		}
		out.WriteString(line + "\n")
	}
	out.WriteString(s.properties(port, controllerPort))
	return out.String()
}

// certValidity is how long the generated certificates are valid: a broker
// started for a run or a day of work.
const certValidity = 30 * 24 * time.Hour

// makeCerts returns a new CA's certificate, and the PEM keystore Kafka
// reads (ssl.keystore.type=PEM): the broker's PKCS#8 key, unencrypted,
// then its certificate for 127.0.0.1, ::1 and localhost and the CA's.
func makeCerts() (caPEM, keystore []byte, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "commbench local Kafka CA", Organization: []string{"commbench"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"commbench"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		// The broker is a server to clients and a client to itself
		// (inter-broker listener).
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	var ks bytes.Buffer
	pem.Encode(&ks, &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	pem.Encode(&ks, &pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	ks.Write(caPEM)
	return caPEM, ks.Bytes(), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// ClientEnv returns the variables a client of a secured local broker
// exports (KAFKA_TLS_CA=…, and for SASL_SSL KAFKA_SASL_MECHANISM=…,
// KAFKA_SASL_USERNAME=…, KAFKA_SASL_PASSWORD=…), read from the data
// folder; nil for a plaintext broker.
func (b *Broker) ClientEnv() ([]string, error) {
	if b.Protocol == "" || b.Protocol == Plaintext {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(b.DataDir, ClientEnvFile))
	if err != nil {
		return nil, fmt.Errorf("%s broker's client settings: %w", b.Protocol, err)
	}
	var env []string
	for _, line := range strings.Split(string(data), "\n") {
		// KAFKA_BROKERS is in the file for a shell to source; callers
		// print it from Addrs.
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "KAFKA_BROKERS=") {
			env = append(env, line)
		}
	}
	return env, nil
}

// Security returns how a client connects to b: the zero Config for a
// plaintext broker, else ClientEnv parsed by kafkasec.
func (b *Broker) Security() (kafkasec.Config, error) {
	env, err := b.ClientEnv()
	if err != nil || env == nil {
		return kafkasec.Config{}, err
	}
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return kafkasec.Parse(func(k string) string { return m[k] })
}
