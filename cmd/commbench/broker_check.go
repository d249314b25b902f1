package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// checkFlags are broker check's flags that stand for a variable of
// kafkasec: a flag given wins over the variable.
var checkFlags = []struct{ flag, env, usage string }{
	{"tls", kafkasec.EnvTLS, "1: TLS with the system's roots"},
	{"tls-ca", kafkasec.EnvTLSCA, "PEM `file` of the CA that signed the brokers' certificates (implies TLS)"},
	{"tls-server-name", kafkasec.EnvServerName, "the `name` to verify the brokers' certificates against"},
	{"sasl-mechanism", kafkasec.EnvMechanism, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
	{"sasl-user", kafkasec.EnvUsername, "SASL user name"},
	{"sasl-password", kafkasec.EnvPassword, "SASL password (visible to other users of this machine: prefer the variable)"},
}

// brokerCheck connects to a broker as a client would and says what it
// found, or in one line what was wrong.
func brokerCheck(args []string) error {
	env, envErr := readEnv()
	fs := flag.NewFlagSet("broker check", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "cluster, host:port[,host:port…] (default $KAFKA_BROKERS, else the broker of 'commbench broker up')")
	state := fs.String("state", stateFile(env), "state `file` of 'commbench broker up', read when no address is given")
	timeout := fs.Duration("timeout", 30*time.Second, "how long the whole check may take")
	vals := map[string]*string{}
	for _, f := range checkFlags {
		vals[f.env] = fs.String(f.flag, "", f.usage+" (default $"+f.env+")")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	addrs, sec, from, err := checkTarget(fs, vals, *brokers, *state, env, envErr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	fmt.Printf("checking %s (%s, from %s)\n", strings.Join(addrs, ","), sec, from)
	r, err := broker.Check(ctx, addrs, sec)
	if err != nil {
		return fmt.Errorf("broker check: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if b, err := broker.Load(*state); err == nil && b.Kind == broker.Local && b.Running() && strings.Join(b.Addrs, ",") == strings.Join(addrs, ",") {
		fmt.Printf("version: Apache Kafka %s (the local broker of 'commbench broker up'); the broker tells: %s\n", b.Version, r.Version)
	} else {
		fmt.Printf("version: %s\n", r.Version)
	}
	listener := r.Protocol
	if r.TLS != "" {
		listener += " (" + r.TLS + ")"
	}
	fmt.Printf("listener: %s\n", listener)
	if len(r.Mechanisms) > 0 {
		fmt.Printf("mechanisms offered: %s\n", strings.Join(r.Mechanisms, ", "))
	}
	auth := r.Authenticated
	if auth == "" {
		auth = "none (no SASL on this listener)"
	}
	fmt.Printf("authenticated: %s\n", auth)
	fmt.Printf("topics: %d\n", len(r.Topics))
	for _, t := range r.Topics {
		fmt.Printf("  %s: %d partitions\n", t.Name, t.Partitions)
	}
	return nil
}

// checkTarget returns the addresses and security to check: the flags over
// the environment, else the broker that 'broker up' started (its state
// file and client settings), and says where they came from.
func checkTarget(fs *flag.FlagSet, vals map[string]*string, brokers, state string, env environ, envErr error) ([]string, kafkasec.Config, string, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	flagsSec := false
	for _, f := range checkFlags {
		flagsSec = flagsSec || set[f.flag]
	}
	addrs, err := broker.ParseAddrs(brokers)
	if err != nil {
		return nil, kafkasec.Config{}, "", usageErr(fmt.Errorf("broker check: --brokers: %w", err), "")
	}
	if envErr != nil && !flagsSec {
		return nil, kafkasec.Config{}, "", usageErr(envErr, envHint)
	}
	if len(addrs) == 0 && len(env.Brokers) == 0 && !flagsSec {
		b, err := broker.Load(state)
		if errors.Is(err, os.ErrNotExist) {
			return nil, kafkasec.Config{}, "", usageErr(errors.New("broker check: no broker to check"), "give --brokers host:port, set KAFKA_BROKERS, or start one with 'commbench broker up'")
		}
		if err != nil {
			return nil, kafkasec.Config{}, "", err
		}
		sec, err := b.Security()
		if b.Kind == broker.External {
			sec = env.Kafka
		}
		return b.Addrs, sec, "the state of 'commbench broker up', " + state + ": " + b.String(), err
	}
	from := "flags and the environment"
	if len(addrs) == 0 {
		addrs = env.Brokers
	}
	if len(addrs) == 0 {
		return nil, kafkasec.Config{}, "", usageErr(errors.New("broker check: no address"), "give --brokers host:port or set KAFKA_BROKERS")
	}
	sec, err := kafkasec.Parse(func(k string) string {
		if v := vals[k]; v != nil && *v != "" {
			return *v
		}
		return os.Getenv(k)
	})
	if err != nil {
		return nil, kafkasec.Config{}, "", usageErr(fmt.Errorf("broker check: %w", err), "the flags --tls, --tls-ca, --sasl-* stand for these variables")
	}
	return addrs, sec, from, nil
}
