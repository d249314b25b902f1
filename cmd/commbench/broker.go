package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
	"github.com/commbench/commbench/targets/notification"
)

func init() {
	register(command{name: "broker", summary: "start, stop, show or check the Kafka broker for runs (up|down|status|check)", run: cmdBroker})
}

const brokerUsage = `usage: commbench broker up|down|status|check|fetch [flags]

  up      start a broker in the background; stdout has one line per kind of
          client (Kafka's Java tools, kcat, confluent-kafka, kafka-go) saying
          how it connects, with --security through the files written into the
          broker's folder (client.properties and truststore.p12, librdkafka.conf,
          client.env), and ends with the variables a client exports,
          KAFKA_BROKERS=host:port[,…] and, with --security, KAFKA_TLS_CA=… and
          for sasl_ssl KAFKA_SASL_MECHANISM=…, KAFKA_SASL_USERNAME=…,
          KAFKA_SASL_PASSWORD=…, so:
          export $(commbench broker up | grep '^KAFKA_')
  down    stop the broker 'up' started and remove its data folder
  status  say what runs where
  check   connect as a client would (KAFKA_BROKERS and KAFKA_TLS*/KAFKA_SASL_*,
          or the flags, else the broker 'up' started) and report the broker's
          version, its listener's protocol, the mechanism that authenticated,
          the topics and partitions; a failure is one line naming what was
          wrong (password or user, CA, plaintext to TLS, TLS to plaintext,
          unreachable)
  fetch   resolve the Apache Kafka jars into the cache with Maven (once; later a no-op)

Run 'commbench broker up -h' for the flags.`

func cmdBroker(args []string) error {
	if len(args) == 0 {
		return usageErr(errors.New("broker: missing up, down, status, check or fetch"), "run 'commbench broker -h'")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Println(brokerUsage)
		return errHelp
	case "up":
		return brokerUp(args[1:])
	case "down":
		return brokerDown(args[1:])
	case "status":
		return brokerStatus(args[1:])
	case "check":
		return brokerCheck(args[1:])
	case "fetch":
		return brokerFetch(args[1:])
	case broker.ServeEmbeddedCommand[1]:
		return brokerServeEmbedded(args[1:])
	}
	return usageErr(fmt.Errorf("broker: unknown action %q", args[0]), "want up, down, status, check or fetch")
}

// stateFile is where 'broker up' keeps what down and status read: in the
// cache folder.
func stateFile(e environ) string { return filepath.Join(e.Cache, "broker.json") }

func brokerUp(args []string) error {
	env, envErr := readEnv() // reported after the flags, so that -h works
	fs := flag.NewFlagSet("broker up", flag.ContinueOnError)
	kind := fs.String("kind", "auto", "broker kind: auto, local, embedded or external")
	brokers := brokersFlag(env.Brokers)
	fs.Var(&brokers, "brokers", "external cluster, host:port[,host:port…] (default $KAFKA_BROKERS)")
	partitions := fs.Int("partitions", broker.DefaultPartitions, "default partition count of the broker")
	state := fs.String("state", stateFile(env), "state `file` that down and status read")
	heap := fs.String("heap", broker.DefaultHeap, "JVM heap of a local broker")
	timeout := fs.Duration("timeout", broker.DefaultReadyTimeout, "how long to wait for the broker to be ready (after the jar download)")
	kafkaVersion := fs.String("kafka-version", broker.KafkaVersion, "Apache Kafka release of a local broker (4.x), resolved from Maven Central into the cache")
	security := fs.String("security", "plaintext", "listener of a local broker: plaintext, ssl (TLS, a CA made in its data folder) or sasl_ssl (TLS and SCRAM-SHA-512 users)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	proto, err := broker.ParseProtocol(*security)
	if err != nil {
		return usageErr(fmt.Errorf("broker up: --security: %w", err), "")
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	k, err := broker.ParseKind(*kind)
	if err != nil {
		return usageErr(fmt.Errorf("broker up: --kind: %w", err), "")
	}
	if err := broker.CheckVersion(*kafkaVersion); err != nil {
		return usageErr(fmt.Errorf("broker up: --kafka-version: %w", err), "")
	}
	if proto != broker.Plaintext && k == broker.Auto {
		k = broker.Local // only a local broker listens with --security
	}
	if *partitions < 1 {
		return usageErr(fmt.Errorf("broker up: --partitions %d: want at least 1", *partitions), "")
	}
	if old, err := broker.Load(*state); err == nil {
		if old.Kind != broker.External && old.Running() {
			return fmt.Errorf("broker up: %s already runs (state %s); run 'commbench broker down' first", old, *state)
		}
		fmt.Fprintf(os.Stderr, "broker: replacing stale state %s (%s is gone)\n", *state, old)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := env.BrokerOptions(k, brokers.String())
	o.Partitions, o.Heap, o.Detach, o.ReadyTimeout, o.Log, o.Protocol = *partitions, *heap, true, *timeout, os.Stderr, proto
	if *kafkaVersion != broker.KafkaVersion {
		o.Version = *kafkaVersion
	}
	if proto != broker.Plaintext {
		o.Security = kafkasec.Config{} // the broker makes its own; a previous one's exported settings do not apply
	}
	b, err := broker.Up(ctx, o)
	if errors.Is(err, broker.ErrVersion) {
		return usageErr(fmt.Errorf("broker up: --kafka-version: %w", err), "")
	}
	if errors.Is(err, broker.ErrSecurity) && proto != broker.Plaintext {
		return usageErr(err, "--security needs --kind local")
	}
	if errors.Is(err, broker.ErrSecurity) {
		return usageErr(err, "set KAFKA_BROKERS (or --kind external --brokers), or unset "+strings.Join(kafkasec.Vars, ", "))
	}
	if err != nil {
		return err
	}
	clientEnv, err := b.ClientEnv()
	if err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = b.Stop(sctx)
		return fmt.Errorf("broker up: %w", err)
	}
	sec, _ := b.Security() // parsed in Up already
	if b.Kind == broker.External {
		sec = o.Security
	}
	if err := b.Save(*state); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = b.Stop(sctx)
		return fmt.Errorf("broker up: save state: %w", err)
	}
	// The topics the services use when run by hand (commbench run makes its
	// own per run and pattern).
	if err := broker.CreateTopics(ctx, b.Addrs, sec, *partitions, notification.DefaultTopic, notification.DefaultTopic+".dlq"); err != nil {
		fmt.Fprintf(os.Stderr, "broker: could not create the default topics %s and %s.dlq: %v\n", notification.DefaultTopic, notification.DefaultTopic, err)
	} else {
		fmt.Fprintf(os.Stderr, "broker: topics %s and %s.dlq ready (%d partitions)\n", notification.DefaultTopic, notification.DefaultTopic, *partitions)
	}
	printUp(b, *state, clientEnv)
	return nil
}

// printUp says what 'broker up' started: the broker, its log and state,
// how each kind of client connects, and the KAFKA_* lines last.
func printUp(b *broker.Broker, state string, clientEnv []string) {
	fmt.Printf("%s\n", b)
	if b.LogFile != "" {
		fmt.Printf("log: %s\n", b.LogFile)
	}
	fmt.Printf("state: %s\n", state)
	for _, line := range b.ClientUsage() {
		fmt.Println(line)
	}
	fmt.Printf("KAFKA_BROKERS=%s\n", strings.Join(b.Addrs, ","))
	for _, kv := range clientEnv {
		fmt.Println(kv)
	}
}

func brokerDown(args []string) error {
	env, envErr := readEnv()
	fs := flag.NewFlagSet("broker down", flag.ContinueOnError)
	state := fs.String("state", stateFile(env), "state `file` written by up")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	b, err := broker.Load(*state)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("no broker: nothing to stop")
		return nil
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		return fmt.Errorf("broker down: %s: %w", b, err)
	}
	if err := os.Remove(*state); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Printf("stopped %s\n", b)
	return nil
}

func brokerFetch(args []string) error {
	fs := flag.NewFlagSet("broker fetch", flag.ContinueOnError)
	kafkaVersion := fs.String("kafka-version", broker.KafkaVersion, "Apache Kafka release to resolve (4.x)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	env, err := readEnv()
	if err != nil {
		return usageErr(err, envHint)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cache := env.Cache
	if err := broker.LocalPossible(cache); err != nil {
		return fmt.Errorf("broker fetch: %w", err)
	}
	start := time.Now()
	dir, err := broker.ResolveVersion(ctx, cache, *kafkaVersion, func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "broker: "+format+"\n", args...)
	})
	if errors.Is(err, broker.ErrVersion) {
		return usageErr(fmt.Errorf("broker fetch: --kafka-version: %w", err), "")
	}
	if err != nil {
		return fmt.Errorf("broker fetch: %w", err)
	}
	fmt.Fprintf(os.Stderr, "broker: Apache Kafka %s jars in %s (%v)\n", *kafkaVersion, dir, time.Since(start).Round(time.Millisecond))
	return nil
}

func brokerStatus(args []string) error {
	env, envErr := readEnv()
	fs := flag.NewFlagSet("broker status", flag.ContinueOnError)
	state := fs.String("state", stateFile(env), "state `file` written by up")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if envErr != nil {
		return usageErr(envErr, envHint)
	}
	b, err := broker.Load(*state)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Printf("no broker started by 'commbench broker up' (no %s)\n", *state)
		if len(env.Brokers) > 0 {
			fmt.Printf("KAFKA_BROKERS=%s is set\n", strings.Join(env.Brokers, ","))
		}
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case b.Kind == broker.External:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := broker.Probe(ctx, b.Addrs, env.Kafka); err != nil {
			fmt.Printf("%s: not answering: %v\n", b, err)
			return err
		}
		fmt.Printf("%s: answering\n", b)
	case b.Running():
		fmt.Printf("%s: running since %s\n", b, b.Started.Format(time.RFC3339))
		if b.LogFile != "" {
			fmt.Printf("log: %s\n", b.LogFile)
		}
	default:
		fmt.Printf("%s: not running (stale state %s; pid %d is gone): run 'commbench broker down' to clean up\n", b, *state, b.PID)
		return errors.New("broker not running")
	}
	fmt.Printf("KAFKA_BROKERS=%s\n", strings.Join(b.Addrs, ","))
	clientEnv, err := b.ClientEnv()
	if err != nil {
		return err
	}
	for _, kv := range clientEnv {
		fmt.Println(kv)
	}
	return nil
}

// brokerServeEmbedded is the hidden command that 'broker up --kind
// embedded' and broker.Up run as the embedded broker's process.
func brokerServeEmbedded(args []string) error {
	fs := flag.NewFlagSet("broker serve-embedded", flag.ContinueOnError)
	port := fs.Int("port", 0, "port on 127.0.0.1")
	partitions := fs.Int("partitions", broker.DefaultPartitions, "default partition count")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return broker.ServeEmbedded(ctx, *port, *partitions, os.Stdout)
}
