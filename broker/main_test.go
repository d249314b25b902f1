package broker_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/commbench/commbench/broker"
)

// The package's brokers are started once, on first use, and stopped by
// TestMain: local Apache Kafka takes seconds to start.
var (
	exe string // the commbench binary, built once

	localOnce sync.Once
	local     *broker.Broker
	localErr  error

	embeddedOnce sync.Once
	embedded     *broker.Broker
	embeddedErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "commbench-broker-test-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	exe = filepath.Join(dir, "commbench")
	build := exec.Command("go", "build", "-o", exe, "github.com/commbench/commbench/cmd/commbench")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build commbench:", err)
		return 1
	}
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

// localKafka returns the package's shared local Apache Kafka, starting it
// on first use (the first start on a machine runs Maven). It skips under
// -short and when Java 17+ is missing.
func localKafka(tb testing.TB) *broker.Broker {
	tb.Helper()
	if testing.Short() {
		tb.Skip("local Apache Kafka: skipped under -short")
	}
	if err := broker.LocalPossible(broker.CacheDir()); err != nil {
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
		embedded, embeddedErr = broker.Up(ctx, broker.Options{Kind: broker.Embedded, Exe: exe, Partitions: 3, Log: testLog{}})
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
