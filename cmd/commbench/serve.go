package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/targets"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/reaction"
)

func init() {
	register(command{name: "serve", summary: "run a service: serve reaction|notification", run: cmdServe})
}

func cmdServe(args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageErr(errors.New("serve: which service?"), "commbench serve reaction --mode sync|async|hybrid, or commbench serve notification")
	}
	switch args[0] {
	case "reaction":
		return serveReaction(args[1:])
	case "notification":
		return serveNotification(args[1:])
	}
	return usageErr(fmt.Errorf("serve: unknown service %q", args[0]), "the services are reaction and notification")
}

// brokersFlag is a comma-separated list of host:port, defaulting to
// $KAFKA_BROKERS.
type brokersFlag []string

func (b *brokersFlag) String() string { return strings.Join(*b, ",") }
func (b *brokersFlag) Set(s string) error {
	*b = nil
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("broker %q: want host:port", a)
		}
		*b = append(*b, a)
	}
	return nil
}

func defaultBrokers() brokersFlag {
	var b brokersFlag
	if env := os.Getenv("KAFKA_BROKERS"); env != "" {
		_ = b.Set(env) // a bad value is caught when dialling, with its address
	}
	return b
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
	fs := flag.NewFlagSet("serve reaction", flag.ContinueOnError)
	var (
		cfg     reaction.Config
		mode    = fs.String("mode", "sync", "pattern: sync|async|hybrid")
		addr    = fs.String("listen", "127.0.0.1:8080", "address to serve on (port 0 picks a free one)")
		brokers = defaultBrokers()
		grace   = fs.Duration("grace", targets.DefaultGrace, "graceful shutdown bound")
	)
	fs.StringVar(&cfg.NotifyURL, "notify-url", "http://127.0.0.1:8081", "the notification service (sync, hybrid)")
	fs.Var(&brokers, "brokers", "Kafka bootstrap addresses host:port,... (async, hybrid; default $KAFKA_BROKERS)")
	fs.StringVar(&cfg.Topic, "topic", notification.DefaultTopic, "reactions topic")
	fs.DurationVar(&cfg.WriteCost, "write-cost", 0, "extra time per store write, standing for a database")
	fs.DurationVar(&cfg.Timeout, "timeout", reaction.DefaultTimeout, "bound on the notification step: the HTTP call or the wait for Kafka's ack")
	fs.IntVar(&cfg.MaxConns, "max-conns", reaction.DefaultMaxConns, "most connections to the notification service")
	fs.DurationVar(&cfg.ConnWait, "conn-wait", reaction.DefaultConnWait, "how long a request waits for a free connection before 503")
	fs.DurationVar(&cfg.Budget, "budget", reaction.DefaultBudget, "hybrid: the sync call's deadline before falling back to Kafka")
	trip := fs.Uint("trip-failures", reaction.DefaultTripFailures, "hybrid: consecutive failures that open the circuit breaker")
	fs.DurationVar(&cfg.OpenFor, "open-for", reaction.DefaultOpenFor, "hybrid: how long the breaker stays open before a trial call")
	fs.DurationVar(&cfg.BatchTimeout, "batch-timeout", reaction.DefaultBatchTimeout, "Kafka writer batch window")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := kafkasec.FromEnv(); err != nil {
		return usageErr(err, "fix the KAFKA_TLS* / KAFKA_SASL_* variable, or unset it")
	}
	m, err := reaction.ParseMode(*mode)
	if err != nil {
		return usageErr(fmt.Errorf("--mode: %w", err), "")
	}
	cfg.Mode, cfg.Brokers, cfg.TripFailures = m, brokers, uint32(*trip)
	cfg.Log = newLogger("reaction")
	svc, err := reaction.New(cfg)
	if err != nil {
		return usageErr(err, "run 'commbench serve reaction -h' for the flags")
	}
	ln, err := listen(*addr, "listen")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg.Log.Info("listening", "mode", m, "addr", "http://"+ln.Addr().String(), "notify_url", cfg.NotifyURL, "brokers", brokers.String(), "topic", cfg.Topic)
	fmt.Printf("LISTEN=%s\n", ln.Addr())
	err = targets.Serve(ctx, ln, targets.NewServer("commbench-reaction", svc.Handler()), *grace)
	cctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	return errors.Join(err, svc.Close(cctx))
}

func serveNotification(args []string) error {
	fs := flag.NewFlagSet("serve notification", flag.ContinueOnError)
	var (
		cfg     notification.Config
		addr    = fs.String("listen", "127.0.0.1:8081", "address to serve on (port 0 picks a free one)")
		brokers = defaultBrokers()
		grace   = fs.Duration("grace", targets.DefaultGrace, "graceful shutdown bound")
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
	if _, err := kafkasec.FromEnv(); err != nil {
		return usageErr(err, "fix the KAFKA_TLS* / KAFKA_SASL_* variable, or unset it")
	}
	cfg.Brokers = brokers
	cfg.Log = newLogger("notification")
	svc, err := notification.New(cfg)
	if err != nil {
		if errors.Is(err, ledger.ErrJournal) {
			return usageErr(err, "check --ledger-file")
		}
		return usageErr(err, "run 'commbench serve notification -h' for the flags")
	}
	defer svc.Close()
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
		wg.Go(func() { consumeErr = svc.Consume(ctx, *grace) })
	}
	err = targets.Serve(ctx, ln, targets.NewServer("commbench-notification", svc.Handler()), *grace)
	wg.Wait()
	return errors.Join(err, consumeErr)
}
