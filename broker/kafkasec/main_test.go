package kafkasec_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
)

// The package's secured local Apache Kafka (SASL_SSL, SCRAM-SHA-512) is
// started once, on first use, and stopped by TestMain.
var (
	securedOnce sync.Once
	secured     *broker.Broker
	securedEnv  map[string]string // KAFKA_BROKERS and the variables broker up prints
	securedErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if secured != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := secured.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "stop the secured broker:", err)
			code = 1
		}
		cancel()
	}
	os.Exit(code)
}

// securedKafka returns the shared SASL_SSL broker and the variables a
// client exports for it, starting it on first use. It skips under -short
// and where no local Kafka can run (no Java 17+, no Maven and no jars).
func securedKafka(tb testing.TB) (*broker.Broker, map[string]string) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("secured local Apache Kafka: skipped under -short")
	}
	if err := broker.LocalPossible(broker.DefaultCacheDir()); err != nil {
		tb.Skipf("secured local Apache Kafka: %v", err)
	}
	securedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		secured, securedErr = broker.Up(ctx, broker.Options{Kind: broker.Local, Protocol: broker.SASLSSL, Partitions: 2, Heap: "384m"})
		if securedErr != nil {
			return
		}
		fmt.Fprintf(os.Stderr, "kafkasec_test: %s up in %v\n", secured, time.Since(start).Round(time.Millisecond))
		var lines []string
		if lines, securedErr = secured.ClientEnv(); securedErr != nil {
			return
		}
		securedEnv = map[string]string{"KAFKA_BROKERS": strings.Join(secured.Addrs, ",")}
		for _, kv := range lines {
			k, v, _ := strings.Cut(kv, "=")
			securedEnv[k] = v
		}
	})
	if securedErr != nil {
		tb.Fatalf("start the secured local Kafka: %v", securedErr)
	}
	return secured, securedEnv
}

// with returns a copy of m with the changes applied ("" deletes).
func with(m map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}
