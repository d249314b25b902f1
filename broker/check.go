package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker/kafkasec"
)

// The failures Check tells apart. Each of its errors wraps one of them,
// or none when the broker failed some other way; the error's text names
// what was wrong and what to set.
var (
	ErrUnreachable    = errors.New("broker unreachable")
	ErrCredentials    = errors.New("wrong password or unknown user")
	ErrForeignCA      = errors.New("the CA did not sign the broker's certificate")
	ErrPlaintextToTLS = errors.New("plaintext to a TLS port")
	ErrTLSToPlaintext = errors.New("TLS to a plaintext port")
)

// CheckReport is what Check found out about a cluster.
type CheckReport struct {
	Addr string // the address that was checked first
	// Version is the broker's Apache Kafka release as its metadata.version
	// levels tell it (the protocol carries no exact version), e.g. "4.3
	// (metadata.version supported up to level 30, finalized 30)".
	Version string
	// Protocol is the listener's security.protocol: PLAINTEXT, SSL,
	// SASL_PLAINTEXT or SASL_SSL.
	Protocol string
	// TLS says the TLS version and whose certificate, signed by whom; ""
	// without TLS.
	TLS string
	// Mechanisms are the SASL mechanisms the listener enables.
	Mechanisms []string
	// Authenticated is the mechanism and user that logged in, "" without
	// SASL.
	Authenticated string
	// Topics and their partition counts, by name.
	Topics []TopicPartitions
}

// TopicPartitions is a topic and its number of partitions.
type TopicPartitions struct {
	Name       string
	Partitions int
}

// Check connects to the cluster at addrs as sec says and reports the
// broker's version, its listener's protocol, the mechanism that
// authenticated, and the topics. Each address is first checked on its own,
// before any authentication, with ApiVersions and SaslHandshake; then the
// topics are read with kafka-go, as the harness connects.
func Check(ctx context.Context, addrs []string, sec kafkasec.Config) (*CheckReport, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	var r *CheckReport
	for _, a := range addrs {
		ra, err := checkListener(ctx, a, sec)
		if err != nil {
			return nil, err
		}
		if r == nil {
			r = ra
		}
	}
	c, err := NewClient(addrs, sec)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	md, err := c.kc.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, explainCheck(err, sec)
	}
	for _, t := range md.Topics {
		if t.Error == nil && !t.Internal {
			r.Topics = append(r.Topics, TopicPartitions{Name: t.Name, Partitions: len(t.Partitions)})
		}
	}
	sort.Slice(r.Topics, func(i, j int) bool { return r.Topics[i].Name < r.Topics[j].Name })
	if sec.SASL != nil {
		r.Authenticated = fmt.Sprintf("%s as %s", sec.SASL.Name(), sec.User)
	}
	return r, nil
}

// explainCheck names what a refusal of the authenticated Metadata means.
func explainCheck(err error, sec kafkasec.Config) error {
	if errors.Is(err, kafka.SASLAuthenticationFailed) {
		return fmt.Errorf("%w: the broker refused user %q with %s (set %s, %s; Kafka does not say which of the two): %v",
			ErrCredentials, sec.User, sec.SASL.Name(), kafkasec.EnvPassword, kafkasec.EnvUsername, err)
	}
	return kafkasec.Explain(err, sec)
}

// checkListener dials addr and asks, before any login, what the listener
// is: which TLS, which Kafka release, which SASL mechanisms.
func checkListener(ctx context.Context, addr string, sec kafkasec.Config) (*CheckReport, error) {
	conn, err := dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	r := &CheckReport{Addr: addr, Protocol: "PLAINTEXT"}
	if sec.TLS != nil {
		tc, err := handshake(ctx, conn, addr, sec.TLS)
		if err != nil {
			return nil, err
		}
		conn, r.Protocol, r.TLS = tc, "SSL", describeTLS(tc.ConnectionState())
	}
	w := newWireConn(conn)
	av, err := w.apiVersions()
	if err != nil {
		if sec.TLS == nil && speaksTLS(ctx, addr) {
			return nil, fmt.Errorf("%w: %s wants TLS and this connection is plaintext: set %s to the CA that signed its certificate (or %s=1 for the system's roots): %v",
				ErrPlaintextToTLS, addr, kafkasec.EnvTLSCA, kafkasec.EnvTLS, err)
		}
		return nil, fmt.Errorf("%s does not answer Kafka's ApiVersions (is it a Kafka listener?): %w", addr, err)
	}
	r.Version = describeVersion(av)
	mech := kafkasec.ScramSHA512
	if sec.SASL != nil {
		mech = sec.SASL.Name()
	}
	mechs, sasl, err := w.saslMechanisms(mech)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", addr, err)
	}
	if sasl {
		r.Protocol, r.Mechanisms = "SASL_"+r.Protocol, mechs
	}
	switch {
	case sasl && sec.SASL == nil:
		return nil, fmt.Errorf("%s: the listener is %s and wants a SASL login (%s): set %s, %s and %s",
			addr, r.Protocol, strings.Join(mechs, ", "), kafkasec.EnvMechanism, kafkasec.EnvUsername, kafkasec.EnvPassword)
	case !sasl && sec.SASL != nil:
		return nil, fmt.Errorf("%s: the listener is %s and takes no SASL login: unset %s, %s and %s", addr, r.Protocol,
			kafkasec.EnvMechanism, kafkasec.EnvUsername, kafkasec.EnvPassword)
	case sasl && !slices.Contains(mechs, mech):
		return nil, fmt.Errorf("%s: %s: the listener takes %s, not %s", addr, kafkasec.EnvMechanism, strings.Join(mechs, ", "), mech)
	}
	return r, nil
}

// dial opens a TCP connection to addr within DialTimeout.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v (check the address, KAFKA_BROKERS or --brokers, and that a broker listens there)", ErrUnreachable, addr, err)
	}
	return conn, nil
}

// handshake runs the TLS handshake on conn, verifying the broker's
// certificate for addr's host unless cfg names a server.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *tls.Config) (*tls.Conn, error) {
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	hctx, cancel := context.WithTimeout(ctx, 2*DialTimeout)
	defer cancel()
	tc := tls.Client(conn, cfg)
	err := tc.HandshakeContext(hctx)
	if err == nil {
		return tc, nil
	}
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
	)
	switch {
	case errors.As(err, &hostname):
		return nil, fmt.Errorf("%s: the broker's certificate is not for %q: set %s to a name it holds: %v", addr, cfg.ServerName, kafkasec.EnvServerName, err)
	case errors.As(err, &verify), errors.As(err, &unknown):
		by := ""
		if verify != nil && len(verify.UnverifiedCertificates) > 0 {
			by = fmt.Sprintf(" (it is signed by %q)", verify.UnverifiedCertificates[0].Issuer.String())
		}
		return nil, fmt.Errorf("%w%s: set %s to the PEM file of the CA that signed it (for 'commbench broker up --security …': its ca.pem): %v",
			ErrForeignCA, by, kafkasec.EnvTLSCA, err)
	}
	if answersPlaintext(ctx, addr) {
		return nil, fmt.Errorf("%w: %s answers Kafka in plaintext and refused the TLS handshake: unset %s, %s (or use the broker's TLS port): %v",
			ErrTLSToPlaintext, addr, kafkasec.EnvTLS, kafkasec.EnvTLSCA, err)
	}
	return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
}

// speaksTLS reports whether addr completes a TLS handshake (whoever signed
// its certificate).
func speaksTLS(ctx context.Context, addr string) bool {
	conn, err := dial(ctx, addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	hctx, cancel := context.WithTimeout(ctx, 2*DialTimeout)
	defer cancel()
	return tls.Client(conn, &tls.Config{InsecureSkipVerify: true}).HandshakeContext(hctx) == nil //nolint:gosec // only asks whether TLS is spoken
}

// answersPlaintext reports whether addr answers ApiVersions without TLS.
func answersPlaintext(ctx context.Context, addr string) bool {
	conn, err := dial(ctx, addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_, err = newWireConn(conn).apiVersions()
	return err == nil
}

// describeTLS says which TLS, whose certificate and its issuer.
func describeTLS(st tls.ConnectionState) string {
	s := tls.VersionName(st.Version)
	if len(st.PeerCertificates) == 0 {
		return s
	}
	c := st.PeerCertificates[0]
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return fmt.Sprintf("%s, certificate for %s signed by %q", s, strings.Join(names, ", "), c.Issuer.CommonName)
}

// releaseLevels is the highest metadata.version level of each Apache
// Kafka release, as Kafka 4.3.1's StorageTool version-mapping prints them.
var releaseLevels = []struct {
	release string
	level   int16
}{
	{"3.3", 7}, {"3.4", 8}, {"3.5", 11}, {"3.6", 14}, {"3.7", 19}, {"3.8", 20}, {"3.9", 21},
	{"4.0", 25}, {"4.1", 27}, {"4.2", 29}, {"4.3", 30},
}

// releaseOf returns the release whose levels hold level, or "" past the
// last known one.
func releaseOf(level int16) string {
	for _, r := range releaseLevels {
		if level <= r.level {
			return r.release
		}
	}
	return ""
}

// describeVersion says which release ApiVersions' features point to.
func describeVersion(av *apiVersions) string {
	if av.old {
		return "older than Apache Kafka 2.4 (it does not speak ApiVersions v3)"
	}
	sup, ok := av.supported["metadata.version"]
	if !ok {
		return fmt.Sprintf("unknown: no metadata.version feature (a ZooKeeper-mode broker, Kafka < 3.3?); %d APIs", av.apis)
	}
	fin := av.finalized["metadata.version"]
	rel := releaseOf(sup)
	if rel == "" {
		last := releaseLevels[len(releaseLevels)-1]
		rel = "newer than " + last.release
	}
	return fmt.Sprintf("Apache Kafka %s (metadata.version supported up to level %d, finalized %d)", rel, sup, fin)
}

// Release returns the Apache Kafka release of the broker at addr as its
// metadata.version tells it ("4.3"), or "unknown" when it does not tell
// (older than 3.3, not Apache Kafka, or not answering).
func Release(ctx context.Context, addr string, sec kafkasec.Config) string {
	conn, err := dial(ctx, addr)
	if err != nil {
		return "unknown"
	}
	defer conn.Close()
	if sec.TLS != nil {
		if conn, err = handshake(ctx, conn, addr, sec.TLS); err != nil {
			return "unknown"
		}
	}
	av, err := newWireConn(conn).apiVersions()
	if err != nil || av.old {
		return "unknown"
	}
	if sup, ok := av.supported["metadata.version"]; ok && releaseOf(sup) != "" {
		return releaseOf(sup)
	}
	return "unknown"
}
