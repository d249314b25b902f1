package targets_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/reaction"
)

// These tests run both services on loopback sockets against an embedded
// Kafka-protocol broker (kfake): they check the workflow, not Kafka's
// timings.

// Each stack gets its own topic, as each pattern of a run does.
var topics = []string{"commbench.test.a", "commbench.test.b", "commbench.test.c"}

// stack is one pattern's services on loopback.
type stack struct {
	reactionURL string
	notifyURL   string
	notif       *notification.Service
}

func startKafka(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, append(topics, "commbench.test.a.dlq", "commbench.test.b.dlq", "commbench.test.c.dlq")...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func serve(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- targets.Serve(ctx, ln, targets.NewServer("test", h), 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func startStack(t *testing.T, mode reaction.Mode, brokers []string, group string, nc notification.Config) *stack {
	t.Helper()
	topic := topics[slices.Index(reaction.Modes, mode)]
	nc.Brokers, nc.Topic, nc.Group = brokers, topic, group
	if nc.Consumers == 0 {
		nc.Consumers = 2
	}
	n, err := notification.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	notifyURL := serve(t, n.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	consumed := make(chan error, 1)
	go func() { consumed <- n.Consume(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-consumed; err != nil {
			t.Errorf("consume: %v", err)
		}
	})
	r, err := reaction.New(reaction.Config{Mode: mode, NotifyURL: notifyURL, Brokers: brokers, Topic: topic, Budget: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return &stack{reactionURL: serve(t, r.Handler()), notifyURL: notifyURL, notif: n}
}

// post sends reactions from..to (inclusive) with 16 concurrent senders and
// returns how many got each status.
func post(t *testing.T, url string, from, to uint64) map[int]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		ids    = make(chan uint64)
		wg     sync.WaitGroup
		client = &fasthttp.Client{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	)
	for range 16 {
		wg.Go(func() {
			for id := range ids {
				r := targets.Reaction{ID: id, User: fmt.Sprint("u", id%7), Post: "p1", Author: fmt.Sprint("a", id%5), Kind: "like", SentAt: time.Now().UnixNano()}
				req := fasthttp.AcquireRequest()
				resp := fasthttp.AcquireResponse()
				req.SetRequestURI(url + targets.PathReactions)
				req.Header.SetMethod("POST")
				req.SetBody(r.Append(nil))
				err := client.Do(req, resp)
				code := resp.StatusCode()
				if err != nil {
					code = -1
				}
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		})
	}
	for id := from; id <= to; id++ {
		ids <- id
	}
	close(ids)
	wg.Wait()
	return counts
}

// waitDelivered polls the ledger until it holds want deliveries.
func waitDelivered(t *testing.T, l *ledger.Ledger, want int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if l.Counts().Delivered >= want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("ledger: %+v after %v, want %d delivered", l.Counts(), within, want)
}

func TestEveryPatternDeliversEachReactionOnce(t *testing.T) {
	brokers := startKafka(t)
	const n = 300
	var ledgers []ledger.Ranges
	for _, mode := range reaction.Modes {
		t.Run(string(mode), func(t *testing.T) {
			s := startStack(t, mode, brokers, "g-"+string(mode), notification.Config{Provider: provider.Config{P50: time.Millisecond, P99: 5 * time.Millisecond}})
			got := post(t, s.reactionURL, 1, n)
			wantStatus := map[reaction.Mode]int{reaction.Sync: 201, reaction.Async: 202, reaction.Hybrid: 201}[mode]
			if got[wantStatus] != n {
				t.Fatalf("statuses: got %v, want %d x %d", got, n, wantStatus)
			}
			waitDelivered(t, s.notif.Ledger(), n, 20*time.Second)
			// Give a stray redelivery a moment to show up before counting.
			time.Sleep(300 * time.Millisecond)
			snap, err := s.notif.Ledger().Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			want := ledger.Ranges{{Lo: 1, Hi: n}}
			if fmt.Sprint(snap.DeliveredIDs) != fmt.Sprint(want) || snap.Duplicates != 0 {
				t.Errorf("ledger: ids %v duplicates %d, want %v and 0", snap.DeliveredIDs, snap.Duplicates, want)
			}
			ledgers = append(ledgers, snap.DeliveredIDs)
		})
	}
	for i := 1; i < len(ledgers); i++ {
		if fmt.Sprint(ledgers[i]) != fmt.Sprint(ledgers[0]) {
			t.Errorf("%s ledger %v differs from %s ledger %v", reaction.Modes[i], ledgers[i], reaction.Modes[0], ledgers[0])
		}
	}
}

func setOutage(t *testing.T, s *stack, on bool) {
	t.Helper()
	if err := s.notif.Provider().Set(provider.Switches{Outage: &on}); err != nil {
		t.Fatal(err)
	}
}

func TestProviderOutage(t *testing.T) {
	brokers := startKafka(t)
	fast := notification.Config{
		Provider:        provider.Config{P50: time.Millisecond, P99: 5 * time.Millisecond},
		Retries:         1000, // outlast the outage: nothing dead-lettered
		RetryBackoff:    5 * time.Millisecond,
		RetryMaxBackoff: 50 * time.Millisecond,
	}
	const n = 100

	t.Run("sync fails while the provider is out", func(t *testing.T) {
		s := startStack(t, reaction.Sync, brokers, "g-outage-sync", fast)
		setOutage(t, s, true)
		got := post(t, s.reactionURL, 1, n)
		if got[503] != n {
			t.Errorf("statuses: got %v, want %d x 503", got, n)
		}
		if d := s.notif.Ledger().Counts().Delivered; d != 0 {
			t.Errorf("delivered during outage: got %d, want 0", d)
		}
	})

	t.Run("async accepts, then delivers everything after the outage", func(t *testing.T) {
		s := startStack(t, reaction.Async, brokers, "g-outage-async", fast)
		setOutage(t, s, true)
		got := post(t, s.reactionURL, 1, n)
		if got[202] != n {
			t.Fatalf("statuses: got %v, want %d x 202", got, n)
		}
		time.Sleep(300 * time.Millisecond) // consumers are retrying now
		if d := s.notif.Ledger().Counts().Delivered; d != 0 {
			t.Errorf("delivered during outage: got %d, want 0", d)
		}
		setOutage(t, s, false)
		waitDelivered(t, s.notif.Ledger(), n, 20*time.Second)
		snap, _ := s.notif.Ledger().Snapshot()
		if lost := n - int(snap.DeliveredIDs.Count()); lost != 0 || snap.DeadLettered != 0 {
			t.Errorf("lost %d, dead-lettered %d; want 0 and 0", lost, snap.DeadLettered)
		}
	})

	t.Run("hybrid falls back to Kafka and loses nothing", func(t *testing.T) {
		s := startStack(t, reaction.Hybrid, brokers, "g-outage-hybrid", fast)
		setOutage(t, s, true)
		got := post(t, s.reactionURL, 1, n)
		if got[202] != n {
			t.Fatalf("statuses: got %v, want %d x 202 (async fallback)", got, n)
		}
		setOutage(t, s, false)
		waitDelivered(t, s.notif.Ledger(), n, 20*time.Second)
	})
}

func TestFailingProviderDeadLetters(t *testing.T) {
	brokers := startKafka(t)
	s := startStack(t, reaction.Async, brokers, "g-dlq", notification.Config{
		Provider:        provider.Config{P50: time.Millisecond, P99: time.Millisecond, ErrorRate: 1},
		Retries:         3,
		RetryBackoff:    time.Millisecond,
		RetryMaxBackoff: 2 * time.Millisecond,
	})
	const n = 50
	if got := post(t, s.reactionURL, 1, n); got[202] != n {
		t.Fatalf("statuses: got %v", got)
	}
	deadline := time.Now().Add(20 * time.Second)
	for s.notif.Ledger().Counts().DeadLettered < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	snap, _ := s.notif.Ledger().Snapshot()
	if fmt.Sprint(snap.DeadLetteredIDs) != fmt.Sprint(ledger.Ranges{{Lo: 1, Hi: n}}) || snap.Delivered != 0 {
		t.Errorf("dead-lettered %v delivered %d; want [1,%d] and 0", snap.DeadLetteredIDs, snap.Delivered, n)
	}
	if st := s.notif.Stats().Consumer; st.Retries != 2*n {
		t.Errorf("retries: got %d, want %d (3 attempts each)", st.Retries, 2*n)
	}
}

func TestBadInputKeepsServing(t *testing.T) {
	s := startStack(t, reaction.Sync, startKafka(t), "g-bad", notification.Config{Provider: provider.Config{P50: time.Millisecond, P99: time.Millisecond}})
	client := &fasthttp.Client{}
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"malformed JSON", []byte(`{"id":`), 400},
		{"missing field", []byte(`{"id":1,"user":"u","post":"p","kind":"like","sent_at":1}`), 400},
		{"oversized body", make([]byte, targets.MaxBodyBytes+1), 413},
		{"good after the bad", (&targets.Reaction{ID: 9, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil), 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(s.reactionURL + targets.PathReactions)
			req.Header.SetMethod("POST")
			req.SetBody(tt.body)
			if err := client.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != tt.want {
				t.Errorf("got %d %s, want %d", resp.StatusCode(), resp.Body(), tt.want)
			}
		})
	}
}
