package interop_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/targets/notification"
)

// The package's brokers, one per protocol, start on first use and are
// stopped by TestMain: each takes seconds to start.
var (
	mu      sync.Mutex
	brokers = map[broker.Protocol]*secured{}
	tmpDir  string

	exeOnce sync.Once
	exePath string
	exeErr  error
)

// secured is a running secured local broker, how to reach it, and the
// records seeded into its async topic (notification.DefaultTopic).
type secured struct {
	b      *broker.Broker
	sec    kafkasec.Config
	seeded []string // the values, in no particular order
	err    error
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if tmpDir, err = os.MkdirTemp("", "commbench-interop-*"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, s := range brokers {
			if s.b != nil {
				if err := s.b.Stop(ctx); err != nil {
					fmt.Fprintln(os.Stderr, "stop broker:", err)
				}
			}
		}
	}()
	return m.Run()
}

// seedCount is how many records local(…) writes into the async topic.
const seedCount = 5

// local returns the package's local Apache Kafka listening with p (SSL or
// SASLSSL), starting it on first use and seeding its async topic with
// seedCount reactions. It skips under -short and without Java 17+.
func local(tb testing.TB, p broker.Protocol) *secured {
	tb.Helper()
	if testing.Short() {
		tb.Skip("local Apache Kafka: skipped under -short")
	}
	if err := broker.LocalPossible(broker.DefaultCacheDir()); err != nil {
		tb.Skipf("local Apache Kafka: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	s := brokers[p]
	if s == nil {
		s = &secured{}
		brokers[p] = s
		s.err = s.start(p)
	}
	if s.err != nil {
		tb.Fatalf("start a %s local Kafka: %v", p, s.err)
	}
	return s
}

func (s *secured) start(p broker.Protocol) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := broker.Up(ctx, broker.Options{Kind: broker.Local, Protocol: p, Partitions: 2, Heap: "384m"})
	if err != nil {
		return err
	}
	s.b = b
	if s.sec, err = b.Security(); err != nil {
		return err
	}
	topic := notification.DefaultTopic
	if err := broker.CreateTopics(ctx, b.Addrs, s.sec, 2, topic); err != nil {
		return err
	}
	w := &kafka.Writer{Addr: kafka.TCP(b.Addrs...), Topic: topic, Transport: s.sec.Transport(),
		RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond, Balancer: &kafka.Hash{}}
	defer w.Close()
	var msgs []kafka.Message
	for i := range seedCount {
		v := fmt.Sprintf(`{"id":%d,"user":%d,"post":7,"author":%d,"kind":"like","interop":"%s"}`, i+1, 100+i, i%3, p)
		s.seeded = append(s.seeded, v)
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i % 3)), Value: []byte(v)})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("seed %s: %w", topic, err)
	}
	return nil
}

// file is the path of one of the broker's client files (broker.*File).
func (s *secured) file(name string) string { return filepath.Join(s.b.DataDir, name) }

// addr is the broker's bootstrap address.
func (s *secured) addr() string { return strings.Join(s.b.Addrs, ",") }

// require says a missing client fails its tests instead of skipping them.
func require() bool { return os.Getenv("COMMBENCH_INTEROP") == "require" }

// missing skips (or, with COMMBENCH_INTEROP=require, fails) a test whose
// client is not installed.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...) + " (./bench.sh setup installs it)"
	if require() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// commbench returns $COMMBENCH_BIN, or commbench built once into the
// package's temporary folder.
func commbench(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("COMMBENCH_BIN"); p != "" {
		return p
	}
	exeOnce.Do(func() {
		exePath = filepath.Join(tmpDir, "commbench")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", exePath, "github.com/commbench/commbench/cmd/commbench").CombinedOutput()
		if err != nil {
			exeErr = fmt.Errorf("go build ./cmd/commbench: %w\n%s", err, out)
		}
	})
	if exeErr != nil {
		tb.Fatal(exeErr)
	}
	return exePath
}
