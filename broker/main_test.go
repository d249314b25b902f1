package broker_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
)

// The package's brokers are started once, on first use, and stopped by
// TestMain: local Apache Kafka takes seconds to start.
var (
	localOnce sync.Once
	local     *broker.Broker
	localErr  error

	embeddedOnce sync.Once
	embedded     *broker.Broker
	embeddedErr  error

	exeOnce sync.Once
	exePath string // the commbench binary, for the CLI tests
	exeErr  error
	tmpDir  string
)

// TestMain stops the shared brokers after the tests. When the test binary
// is run as "broker serve-embedded …" (embeddedKfake does), it is the
// embedded broker's process instead, as the commbench binary would be: the
// package's tests of Up then need no commbench build.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == broker.ServeEmbeddedCommand[0] && os.Args[2] == broker.ServeEmbeddedCommand[1] {
		os.Exit(serveEmbedded(os.Args[3:]))
	}
	flag.Parse()
	os.Exit(runTests(m))
}

func serveEmbedded(args []string) int {
	fs := flag.NewFlagSet("serve-embedded", flag.ExitOnError)
	port := fs.Int("port", 0, "")
	partitions := fs.Int("partitions", 1, "")
	fs.Parse(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := broker.ServeEmbedded(ctx, *port, *partitions, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func runTests(m *testing.M) int {
	var err error
	if tmpDir, err = os.MkdirTemp("", "commbench-broker-test-*"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpDir)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, b := range []*broker.Broker{local, embedded} {
			if b != nil {
				if err := b.Stop(ctx); err != nil {
					fmt.Fprintln(os.Stderr, "stop broker:", err)
				}
			}
		}
	}()
	return m.Run()
}

// commbench returns the commbench binary, built once, for the tests of the
// broker command.
func commbench(tb testing.TB) string {
	tb.Helper()
	exeOnce.Do(func() {
		exePath = filepath.Join(tmpDir, "commbench")
		out, err := exec.Command("go", "build", "-o", exePath, "github.com/commbench/commbench/cmd/commbench").CombinedOutput()
		if err != nil {
			exeErr = fmt.Errorf("go build ./cmd/commbench: %w\n%s", err, out)
		}
	})
	if exeErr != nil {
		tb.Fatal(exeErr)
	}
	return exePath
}

// localKafka returns the package's shared local Apache Kafka, starting it
// on first use (the first start on a machine runs Maven). It skips under
// -short and when Java 17+ is missing.
func localKafka(tb testing.TB) *broker.Broker {
	tb.Helper()
	if testing.Short() {
		tb.Skip("local Apache Kafka: skipped under -short")
	}
	if err := broker.LocalPossible(broker.DefaultCacheDir()); err != nil {
		tb.Skipf("local Apache Kafka: %v", err)
	}
	localOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		local, localErr = broker.Up(ctx, broker.Options{Kind: broker.Local, Partitions: 3, Heap: "512m", Log: testLog{}})
		if localErr == nil {
			fmt.Fprintf(os.Stderr, "broker_test: %s up in %v\n", local, time.Since(start).Round(time.Millisecond))
		}
	})
	if localErr != nil {
		tb.Fatalf("start local Kafka: %v", localErr)
	}
	return local
}

// embeddedKfake returns the package's shared embedded kfake process.
func embeddedKfake(tb testing.TB) *broker.Broker {
	tb.Helper()
	embeddedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		embedded, embeddedErr = broker.Up(ctx, broker.Options{Kind: broker.Embedded, Exe: testBinary(), Partitions: 3, Log: testLog{}})
	})
	if embeddedErr != nil {
		tb.Fatalf("start embedded kfake: %v", embeddedErr)
	}
	return embedded
}

// testLog shows the broker package's progress lines with -v.
type testLog struct{}

func (testLog) Write(p []byte) (int, error) {
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

// testBinary is this test binary, which serves an embedded broker when run
// as "broker serve-embedded" (see TestMain).
func testBinary() string {
	p, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return p
}
