package main

import (
	"fmt"
	"os"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// environ is what commbench takes from its environment. It is read here,
// once per command, and passed down as values: no library package reads
// these variables.
//
// The one variable read elsewhere is JAVA_HOME, in broker.FindJava: like
// PATH, it says where the platform's JVM is, not how commbench behaves
// (see the comment there).
type environ struct {
	// Kafka secures the Kafka connections: KAFKA_TLS, KAFKA_TLS_*,
	// KAFKA_SASL_* (kafkasec.Vars).
	Kafka kafkasec.Config
	// Brokers are KAFKA_BROKERS, host:port[,host:port…], each checked; nil
	// when unset. A --brokers flag overrides them.
	Brokers []string
	// Cache is COMMBENCH_CACHE, else broker.DefaultCacheDir(): the Kafka
	// jars, the state of 'commbench broker up', the calibration.
	Cache string
}

// The variables readEnv reads besides kafkasec.Vars.
const (
	envBrokers = "KAFKA_BROKERS"
	envCache   = "COMMBENCH_CACHE"
)

// envHint is the usage hint for an error of readEnv, which names the
// variable and its bad value.
const envHint = "fix the variable or unset it; nothing was started"

// readEnv reads the environment; an error names the variable with the bad
// value and what to set.
func readEnv() (environ, error) { return parseEnv(os.Getenv) }

// parseEnv is readEnv reading through getenv.
func parseEnv(getenv func(string) string) (environ, error) {
	sec, err := kafkasec.Parse(getenv)
	if err != nil {
		return environ{}, err
	}
	addrs, err := broker.ParseAddrs(getenv(envBrokers))
	if err != nil {
		return environ{}, fmt.Errorf("%s: want host:port[,host:port…] with ports from 1 to 65535, e.g. %s=127.0.0.1:9092: %w", envBrokers, envBrokers, err)
	}
	cache := getenv(envCache)
	if cache == "" {
		cache = broker.DefaultCacheDir()
	}
	return environ{Kafka: sec, Brokers: addrs, Cache: cache}, nil
}

// brokerOptions are the Options of the broker that kind and the --brokers
// flag (comma-separated, possibly empty) ask for: the flag's addresses,
// else KAFKA_BROKERS; the cache; the Kafka security.
func (e environ) brokerOptions(kind broker.Kind, brokers string) broker.Options {
	addrs := broker.SplitAddrs(brokers)
	if len(addrs) == 0 {
		addrs = e.Brokers
	}
	return broker.Options{Kind: kind, Brokers: addrs, CacheDir: e.Cache, Security: e.Kafka}
}
