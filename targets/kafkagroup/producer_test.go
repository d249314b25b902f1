package kafkagroup

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster starts a one-broker kfake cluster with topic's partitions.
func cluster(t testing.TB, topic string, partitions int) *kfake.Cluster {
	t.Helper()
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions), topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kf.Close)
	return kf
}

// queued is how many messages wait in p's partition i for the next request.
func queued(p *Producer, i int) int {
	part := p.parts[i]
	part.mu.Lock()
	defer part.mu.Unlock()
	return len(part.queue)
}

// TestProducerBatchesWhatArrivesDuringARequest holds the first produce
// request at the broker while 50 more messages arrive for the same
// partition: they go in one second request, not 50.
func TestProducerBatchesWhatArrivesDuringARequest(t *testing.T) {
	const topic, more = "t", 50
	kf := cluster(t, topic, 1)
	var requests atomic.Int64
	first, release := make(chan struct{}), make(chan struct{})
	kf.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if requests.Add(1) == 1 {
			close(first)
			<-release // the broker is slow with the first request
		}
		kf.KeepControl()
		return nil, nil, false // the cluster answers as usual
	})
	p := &Producer{Addr: kf.ListenAddrs(), Topic: topic}
	defer p.Close(context.Background())
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, more+1)
	wg.Go(func() { errs <- p.Produce(ctx, kafka.Message{Key: []byte("k"), Value: []byte("0")}) })
	<-first
	for i := range more {
		wg.Go(func() { errs <- p.Produce(ctx, kafka.Message{Key: []byte("k"), Value: []byte(strconv.Itoa(i + 1))}) })
	}
	for queued(p, 0) < more {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("got %d produce requests for %d messages, want 2 (1, then the %d that arrived meanwhile)", got, more+1, more)
	}
}

// TestProducerSendsAtOnceWhenIdle: sequential messages, each with nothing
// in flight, go one request each (no batch window to wait for).
func TestProducerSendsAtOnceWhenIdle(t *testing.T) {
	const topic, n = "t", 20
	kf := cluster(t, topic, 3)
	var requests atomic.Int64
	kf.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		requests.Add(1)
		kf.KeepControl()
		return nil, nil, false
	})
	p := &Producer{Addr: kf.ListenAddrs(), Topic: topic}
	defer p.Close(context.Background())
	for i := range n {
		if err := p.Produce(context.Background(), kafka.Message{Key: []byte(strconv.Itoa(i)), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if got := requests.Load(); got != n {
		t.Errorf("got %d produce requests, want %d", got, n)
	}
}

// TestProducerWritesEveryMessageInKeyOrder reads back what 200 concurrent
// produces wrote: every message once, each key's in the order acked.
func TestProducerWritesEveryMessageInKeyOrder(t *testing.T) {
	const topic, keys, perKey = "t", 4, 50
	kf := cluster(t, topic, 4)
	p := &Producer{Addr: kf.ListenAddrs(), Topic: topic, MaxBatch: 7}
	var wg sync.WaitGroup
	for k := range keys {
		wg.Go(func() {
			for i := range perKey {
				m := kafka.Message{Key: []byte("key-" + strconv.Itoa(k)), Value: []byte(strconv.Itoa(i)),
					Headers: []kafka.Header{{Key: "h", Value: []byte("x")}}}
				if err := p.Produce(context.Background(), m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.Produce(context.Background(), kafka.Message{Value: []byte("late")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Produce after Close: got %v, want ErrClosed", err)
	}
	next := map[string]int{}
	for part := range 4 {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: kf.ListenAddrs(), Topic: topic, Partition: part, MaxWait: 50 * time.Millisecond})
		conn, err := kafka.DialLeader(context.Background(), "tcp", kf.ListenAddrs()[0], topic, part)
		if err != nil {
			t.Fatal(err)
		}
		last, err := conn.ReadLastOffset()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < last; off++ {
			m, err := r.ReadMessage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			k := string(m.Key)
			if got := string(m.Value); got != strconv.Itoa(next[k]) {
				t.Errorf("%s: got value %s, want %d", k, got, next[k])
			}
			if h := Header(&m, "h"); string(h) != "x" {
				t.Errorf("%s: header h = %q, want x", k, h)
			}
			next[k]++
		}
		r.Close()
	}
	for k := range keys {
		if got := next["key-"+strconv.Itoa(k)]; got != perKey {
			t.Errorf("key-%d: read %d messages, want %d", k, got, perKey)
		}
	}
}

// TestProducerRetriesOnlyTemporaryErrors: the broker answers the first
// produce request with an error code; a temporary one (not the leader) is
// tried again and the message acknowledged, a lasting one (an invalid
// record) reaches the caller after one request.
func TestProducerRetriesOnlyTemporaryErrors(t *testing.T) {
	tests := []struct {
		name     string
		code     int16
		wantErr  error
		requests int64
	}{
		{"not the leader: retried", int16(kafka.NotLeaderForPartition), nil, 2},
		{"invalid record: returned", int16(kafka.InvalidRecord), kafka.InvalidRecord, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kf := cluster(t, "t", 1)
			var requests atomic.Int64
			kf.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
				kf.KeepControl()
				if requests.Add(1) > 1 {
					return nil, nil, false
				}
				req := r.(*kmsg.ProduceRequest)
				resp := req.ResponseKind().(*kmsg.ProduceResponse)
				for _, rt := range req.Topics {
					st := kmsg.NewProduceResponseTopic()
					st.Topic = rt.Topic
					for _, rp := range rt.Partitions {
						sp := kmsg.NewProduceResponseTopicPartition()
						sp.Partition, sp.ErrorCode = rp.Partition, tt.code
						st.Partitions = append(st.Partitions, sp)
					}
					resp.Topics = append(resp.Topics, st)
				}
				return resp, nil, true
			})
			p := &Producer{Addr: kf.ListenAddrs(), Topic: "t"}
			defer p.Close(context.Background())
			err := p.Produce(context.Background(), kafka.Message{Key: []byte("k"), Value: []byte("v")})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if got := requests.Load(); got != tt.requests {
				t.Errorf("got %d produce requests, want %d", got, tt.requests)
			}
		})
	}
}
