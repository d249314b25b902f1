package main

import (
	"os"

	"github.com/commbench/commbench/broker/kafkasec"
)

// environ is what commbench takes from its environment. It is read here,
// once, and passed down as values: no library package reads the
// environment for the services' settings.
//
// Read elsewhere in cmd/ for now: KAFKA_BROKERS as the --brokers flags'
// default (defaultBrokers, broker.go, gate.go, run.go's checkSecurity).
// Still read below cmd/: see the pattern branch's closing note
// (broker.NewClient's security, KAFKA_BROKERS and COMMBENCH_CACHE in broker/
// and loadgen/, JAVA_HOME in broker/local.go).
type environ struct {
	// Kafka secures the Kafka connections: KAFKA_TLS, KAFKA_TLS_*,
	// KAFKA_SASL_* (kafkasec.Vars).
	Kafka kafkasec.Config
}

// readEnv reads the environment; an error names the variable with the bad
// value and what to set.
func readEnv() (environ, error) {
	sec, err := kafkasec.Parse(os.Getenv)
	if err != nil {
		return environ{}, err
	}
	return environ{Kafka: sec}, nil
}
