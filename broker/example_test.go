package broker_test

import (
	"fmt"

	"github.com/commbench/commbench/broker"
)

func ExampleSplitAddrs() {
	// KAFKA_BROKERS as a user writes it.
	fmt.Println(broker.SplitAddrs("127.0.0.1:9092, 127.0.0.1:9093,"))
	// Output: [127.0.0.1:9092 127.0.0.1:9093]
}

func ExampleParseKind() {
	k, err := broker.ParseKind("embedded")
	fmt.Println(k, err)
	_, err = broker.ParseKind("docker")
	fmt.Println(err)
	// Output:
	// embedded <nil>
	// unknown broker kind "docker": want auto, local, embedded or external
}

func ExampleParseAddrs() {
	addrs, err := broker.ParseAddrs("127.0.0.1:9092, kafka-2:9092")
	fmt.Println(addrs, err)
	_, err = broker.ParseAddrs("127.0.0.1:9092,kafka-2")
	fmt.Println(err)
	// Output:
	// [127.0.0.1:9092 kafka-2:9092] <nil>
	// bad broker address: "kafka-2" is not host:port
}
