package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

func TestParseEnv(t *testing.T) {
	tests := []struct {
		name    string
		have    map[string]string
		brokers string // want environ.Brokers joined by |
		cache   string // want environ.Cache; "" means broker.DefaultCacheDir()
		tls     bool   // want TLS
		user    string // want the SASL user
		wantErr string // in the error, which names the variable; "" means none
	}{
		{name: "nothing set: plaintext, no brokers, the default cache", have: nil},
		{name: "one broker", have: map[string]string{"KAFKA_BROKERS": "127.0.0.1:9092"}, brokers: "127.0.0.1:9092"},
		{name: "brokers with blanks", have: map[string]string{"KAFKA_BROKERS": " kafka-1:9092, ,[::1]:9093,"}, brokers: "kafka-1:9092|[::1]:9093"},
		{name: "blank brokers are unset", have: map[string]string{"KAFKA_BROKERS": " , "}},
		{name: "a cache folder", have: map[string]string{"COMMBENCH_CACHE": "/var/cache/cb"}, cache: "/var/cache/cb"},
		{name: "TLS and SCRAM", have: map[string]string{"KAFKA_BROKERS": "k:9093", "KAFKA_TLS": "1", "KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "bench", "KAFKA_SASL_PASSWORD": "pw"}, brokers: "k:9093", tls: true, user: "bench"},

		{name: "broker without a port", have: map[string]string{"KAFKA_BROKERS": "localhost"}, wantErr: "KAFKA_BROKERS"},
		{name: "broker with port 0", have: map[string]string{"KAFKA_BROKERS": "127.0.0.1:0"}, wantErr: "KAFKA_BROKERS"},
		{name: "broker port out of range", have: map[string]string{"KAFKA_BROKERS": "127.0.0.1:70000"}, wantErr: "KAFKA_BROKERS"},
		{name: "broker port by name", have: map[string]string{"KAFKA_BROKERS": "kafka:kafka"}, wantErr: "KAFKA_BROKERS"},
		{name: "broker without a host", have: map[string]string{"KAFKA_BROKERS": ":9092"}, wantErr: "KAFKA_BROKERS"},
		{name: "a URL, not host:port", have: map[string]string{"KAFKA_BROKERS": "kafka://k:9092"}, wantErr: "KAFKA_BROKERS"},
		{name: "one bad broker of two", have: map[string]string{"KAFKA_BROKERS": "k:9092,k"}, wantErr: `"k"`},
		{name: "KAFKA_TLS neither on nor off", have: map[string]string{"KAFKA_TLS": "maybe"}, wantErr: "KAFKA_TLS"},
		{name: "a CA file that is not there", have: map[string]string{"KAFKA_TLS_CA": "/nonexistent/ca.pem"}, wantErr: "KAFKA_TLS_CA"},
		{name: "a client certificate without its key", have: map[string]string{"KAFKA_TLS_CERT": "/nonexistent/c.pem"}, wantErr: "KAFKA_TLS_KEY"},
		{name: "an unknown SASL mechanism", have: map[string]string{"KAFKA_SASL_MECHANISM": "GSSAPI", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, wantErr: "KAFKA_SASL_MECHANISM"},
		{name: "SASL without a password", have: map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u"}, wantErr: "KAFKA_SASL_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEnv(func(k string) string { return tt.have[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one naming %s", err, tt.wantErr)
				}
				if strings.HasPrefix(tt.wantErr, "KAFKA_BROKERS") && !errors.Is(err, broker.ErrAddr) {
					t.Errorf("got error %v, want one wrapping broker.ErrAddr", err)
				}
				if strings.HasPrefix(tt.wantErr, "KAFKA_") && !strings.HasPrefix(tt.wantErr, "KAFKA_BROKERS") && !errors.Is(err, kafkasec.ErrEnv) {
					t.Errorf("got error %v, want one wrapping kafkasec.ErrEnv", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if b := strings.Join(got.Brokers, "|"); b != tt.brokers {
				t.Errorf("got brokers %q, want %q", b, tt.brokers)
			}
			wantCache := tt.cache
			if wantCache == "" {
				wantCache = broker.DefaultCacheDir()
			}
			if got.Cache != wantCache {
				t.Errorf("got cache %q, want %q", got.Cache, wantCache)
			}
			if (got.Kafka.TLS != nil) != tt.tls || got.Kafka.User != tt.user {
				t.Errorf("got Kafka %s, want TLS %v and user %q", got.Kafka, tt.tls, tt.user)
			}
		})
	}
}

func TestBrokerOptions(t *testing.T) {
	env := environ{Brokers: []string{"env:9092"}, Cache: "/c"}
	tests := []struct {
		name string
		flag string
		want string // the addresses joined by |
	}{
		{"the flag wins", "flag:9092,flag:9093", "flag:9092|flag:9093"},
		{"else KAFKA_BROKERS", "", "env:9092"},
		{"a blank flag is no flag", " , ", "env:9092"},
	}
	for _, tt := range tests {
		o := env.BrokerOptions(broker.Auto, tt.flag)
		if got := strings.Join(o.Brokers, "|"); got != tt.want || o.CacheDir != "/c" || o.Kind != broker.Auto {
			t.Errorf("%s: got %q, cache %q, kind %q; want %q, /c, auto", tt.name, got, o.CacheDir, o.Kind, tt.want)
		}
	}
}
