// Package serve is the 'commbench serve' subcommand: it parses a service's
// flags and runs the reaction, relay or notification service until
// SIGINT or SIGTERM. It is a package of its own, not part of main, so that
// another binary can be the services a run starts (harness.RunOptions.Exe):
// a test's binary that registers a fake pattern (pattern.Register,
// reaction.RegisterNotifier, notification.RegisterReceiver) and then calls
// Main with the arguments the harness passes.
package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/commbench/commbench/cmd/commbench/cli"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/reaction"
	"github.com/commbench/commbench/targets/relay"
	"github.com/commbench/commbench/targets/svc"
)

// Main runs 'commbench serve' with args, the arguments after "serve"
// (e.g. notification --listen 127.0.0.1:8081), reports an error as
// commbench does, and returns the exit code.
func Main(args []string) int { return cli.Report(Run(args)) }

// Run runs 'commbench serve' with args, the arguments after "serve".
func Run(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErr(errors.New("serve: which service?"), "commbench serve reaction --mode sync|async|hybrid, commbench serve relay --mode sync|async --name B, or commbench serve notification")
	}
	switch args[0] {
	case "reaction":
		return serveReaction(args[1:])
	case "relay":
		return serveRelay(args[1:])
	case "notification":
		return serveNotification(args[1:])
	}
	return usageErr(fmt.Errorf("serve: unknown service %q", args[0]), "the services are reaction, relay and notification")
}

func newLogger(service string) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("service", service)
}

// listen opens addr and explains the usual failure.
func listen(addr, flagName string) (net.Listener, error) {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, usageErr(fmt.Errorf("listen on %s: the port is in use", addr), "pick another with --"+flagName+" (port 0 picks a free one), or stop what holds it")
		}
		return nil, usageErr(fmt.Errorf("listen on %s: %w", addr, err), "check --"+flagName)
	}
	return ln, nil
}

func serveReaction(args []string) error {
	env, envErr := readEnv() // reported after the flags, so that -h works
	fs := flag.NewFlagSet("serve reaction", flag.ContinueOnError)
	var (
		cfg     reaction.Config
		mode    = fs.String("mode", "sync", "pattern: sync|async|hybrid")
		addr    = fs.String("listen", "127.0.0.1:8080", "address to serve on (port 0 picks a free one)")
		brokers = brokersFlag(env.Brokers)
		grace   = fs.Duration("grace", svc.DefaultGrace, "graceful shutdown bound")
	)
	fs.StringVar(&cfg.NotifyURL, "notify-url", "http://127.0.0.1:8081", "the notification service (sync, hybrid)")
	fs.Var(&brokers, "brokers", "Kafka bootstrap addresses host:port,... (async, hybrid; default $KAFKA_BROKERS)")
	fs.StringVar(&cfg.Topic, "topic", notification.DefaultTopic, "reactions topic")
	fs.DurationVar(&cfg.WriteCost, "write-cost", 0, "extra time per store write, standing for a database")
	fs.DurationVar(&cfg.Timeout, "timeout", reaction.DefaultTimeout, "bound on the notification step: the HTTP call or the wait for Kafka's ack")
	fs.IntVar(&cfg.MaxConns, "max-conns", reaction.DefaultMaxConns, "most connections to the notification service")
	fs.DurationVar(&cfg.ConnWait, "conn-wait", reaction.DefaultConnWait, "how long a request waits for a free connection before 503")
	fs.DurationVar(&cfg.Budget, "budget", reaction.DefaultBudget, "hybrid: the sync call's deadline before falling back to Kafka")
	fs.BoolVar(&cfg.Breaker, "breaker", false, "sync: put the call through a circuit breaker (hybrid always has one; async ignores it)")
	trip := fs.Uint("trip-failures", reaction.DefaultTripFailures, "hybrid, sync --breaker: consecutive failures that open the circuit breaker")
	fs.DurationVar(&cfg.OpenFor, "open-for", reaction.DefaultOpenFor, "hybrid, sync --breaker: how long the breaker stays open before a trial call")
	fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", reaction.DefaultBatchTimeout, "Kafka: 0 sends each reaction at once when its partition is idle and batches what arrives meanwhile (kafkagroup.Producer); > 0 uses kafka-go's Writer with this batch window, to compare")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	cfg.Security = env.Kafka
	m, err := pattern.Parse(*mode)
	if err != nil {
		return usageErr(fmt.Errorf("--mode: %w", err), "")
	}
	cfg.Mode, cfg.Brokers, cfg.TripFailures = m, brokers, uint32(*trip)
	cfg.Log = newLogger("reaction")
	service, err := reaction.New(cfg)
	if err != nil {
		return usageErr(err, "run 'commbench serve reaction -h' for the flags")
	}
	ln, err := listen(*addr, "listen")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Log.Info("listening", "mode", m, "addr", "http://"+ln.Addr().String(), "notify_url", cfg.NotifyURL, "brokers", brokers.String(), "topic", cfg.Topic, "breaker", cfg.Breaker || m.AlwaysBreaks())
	fmt.Printf("LISTEN=%s\n", ln.Addr())
	err = svc.Serve(ctx, ln, svc.NewServer("commbench-reaction", service.Handler()), *grace)
	cctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	return errors.Join(err, service.Close(cctx))
}

func serveRelay(args []string) error {
	env, envErr := readEnv() // reported after the flags, so that -h works
	fs := flag.NewFlagSet("serve relay", flag.ContinueOnError)
	var (
		cfg     relay.Config
		mode    = fs.String("mode", "sync", "how to reach the next hop: sync (HTTP) or async (Kafka)")
		addr    = fs.String("listen", "127.0.0.1:8082", "address to serve on (port 0 picks a free one)")
		brokers = brokersFlag(env.Brokers)
		grace   = fs.Duration("grace", svc.DefaultGrace, "graceful shutdown bound")
	)
	fs.StringVar(&cfg.Name, "name", relay.DefaultName, "the hop's name in logs and errors: B, C, ...")
	fs.StringVar(&cfg.NextURL, "next-url", "", "sync: the next hop, a relay or the notification service, e.g. http://127.0.0.1:8081")
	fs.DurationVar(&cfg.Timeout, "timeout", relay.DefaultTimeout, "sync: bound on the call to the next hop; async: on one produce attempt's wait for Kafka's ack")
	fs.IntVar(&cfg.MaxConns, "max-conns", relay.DefaultMaxConns, "sync: most connections to the next hop")
	fs.DurationVar(&cfg.ConnWait, "conn-wait", relay.DefaultConnWait, "sync: how long a call waits for a free connection before 503")
	fs.BoolVar(&cfg.Breaker, "breaker", false, "sync: put the calls through a circuit breaker")
	trip := fs.Uint("trip-failures", relay.DefaultTripFailures, "sync --breaker: consecutive failures that open the circuit breaker")
	fs.DurationVar(&cfg.OpenFor, "open-for", relay.DefaultOpenFor, "sync --breaker: how long the breaker stays open before a trial call")
	fs.Var(&brokers, "brokers", "async: Kafka bootstrap addresses host:port,... (default $KAFKA_BROKERS)")
	fs.StringVar(&cfg.InTopic, "in-topic", "", "async: the topic to consume")
	fs.StringVar(&cfg.OutTopic, "out-topic", "", "async: the next hop's topic")
	fs.StringVar(&cfg.Group, "group", "", "async: consumer group (default commbench.relay.<name>)")
	fs.IntVar(&cfg.Consumers, "consumers", relay.DefaultConsumers, "async: consumer group members in this process")
	fs.IntVar(&cfg.Concurrency, "concurrency", relay.DefaultConcurrency, "async: messages in flight per consumer")
	fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", relay.DefaultBatchTimeout, "async: 0 produces at once when idle and batches what arrives meanwhile; > 0 uses kafka-go's Writer with this batch window")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	cfg.Security = env.Kafka
	m, err := relay.ParseMode(*mode)
	if err != nil {
		return usageErr(fmt.Errorf("--mode: %w", err), "")
	}
	if *trip > math.MaxUint32 {
		return usageErr(fmt.Errorf("--trip-failures: %d is too many", *trip), "")
	}
	cfg.Mode, cfg.Brokers, cfg.TripFailures = m, brokers, uint32(*trip)
	cfg.Log = newLogger("relay").With("hop", cfg.Name)
	service, err := relay.New(cfg)
	if err != nil {
		return usageErr(err, "run 'commbench serve relay -h' for the flags")
	}
	ln, err := listen(*addr, "listen")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if m.HasSyncPath() {
		cfg.Log.Info("listening", "mode", m, "addr", "http://"+ln.Addr().String(), "next_url", cfg.NextURL, "breaker", cfg.Breaker)
	} else {
		cfg.Log.Info("listening", "mode", m, "addr", "http://"+ln.Addr().String(), "brokers", brokers.String(), "in_topic", cfg.InTopic, "out_topic", cfg.OutTopic, "group", cfg.Group)
	}
	fmt.Printf("LISTEN=%s\n", ln.Addr())

	var wg sync.WaitGroup
	var consumeErr error
	if m.UsesKafka() {
		wg.Go(func() { consumeErr = service.Consume(ctx, *grace) })
	}
	err = svc.Serve(ctx, ln, svc.NewServer("commbench-relay", service.Handler()), *grace)
	wg.Wait() // the messages in flight are produced (or cut off) before the writer is flushed
	cctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	return errors.Join(err, consumeErr, service.Close(cctx))
}

func serveNotification(args []string) error {
	env, envErr := readEnv() // reported after the flags, so that -h works
	fs := flag.NewFlagSet("serve notification", flag.ContinueOnError)
	var (
		cfg     notification.Config
		addr    = fs.String("listen", "127.0.0.1:8081", "address to serve on (port 0 picks a free one)")
		brokers = brokersFlag(env.Brokers)
		grace   = fs.Duration("grace", svc.DefaultGrace, "graceful shutdown bound")
	)
	fs.Var(&brokers, "brokers", "Kafka bootstrap addresses host:port,...; none: HTTP only (default $KAFKA_BROKERS)")
	fs.StringVar(&cfg.Topic, "topic", notification.DefaultTopic, "reactions topic")
	fs.StringVar(&cfg.DeadLetterTopic, "dlq-topic", "", "dead-letter topic (default: the topic + .dlq)")
	fs.StringVar(&cfg.Group, "group", notification.DefaultGroup, "consumer group")
	fs.IntVar(&cfg.Consumers, "consumers", notification.DefaultConsumers, "consumer group members in this process")
	fs.IntVar(&cfg.Concurrency, "concurrency", notification.DefaultConcurrency, "messages in flight per consumer")
	fs.IntVar(&cfg.Retries, "retries", notification.DefaultRetries, "provider attempts per message before dead-lettering")
	fs.DurationVar(&cfg.RetryBackoff, "retry-backoff", notification.DefaultRetryBackoff, "first retry backoff (doubles, with jitter)")
	fs.DurationVar(&cfg.RetryMaxBackoff, "retry-max-backoff", notification.DefaultRetryMaxBackoff, "largest retry backoff")
	fs.DurationVar(&cfg.CallTimeout, "call-timeout", notification.DefaultCallTimeout, "one provider call, the wait for a free slot included")
	fs.DurationVar(&cfg.Provider.P50, "provider-p50", provider.DefaultP50, "provider latency median")
	fs.DurationVar(&cfg.Provider.P99, "provider-p99", provider.DefaultP99, "provider latency 99th percentile")
	fs.IntVar(&cfg.Provider.Capacity, "provider-capacity", provider.DefaultCapacity, "provider calls served at once")
	fs.Float64Var(&cfg.Provider.ErrorRate, "provider-error-rate", 0, "share of provider calls that fail, 0 to 1")
	fs.StringVar(&cfg.LedgerFile, "ledger-file", "", "append-only journal of the ledger, replayed on start, so that the ledger survives a kill of this process (default: in memory only)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	cfg.Security = env.Kafka
	cfg.Brokers = brokers
	cfg.Log = newLogger("notification")
	service, err := notification.New(cfg)
	if err != nil {
		if errors.Is(err, ledger.ErrJournal) {
			return usageErr(err, "check --ledger-file")
		}
		return usageErr(err, "run 'commbench serve notification -h' for the flags")
	}
	defer service.Close()
	ln, err := listen(*addr, "listen")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Log.Info("listening", "addr", "http://"+ln.Addr().String(), "brokers", brokers.String(), "topic", cfg.Topic, "group", cfg.Group)
	fmt.Printf("LISTEN=%s\n", ln.Addr())

	var wg sync.WaitGroup
	var consumeErr error
	if len(cfg.Brokers) > 0 {
		wg.Go(func() { consumeErr = service.Consume(ctx, *grace) })
	}
	err = svc.Serve(ctx, ln, svc.NewServer("commbench-notification", service.Handler()), *grace)
	wg.Wait()
	return errors.Join(err, consumeErr)
}
