package broker_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/broker/kafkasec"
)

// TestHaltAndStartKeepsTopicsAndOffsets kills the local broker (SIGKILL),
// starts it again, stops it gracefully (SIGTERM), starts it again: each
// time on the same port, with its messages and the group's committed
// offsets.
func TestHaltAndStartKeepsTopicsAndOffsets(t *testing.T) {
	b := localKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("commbench.test.restart.%d", time.Now().UnixNano())
	group := topic + ".group"
	const produced, committed = 20, 8
	c, err := broker.NewClient(b.Addrs, kafkasec.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CreateTopics(ctx, 3, topic); err != nil {
		t.Fatal(err)
	}
	defer c.DeleteTopics(context.Background(), topic)
	// A Writer of its own: the default transport's cached metadata may not
	// know the new topic yet.
	w := &kafka.Writer{Addr: kafka.TCP(b.Addrs...), Topic: topic, RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond, Transport: &kafka.Transport{MetadataTTL: time.Second}}
	for i := range produced {
		for {
			err := w.WriteMessages(ctx, kafka.Message{Key: []byte(strconv.Itoa(i)), Value: []byte("x")})
			if err == nil {
				break
			}
			if !errors.Is(err, kafka.UnknownTopicOrPartition) || ctx.Err() != nil {
				t.Fatalf("produce: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	w.Close()
	consume(t, ctx, b.Addrs, topic, group, committed)

	addrs, pid := b.Addrs, b.PID
	for _, kill := range []bool{true, false} {
		if err := b.Halt(ctx, kill); err != nil {
			t.Fatalf("Halt(kill=%v): %v", kill, err)
		}
		if b.Running() {
			t.Fatalf("Halt(kill=%v): still running", kill)
		}
		if conn, err := net.DialTimeout("tcp", b.Addrs[0], time.Second); err == nil {
			conn.Close()
			t.Fatalf("Halt(kill=%v): %s still accepts connections", kill, b.Addrs[0])
		}
		start := time.Now()
		if err := b.Start(ctx); err != nil {
			t.Fatalf("Start after Halt(kill=%v): %v", kill, err)
		}
		t.Logf("kill=%v: back in %v", kill, time.Since(start).Round(time.Millisecond))
		if b.PID == pid || !b.Running() || b.Addrs[0] != addrs[0] {
			t.Errorf("after Start: pid %d (was %d), running %v, addrs %v (were %v); want a new process on the same port", b.PID, pid, b.Running(), b.Addrs, addrs)
		}
		pid = b.PID
		// A new client: the old one's connections died with the broker.
		c2, err := broker.NewClient(b.Addrs, kafkasec.Config{})
		if err != nil {
			t.Fatal(err)
		}
		lag, _, err := c2.Lag(ctx, group, topic)
		c2.Close()
		if err != nil || lag != produced-committed {
			t.Errorf("kill=%v: lag after the restart %d, %v; want %d: the messages and the committed offsets survive", kill, lag, err, produced-committed)
		}
	}
}

func TestHaltRefusesWhatItCannotBringBack(t *testing.T) {
	ctx := context.Background()
	ext := &broker.Broker{Kind: broker.External, Addrs: []string{"127.0.0.1:1"}}
	if err := ext.Halt(ctx, true); !errors.Is(err, broker.ErrNotRestartable) {
		t.Errorf("external: got %v, want ErrNotRestartable", err)
	}
	if err := broker.RestartableKind(broker.Embedded); !errors.Is(err, broker.ErrNotRestartable) {
		t.Errorf("embedded: got %v, want ErrNotRestartable", err)
	}
	// A broker known from a state file was started by another process.
	loaded := &broker.Broker{Kind: broker.Local, PID: 1}
	if err := loaded.Start(ctx); !errors.Is(err, broker.ErrNotRestartable) {
		t.Errorf("local from a state file: got %v, want ErrNotRestartable", err)
	}
	if err := broker.RestartableKind(broker.Local); err != nil {
		t.Errorf("local: %v", err)
	}
}
