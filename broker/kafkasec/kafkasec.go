// Package kafkasec secures commbench's Kafka connections to an external
// cluster — TLS and SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) — as set by
// environment variables, so that a run's child processes (the services)
// inherit them. Parse reads them through a getenv function: cmd/commbench
// calls it once, with os.Getenv, and passes the Config down; no library
// package reads the environment. It imports only kafka-go and the standard
// library, for the services to use cheaply.
//
//	KAFKA_TLS=1                       TLS with the system's roots (0 or unset: plaintext)
//	KAFKA_TLS_CA=ca.pem               trust these PEM certificates instead (implies TLS)
//	KAFKA_TLS_CERT, KAFKA_TLS_KEY     a client certificate and key, PEM (mutual TLS; implies TLS)
//	KAFKA_TLS_SERVER_NAME=host        the name to verify the brokers' certificates against
//	KAFKA_SASL_MECHANISM=SCRAM-SHA-512  PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (unset: no SASL)
//	KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD
//
// A bad value is an error naming the variable. With none set, Config is
// the zero value and every client behaves as before: plaintext, no SASL.
package kafkasec

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// The environment variables Parse reads.
const (
	EnvTLS        = "KAFKA_TLS"
	EnvTLSCA      = "KAFKA_TLS_CA"
	EnvTLSCert    = "KAFKA_TLS_CERT"
	EnvTLSKey     = "KAFKA_TLS_KEY"
	EnvServerName = "KAFKA_TLS_SERVER_NAME"
	EnvMechanism  = "KAFKA_SASL_MECHANISM"
	EnvUsername   = "KAFKA_SASL_USERNAME"
	EnvPassword   = "KAFKA_SASL_PASSWORD"
)

// Vars lists every variable Parse reads, for documentation and checks.
var Vars = []string{EnvTLS, EnvTLSCA, EnvTLSCert, EnvTLSKey, EnvServerName, EnvMechanism, EnvUsername, EnvPassword}

// The SASL mechanisms.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// ErrEnv is wrapped by every error about a variable's value.
var ErrEnv = errors.New("bad Kafka security setting")

// Config is how to secure a connection. The zero value is plaintext
// without SASL.
type Config struct {
	TLS  *tls.Config    // nil: plaintext
	SASL sasl.Mechanism // nil: no SASL
	// User is the SASL user name, for logs (the password is never kept
	// anywhere but in SASL).
	User string
}

// Enabled reports whether c asks for TLS or SASL.
func (c Config) Enabled() bool { return c.TLS != nil || c.SASL != nil }

// String says what c does, without secrets: "plaintext", "TLS",
// "TLS, SASL SCRAM-SHA-512 as bench".
func (c Config) String() string {
	var parts []string
	if c.TLS != nil {
		parts = append(parts, "TLS")
	}
	if c.SASL != nil {
		parts = append(parts, fmt.Sprintf("SASL %s as %s", c.SASL.Name(), c.User))
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, ", ")
}

// DialTimeout bounds each connection attempt of the Transport and Dialer
// this package makes.
const DialTimeout = 10 * time.Second

// Transport returns a kafka-go Transport that secures its connections as c
// says, for a Writer or a Client; nil when c is the zero value (kafka-go's
// default transport).
func (c Config) Transport() *kafka.Transport {
	if !c.Enabled() {
		return nil
	}
	return &kafka.Transport{DialTimeout: DialTimeout, TLS: c.TLS, SASL: c.SASL}
}

// Dialer returns a kafka-go Dialer for a Reader that secures its
// connections as c says; nil when c is the zero value (kafka-go's default
// dialer).
func (c Config) Dialer() *kafka.Dialer {
	if !c.Enabled() {
		return nil
	}
	return &kafka.Dialer{Timeout: DialTimeout, DualStack: true, TLS: c.TLS, SASLMechanism: c.SASL}
}

// Parse reads the variables through getenv. Its errors wrap ErrEnv and
// name the variable and what to set.
func Parse(getenv func(string) string) (Config, error) {
	var c Config
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	bad := func(k, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrEnv, k, fmt.Sprintf(format, args...))
	}

	useTLS := false
	switch v := strings.ToLower(get(EnvTLS)); v {
	case "", "0", "false", "no", "off":
	case "1", "true", "yes", "on":
		useTLS = true
	default:
		return c, bad(EnvTLS, "%q: want 1 or 0", v)
	}
	ca, cert, key, name := get(EnvTLSCA), get(EnvTLSCert), get(EnvTLSKey), get(EnvServerName)
	if useTLS || ca != "" || cert != "" || key != "" || name != "" {
		t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return c, bad(EnvTLSCA, "%v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return c, bad(EnvTLSCA, "%s holds no PEM certificate", ca)
			}
			t.RootCAs = pool
		}
		switch {
		case cert != "" && key != "":
			kp, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return c, bad(EnvTLSCert, "with %s: %v", EnvTLSKey, err)
			}
			t.Certificates = []tls.Certificate{kp}
		case cert != "":
			return c, bad(EnvTLSKey, "unset: a client certificate (%s) needs its key", EnvTLSCert)
		case key != "":
			return c, bad(EnvTLSCert, "unset: a client key (%s) needs its certificate", EnvTLSKey)
		}
		c.TLS = t
	}

	mech, user, pass := strings.ToUpper(get(EnvMechanism)), get(EnvUsername), getenv(EnvPassword)
	if mech == "" {
		if user != "" {
			return c, bad(EnvMechanism, "unset while %s is set: want %s, %s or %s", EnvUsername, Plain, ScramSHA256, ScramSHA512)
		}
		return c, nil
	}
	if user == "" {
		return c, bad(EnvUsername, "unset: SASL %s needs a user name", mech)
	}
	if pass == "" {
		return c, bad(EnvPassword, "unset: SASL %s needs a password", mech)
	}
	var err error
	switch mech {
	case Plain:
		c.SASL = plain.Mechanism{Username: user, Password: pass}
	case ScramSHA256:
		c.SASL, err = scram.Mechanism(scram.SHA256, user, pass)
	case ScramSHA512:
		c.SASL, err = scram.Mechanism(scram.SHA512, user, pass)
	default:
		return c, bad(EnvMechanism, "unknown mechanism %q: want %s, %s or %s", getenv(EnvMechanism), Plain, ScramSHA256, ScramSHA512)
	}
	if err != nil {
		return c, bad(EnvMechanism, "%s: %v", mech, err)
	}
	c.User = user
	return c, nil
}

// Explain returns err, from a connection secured as c says, with the
// variable to fix in front when the broker refused what c set: a
// certificate not signed by KAFKA_TLS_CA (or the system's roots), a name
// that does not match (KAFKA_TLS_SERVER_NAME), credentials it refused
// (KAFKA_SASL_PASSWORD, KAFKA_SASL_USERNAME), a mechanism it does not
// offer (KAFKA_SASL_MECHANISM), or TLS or SASL missing. Other errors, and
// nil, are returned as they are. These failures are not retried by
// kafka-go, so a bad setting fails in well under a second.
func Explain(err error, c Config) error {
	if err == nil {
		return nil
	}
	var (
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		hostname x509.HostnameError
		verify   *tls.CertificateVerificationError
	)
	caHint := "set " + EnvTLSCA + " to the PEM file of the CA that signed the broker's certificate (for 'commbench broker up --security …': its " + "ca.pem)"
	user := "a SASL user"
	if c.SASL != nil {
		user = fmt.Sprintf("user %q with %s", c.User, c.SASL.Name())
	}
	switch {
	case errors.As(err, &hostname):
		return fmt.Errorf("%s: the broker's certificate is not for the name dialled: set %s to a name it holds, or use that name in KAFKA_BROKERS: %w", EnvServerName, EnvServerName, err)
	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("%s: the broker's certificate was not accepted: %s: %w", EnvTLSCA, caHint, err)
	case errors.Is(err, kafka.SASLAuthenticationFailed):
		return fmt.Errorf("%s (or %s): the broker refused %s: check the password and the user name: %w", EnvPassword, EnvUsername, user, err)
	case errors.Is(err, kafka.UnsupportedSASLMechanism), errors.Is(err, kafka.IllegalSASLState):
		return fmt.Errorf("%s: the broker does not accept %s: ask its operator which mechanism it takes: %w", EnvMechanism, user, err)
	case c.TLS == nil && strings.Contains(err.Error(), "expecting TLS"):
		return fmt.Errorf("%s: the broker wants TLS: set %s=1, or %s to its CA: %w", EnvTLS, EnvTLS, EnvTLSCA, err)
	case c.SASL == nil && errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s: the broker closed the connection at once: does it want SASL? set %s, %s and %s: %w", EnvMechanism, EnvMechanism, EnvUsername, EnvPassword, err)
	}
	return err
}
