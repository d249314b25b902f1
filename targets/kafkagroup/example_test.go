package kafkagroup_test

import (
	"context"
	"fmt"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/commbench/commbench/targets/kafkagroup"
)

// A Producer sends a lone message at once and returns with its ack.
func ExampleProducer() {
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "reactions"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer kf.Close()
	p := &kafkagroup.Producer{Addr: kf.ListenAddrs(), Topic: "reactions"}
	defer p.Close(context.Background())
	for _, author := range []string{"ada", "grace"} {
		if err := p.Produce(context.Background(), kafka.Message{Key: []byte(author), Value: []byte(`{"kind":"like"}`)}); err != nil {
			fmt.Println(err)
			return
		}
	}
	st := p.Stats()
	fmt.Printf("%d messages acknowledged in %d requests\n", st.Messages, st.Requests)
	// Output: 2 messages acknowledged in 2 requests
}
