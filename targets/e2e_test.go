package targets_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/ledger"
	"github.com/commbench/commbench/targets/notification"
	"github.com/commbench/commbench/targets/provider"
	"github.com/commbench/commbench/targets/reaction"
	"github.com/commbench/commbench/targets/relay"
	"github.com/commbench/commbench/targets/targettest"
	"github.com/commbench/commbench/targets/wire"
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

func startStack(t *testing.T, mode pattern.Pattern, brokers []string, group string, nc notification.Config) *stack {
	t.Helper()
	topic := topics[slices.Index(pattern.All(), mode)]
	nc.Brokers, nc.Topic, nc.Group = brokers, topic, group
	if nc.Consumers == 0 {
		nc.Consumers = 2
	}
	n, err := notification.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	notifyURL := targettest.Serve(t, n.Handler())
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
	return &stack{reactionURL: targettest.Serve(t, r.Handler()), notifyURL: notifyURL, notif: n}
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
				r := wire.Reaction{ID: id, User: fmt.Sprint("u", id%7), Post: "p1", Author: fmt.Sprint("a", id%5), Kind: "like", SentAt: time.Now().UnixNano()}
				req := fasthttp.AcquireRequest()
				resp := fasthttp.AcquireResponse()
				req.SetRequestURI(url + wire.PathReactions)
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
	var ledgers []wire.Ranges
	for _, mode := range pattern.All() {
		t.Run(string(mode), func(t *testing.T) {
			s := startStack(t, mode, brokers, "g-"+string(mode), notification.Config{Provider: provider.Config{P50: time.Millisecond, P99: 5 * time.Millisecond}})
			got := post(t, s.reactionURL, 1, n)
			wantStatus := map[pattern.Pattern]int{pattern.Sync: 201, pattern.Async: 202, pattern.Hybrid: 201}[mode]
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
			want := wire.Ranges{{Lo: 1, Hi: n}}
			if fmt.Sprint(snap.DeliveredIDs) != fmt.Sprint(want) || snap.Duplicates != 0 {
				t.Errorf("ledger: ids %v duplicates %d, want %v and 0", snap.DeliveredIDs, snap.Duplicates, want)
			}
			ledgers = append(ledgers, snap.DeliveredIDs)
		})
	}
	for i := 1; i < len(ledgers); i++ {
		if fmt.Sprint(ledgers[i]) != fmt.Sprint(ledgers[0]) {
			t.Errorf("%s ledger %v differs from %s ledger %v", pattern.All()[i], ledgers[i], pattern.All()[0], ledgers[0])
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
		s := startStack(t, pattern.Sync, brokers, "g-outage-sync", fast)
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
		s := startStack(t, pattern.Async, brokers, "g-outage-async", fast)
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
		s := startStack(t, pattern.Hybrid, brokers, "g-outage-hybrid", fast)
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
	s := startStack(t, pattern.Async, brokers, "g-dlq", notification.Config{
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
	if fmt.Sprint(snap.DeadLetteredIDs) != fmt.Sprint(wire.Ranges{{Lo: 1, Hi: n}}) || snap.Delivered != 0 {
		t.Errorf("dead-lettered %v delivered %d; want [1,%d] and 0", snap.DeadLetteredIDs, snap.Delivered, n)
	}
	if st := s.notif.Stats().Consumer; st.Retries != 2*n {
		t.Errorf("retries: got %d, want %d (3 attempts each)", st.Retries, 2*n)
	}
}

func TestBadInputKeepsServing(t *testing.T) {
	s := startStack(t, pattern.Sync, startKafka(t), "g-bad", notification.Config{Provider: provider.Config{P50: time.Millisecond, P99: time.Millisecond}})
	client := &fasthttp.Client{}
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"malformed JSON", []byte(`{"id":`), 400},
		{"missing field", []byte(`{"id":1,"user":"u","post":"p","kind":"like","sent_at":1}`), 400},
		{"oversized body", make([]byte, wire.MaxBodyBytes+1), 413},
		{"good after the bad", (&wire.Reaction{ID: 9, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil), 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := fasthttp.AcquireRequest()
			resp := fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI(s.reactionURL + wire.PathReactions)
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

// Chains: A (the reaction service) → relays B, C → D (the notification
// service), on loopback sockets. The tests count statuses and errors, never
// how long something took.

// chain is a chain's services; relays[0] is B.
type chain struct {
	reactionURL string
	reaction    *reaction.Service
	relays      []*relay.Service
	relayURLs   []string
}

// startSyncChain starts the relays from the last to the first, the last
// pointed at dURL, then A pointed at B.
func startSyncChain(t *testing.T, dURL string, ac reaction.Config, relays ...relay.Config) *chain {
	t.Helper()
	c := &chain{relays: make([]*relay.Service, len(relays)), relayURLs: make([]string, len(relays))}
	next := dURL
	for i := len(relays) - 1; i >= 0; i-- {
		rc := relays[i]
		rc.Mode, rc.NextURL = pattern.Sync, next
		s, err := relay.New(rc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		c.relays[i], c.relayURLs[i] = s, targettest.Serve(t, s.Handler())
		next = c.relayURLs[i]
	}
	ac.Mode, ac.NotifyURL = pattern.Sync, next
	a, err := reaction.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	c.reaction, c.reactionURL = a, targettest.Serve(t, a.Handler())
	return c
}

// headerLog records the trace headers each reaction arrived with at a hop.
type headerLog struct {
	mu sync.Mutex
	m  map[uint64][2]string // id → traceparent, stamps
}

// wrap records the headers of each POST /v1/notify, then calls h.
func (l *headerLog) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	l.m = map[uint64][2]string{}
	return func(ctx *fasthttp.RequestCtx) {
		var r wire.Reaction
		if string(ctx.Path()) == wire.PathNotify && wire.Decode(ctx.PostBody(), &r) == nil {
			l.mu.Lock()
			l.m[r.ID] = [2]string{string(ctx.Request.Header.Peek(wire.HeaderTraceparent)), string(ctx.Request.Header.Peek(wire.HeaderStamps))}
			l.mu.Unlock()
		}
		h(ctx)
	}
}

// postEach sends reactions from..to one after another and returns each
// answer's status and body: the order is the test's.
func postEach(t *testing.T, url string, from, to uint64) (statuses []int, bodies []string) {
	t.Helper()
	client := &fasthttp.Client{}
	for id := from; id <= to; id++ {
		r := wire.Reaction{ID: id, User: "u", Post: "p1", Author: "a", Kind: "like", SentAt: time.Now().UnixNano()}
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(url + wire.PathReactions)
		req.Header.SetMethod("POST")
		req.SetBody(r.Append(nil))
		if err := client.DoTimeout(req, resp, 30*time.Second); err != nil {
			t.Fatalf("reaction %d: %v", id, err)
		}
		statuses, bodies = append(statuses, resp.StatusCode()), append(bodies, string(resp.Body()))
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	return statuses, bodies
}

func TestSyncChainDeliversWithTheTrace(t *testing.T) {
	d, err := notification.New(notification.Config{Provider: provider.Config{P50: time.Millisecond, P99: 5 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	var atB, atD headerLog
	dURL := targettest.Serve(t, atD.wrap(d.Handler()))
	c := startSyncChain(t, dURL, reaction.Config{}, relay.Config{Name: "B"}, relay.Config{Name: "C"})
	// B's headers are recorded on their way in: B is served once more
	// behind the recorder, and A is pointed at that.
	bURL := targettest.Serve(t, atB.wrap(c.relays[0].Handler()))
	a, err := reaction.New(reaction.Config{Mode: pattern.Sync, NotifyURL: bURL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	aURL := targettest.Serve(t, a.Handler())

	const n = 200
	if got := post(t, aURL, 1, n); got[201] != n {
		t.Fatalf("statuses: got %v, want %d x 201", got, n)
	}
	snap, err := d.Ledger().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(snap.DeliveredIDs) != fmt.Sprint(wire.Ranges{{Lo: 1, Hi: n}}) || snap.Untraced != 0 {
		t.Errorf("D's ledger: ids %v untraced %d; want [1,%d] all traced", snap.DeliveredIDs, snap.Untraced, n)
	}
	atB.mu.Lock()
	atD.mu.Lock()
	defer atB.mu.Unlock()
	defer atD.mu.Unlock()
	for id := uint64(1); id <= n; id++ {
		b, dd := atB.m[id], atD.m[id]
		apiIn, handoff, ok := wire.ParseStamps([]byte(dd[1]))
		if dd != b || dd[0] != wire.Traceparent(id) || !ok || handoff < apiIn {
			t.Errorf("reaction %d: D got traceparent, stamps %q; B got %q; want A's as they came", id, dd, b)
			break
		}
	}
	for i, url := range append(c.relayURLs[1:], dURL) { // C, D (B was called through its recorder)
		if hi := targettest.HopInterval(t, url); hi.Calls != n || hi.Errors != 0 {
			t.Errorf("hop %d: %+v, want %d calls, no errors", i+2, hi, n)
		}
	}
}

func TestSyncChainEndDown(t *testing.T) {
	// D's port is closed: C cannot connect (503), and B passes C's 503 on.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dURL := "http://" + ln.Addr().String()
	ln.Close()
	c := startSyncChain(t, dURL, reaction.Config{}, relay.Config{Name: "B"}, relay.Config{Name: "C"})
	const n = 50
	if got := post(t, c.reactionURL, 1, n); got[503] != n {
		t.Errorf("A's statuses: got %v, want %d x 503", got, n)
	}
	for i, url := range c.relayURLs {
		if hi := targettest.HopInterval(t, url); hi.Calls != n || hi.Errors != n || hi.Rejected != 0 {
			t.Errorf("relay %s: %+v, want %d calls, all errors", c.relays[i].Stats().Name, hi, n)
		}
		if st := c.relays[i].Stats(); st.S503 != n {
			t.Errorf("relay %s: %+v, want %d x 503", st.Name, st, n)
		}
	}
	if st := c.reaction.Stats(); st.S503 != n {
		t.Errorf("A: %+v, want %d x 503", st, n)
	}
}

// hangingServer accepts connections and reads them, but never answers.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				io.Copy(io.Discard, conn) // until the caller gives up and closes
			})
		}
	})
	return "http://" + ln.Addr().String()
}

func TestSyncChainEndHangs(t *testing.T) {
	// Each hop waits longer than the one after it, so that the timeout is
	// C's and B and A pass C's 504 back rather than time out themselves.
	c := startSyncChain(t, hangingServer(t), reaction.Config{Timeout: 5 * time.Second},
		relay.Config{Name: "B", Timeout: 3 * time.Second}, relay.Config{Name: "C", Timeout: 100 * time.Millisecond})
	const n = 20
	statuses, bodies := postEach(t, c.reactionURL, 1, n)
	for i, st := range statuses {
		if st != 504 || !strings.Contains(bodies[i], "relay B: next hop answered 504") || !strings.Contains(bodies[i], "relay C: next hop: ") {
			t.Errorf("reaction %d: got %d %s, want 504 from C through B", i+1, st, bodies[i])
		}
	}
	for i, url := range c.relayURLs {
		if hi := targettest.HopInterval(t, url); hi.Calls != n || hi.Errors != n {
			t.Errorf("relay %s: %+v, want %d calls, all errors", c.relays[i].Stats().Name, hi, n)
		}
		if st := c.relays[i].Stats(); st.S504 != n {
			t.Errorf("relay %s: %+v, want %d x 504", st.Name, st, n)
		}
	}
}

func TestSyncChainBreakersOpen(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dURL := "http://" + ln.Addr().String()
	ln.Close()
	// Each breaker trips after more failures than the one after it, so
	// that every one of them gets to refuse calls: C opens after its 3rd,
	// B after its 10th (C's 3 and 7 refused by C), A after its 15th.
	const aTrip, bTrip, cTrip, n = 15, 10, 3, 20
	c := startSyncChain(t, dURL, reaction.Config{Breaker: true, TripFailures: aTrip, OpenFor: time.Hour},
		relay.Config{Name: "B", Breaker: true, TripFailures: bTrip, OpenFor: time.Hour},
		relay.Config{Name: "C", Breaker: true, TripFailures: cTrip, OpenFor: time.Hour})
	statuses, bodies := postEach(t, c.reactionURL, 1, n)
	for i, st := range statuses {
		var want string
		switch id := i + 1; {
		case id <= cTrip:
			want = "relay C: next hop: " // refused
		case id <= bTrip:
			want = "relay C: circuit open"
		case id <= aTrip:
			want = "relay B: circuit open"
		default:
			want = `{"error":"circuit open"}` // A's own
		}
		if st != 503 || !strings.Contains(bodies[i], want) {
			t.Errorf("reaction %d: got %d %s, want 503 %s", i+1, st, bodies[i], want)
		}
	}
	want := []struct{ calls, rejected int64 }{{aTrip, aTrip - bTrip}, {bTrip, bTrip - cTrip}}
	for i, url := range c.relayURLs {
		hi := targettest.HopInterval(t, url)
		if hi.Calls != want[i].calls || hi.Errors != hi.Calls || hi.Rejected != want[i].rejected || hi.Rejected == 0 || hi.Opened < 1 || hi.Breaker != "open" {
			t.Errorf("relay %s: %+v, want %d calls, all errors, %d rejected, opened, open", c.relays[i].Stats().Name, hi, want[i].calls, want[i].rejected)
		}
	}
	if st := c.reaction.Stats(); st.S503 != n || st.Breaker != "open" {
		t.Errorf("A: %+v, want %d x 503 and the breaker open", st, n)
	}
}

func TestAsyncChainDelivers(t *testing.T) {
	// A produces to the reactions topic, B relays it to the next, D consumes
	// that: the trace context and stamps travel in message headers.
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "chain.ab", "chain.bd", "chain.bd.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	brokers := kc.ListenAddrs()
	d, err := notification.New(notification.Config{
		Provider: provider.Config{P50: time.Millisecond, P99: 5 * time.Millisecond},
		Brokers:  brokers, Topic: "chain.bd", Group: "g-chain-d", Consumers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := relay.New(relay.Config{Mode: pattern.Async, Name: "B", Brokers: brokers, InTopic: "chain.ab", OutTopic: "chain.bd", Group: "g-chain-b", Consumers: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var dErr, bErr error
	wg.Go(func() { dErr = d.Consume(ctx, 5*time.Second) })
	wg.Go(func() { bErr = b.Consume(ctx, 5*time.Second) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := errors.Join(dErr, bErr, b.Close(context.Background())); err != nil {
			t.Errorf("consume: %v", err)
		}
	})
	a, err := reaction.New(reaction.Config{Mode: pattern.Async, Brokers: brokers, Topic: "chain.ab"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	const n = 200
	if got := post(t, targettest.Serve(t, a.Handler()), 1, n); got[202] != n {
		t.Fatalf("statuses: got %v, want %d x 202", got, n)
	}
	waitDelivered(t, d.Ledger(), n, 30*time.Second)
	snap, err := d.Ledger().Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(snap.DeliveredIDs) != fmt.Sprint(wire.Ranges{{Lo: 1, Hi: n}}) || snap.Untraced != 0 {
		t.Errorf("D's ledger: ids %v untraced %d; want [1,%d] all traced", snap.DeliveredIDs, snap.Untraced, n)
	}
	if hi, _ := b.Hop().Interval(); hi.Calls < n || hi.Errors != 0 {
		t.Errorf("B: %+v, want %d calls, no errors", hi, n)
	}
	if hi, _ := d.Hop().Interval(); hi.Calls < n || hi.Errors != 0 {
		t.Errorf("D: %+v, want %d calls, no errors", hi, n)
	}
}
