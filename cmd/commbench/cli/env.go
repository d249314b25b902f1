package cli

import (
	"fmt"
	"os"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// Env is what commbench takes from its environment. It is read here,
// once per command, and passed down as values: no library package reads
// these variables.
//
// The one variable read elsewhere is JAVA_HOME, in broker.FindJava: like
// PATH, it says where the platform's JVM is, not how commbench behaves
// (see the comment there).
type Env struct {
	// Kafka secures the Kafka connections: KAFKA_TLS, KAFKA_TLS_*,
	// KAFKA_SASL_* (kafkasec.Vars).
	Kafka kafkasec.Config
	// Brokers are KAFKA_BROKERS, host:port[,host:port…], each checked; nil
	// when unset. A --brokers flag overrides them.
	Brokers []string
	// Cache is COMMBENCH_CACHE, else broker.DefaultCacheDir(): the Kafka
	// jars, the state of 'commbench broker up', the calibration.
	Cache string
	// StepSummary is GITHUB_STEP_SUMMARY, the file GitHub Actions shows as
	// the job's summary: the gate appends its table there. "" outside
	// Actions.
	StepSummary string
}

// The variables ReadEnv reads besides kafkasec.Vars.
const (
	envBrokers = "KAFKA_BROKERS"
	envCache   = "COMMBENCH_CACHE"
	envSummary = "GITHUB_STEP_SUMMARY"
)

// EnvHint is the usage hint for an error of ReadEnv, which names the
// variable and its bad value.
const EnvHint = "fix the variable or unset it; nothing was started"

// ReadEnv reads the environment; an error names the variable with the bad
// value and what to set.
func ReadEnv() (Env, error) { return ParseEnv(os.Getenv) }

// ParseEnv is ReadEnv reading through getenv.
func ParseEnv(getenv func(string) string) (Env, error) {
	sec, err := kafkasec.Parse(getenv)
	if err != nil {
		return Env{}, err
	}
	addrs, err := broker.ParseAddrs(getenv(envBrokers))
	if err != nil {
		return Env{}, fmt.Errorf("%s: want host:port[,host:port…] with ports from 1 to 65535, e.g. %s=127.0.0.1:9092: %w", envBrokers, envBrokers, err)
	}
	cache := getenv(envCache)
	if cache == "" {
		cache = broker.DefaultCacheDir()
	}
	return Env{Kafka: sec, Brokers: addrs, Cache: cache, StepSummary: getenv(envSummary)}, nil
}

// BrokerOptions are the Options of the broker that kind and the --brokers
// flag (comma-separated, possibly empty) ask for: the flag's addresses,
// else KAFKA_BROKERS; the cache; the Kafka security.
func (e Env) BrokerOptions(kind broker.Kind, brokers string) broker.Options {
	addrs := broker.SplitAddrs(brokers)
	if len(addrs) == 0 {
		addrs = e.Brokers
	}
	return broker.Options{Kind: kind, Brokers: addrs, CacheDir: e.Cache, Security: e.Kafka}
}
