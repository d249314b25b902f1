package reaction

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/targets/svc"
	"github.com/commbench/commbench/targets/wire"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		have error
		want int
	}{
		{"client timeout", fasthttp.ErrTimeout, 504},
		{"pool exhausted", fasthttp.ErrNoFreeConns, 503},
		{"dial timeout", fasthttp.ErrDialTimeout, 503},
		{"connection refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, 503},
		{"closed early", fasthttp.ErrConnectionClosed, 502},
		{"anything else", errors.New("boom"), 502},
	}
	for _, tt := range tests {
		if got := svc.Classify(tt.have); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		have Config
		ok   bool
	}{
		{"sync with a URL", Config{Mode: pattern.Sync, NotifyURL: "http://127.0.0.1:1"}, true},
		{"sync without a URL", Config{Mode: pattern.Sync}, false},
		{"async without brokers", Config{Mode: pattern.Async}, false},
		{"hybrid needs both", Config{Mode: pattern.Hybrid, NotifyURL: "http://127.0.0.1:1"}, false},
		{"unknown mode", Config{Mode: "rpc"}, false},
		{"negative budget", Config{Mode: pattern.Sync, NotifyURL: "http://x:1", Budget: -1}, false},
	}
	for _, tt := range tests {
		if err := tt.have.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: got %v", tt.name, err)
		}
	}
	if _, err := New(Config{Mode: pattern.Sync, NotifyURL: "ftp://x"}); err == nil {
		t.Error("New with an ftp URL: got nil error")
	}
}

// downstream serves /v1/notify in memory with the given handler.
func downstream(t testing.TB, h fasthttp.RequestHandler) *fasthttputil.InmemoryListener {
	ln := fasthttputil.NewInmemoryListener()
	go (&fasthttp.Server{Handler: h}).Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return ln
}

func syncTo(ln *fasthttputil.InmemoryListener, timeout time.Duration) *syncNotifier {
	n, _ := newSyncNotifier(Config{NotifyURL: "http://notification", Timeout: timeout}.withDefaults())
	n.client.Dial = func(string) (net.Conn, error) { return ln.Dial() }
	return n
}

func TestSyncStatusMapping(t *testing.T) {
	tests := []struct {
		name       string
		downstream int
		delay      time.Duration
		want       int
	}{
		{"delivered", 200, 0, 201},
		{"provider outage", 503, 0, 503},
		{"provider timed out", 504, 0, 504},
		{"provider failed", 502, 0, 502},
		{"unexpected answer", 404, 0, 502},
		{"too slow for our timeout", 200, 200 * time.Millisecond, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := downstream(t, func(ctx *fasthttp.RequestCtx) {
				time.Sleep(tt.delay)
				ctx.SetStatusCode(tt.downstream)
			})
			n := syncTo(ln, 50*time.Millisecond)
			r := wire.Reaction{ID: 1, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}
			if got := n.notify(&r, trace{parent: []byte(wire.Traceparent(1)), apiIn: 1}, r.Append(nil)); got.status != tt.want || got.path != "sync" {
				t.Errorf("got %d via %s (%v), want %d via sync", got.status, got.path, got.err, tt.want)
			}
		})
	}
}

func ExampleConfig_Validate() {
	err := Config{Mode: "rpc"}.Validate()
	fmt.Println(err)
	// Output: mode: unknown pattern "rpc": want sync, async or hybrid
}

// TestSyncCallCarriesTheTrace checks the headers the notification service
// gets: the traceparent as it came and the stamps t_api_in, t_handoff.
func TestSyncCallCarriesTheTrace(t *testing.T) {
	var parent, st []byte
	ln := downstream(t, func(ctx *fasthttp.RequestCtx) {
		parent = append([]byte(nil), ctx.Request.Header.Peek(wire.HeaderTraceparent)...)
		st = append([]byte(nil), ctx.Request.Header.Peek(wire.HeaderStamps)...)
		ctx.SetStatusCode(fasthttp.StatusOK)
	})
	n := syncTo(ln, time.Second)
	r := wire.Reaction{ID: 7, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}
	apiIn := time.Now().UnixNano()
	if o := n.notify(&r, trace{parent: []byte(wire.Traceparent(7)), apiIn: apiIn}, r.Append(nil)); o.err != nil {
		t.Fatal(o.err)
	}
	if string(parent) != wire.Traceparent(7) {
		t.Errorf("traceparent: got %q, want %q", parent, wire.Traceparent(7))
	}
	gotIn, handoff, ok := wire.ParseStamps(st)
	if !ok || gotIn != apiIn || handoff < apiIn {
		t.Errorf("stamps: got %q, want %d,<t_handoff >= t_api_in>", st, apiIn)
	}
}

// TestSyncBreakerRefusesWhileOpen: with Breaker, sync fails fast with 503
// "circuit open" after TripFailures failed calls, without calling the
// notification service again while the breaker is open.
func TestSyncBreakerRefusesWhileOpen(t *testing.T) {
	var calls atomic.Int64
	ln := downstream(t, func(ctx *fasthttp.RequestCtx) {
		calls.Add(1)
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	})
	s, err := New(Config{Mode: pattern.Sync, Breaker: true, NotifyURL: "http://notification", TripFailures: 3, OpenFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	s.notifier.(*breakerNotifier).sync.client.Dial = func(string) (net.Conn, error) { return ln.Dial() }
	if got := s.Stats().Breaker; got != "closed" {
		t.Errorf("breaker before: got %q, want closed", got)
	}
	h := s.Handler()
	for id := uint64(1); id <= 10; id++ {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(wire.PathReactions)
		ctx.Request.SetBody((&wire.Reaction{ID: id, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil))
		h(&ctx)
		body := string(ctx.Response.Body())
		if code := ctx.Response.StatusCode(); code != 503 {
			t.Errorf("reaction %d: got %d %s, want 503", id, code, body)
		}
		if open := strings.Contains(body, "circuit open"); open != (id > 3) {
			t.Errorf("reaction %d: body %s; want circuit open: %v", id, body, id > 3)
		}
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("notification service called %d times, want 3 (then the breaker is open)", got)
	}
	if st := s.Stats(); st.Breaker != "open" || st.S503 != 10 || st.BreakerOpened != 1 || st.BreakerRejected != 7 {
		t.Errorf("stats: %+v, want breaker open, opened once, 10 x 503 of which 7 rejected", st)
	}
}

// blockingProducer holds every Produce until release is closed, counting
// the calls waiting now and the most at once.
type blockingProducer struct {
	release       chan struct{}
	waiting, peak atomic.Int64
}

func (p *blockingProducer) Produce(ctx context.Context, _ kafka.Message) error {
	n := p.waiting.Add(1)
	defer p.waiting.Add(-1)
	for m := p.peak.Load(); n > m && !p.peak.CompareAndSwap(m, n); m = p.peak.Load() {
	}
	select {
	case <-p.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *blockingProducer) Close(context.Context) error { return nil }

// TestAsyncBoundsReactionsWaitingForKafka: with a broker that does not ack,
// 3 × MaxInFlight concurrent reactions leave exactly MaxInFlight waiting in
// the producer; the others are answered 503 at once and counted as shed.
// Once the broker acks, the waiting ones get 202.
func TestAsyncBoundsReactionsWaitingForKafka(t *testing.T) {
	for _, mode := range []pattern.Pattern{pattern.Async, pattern.Hybrid} {
		t.Run(string(mode), func(t *testing.T) {
			const max, n = 8, 24
			cfg := Config{Mode: mode, Brokers: []string{"127.0.0.1:1"}, NotifyURL: "http://notification", MaxInFlight: max, Timeout: time.Hour}
			if mode == pattern.Hybrid {
				cfg.TripFailures, cfg.OpenFor = 1, time.Hour // the first failure opens the breaker: the rest go to Kafka
			}
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			fake := &blockingProducer{release: make(chan struct{})}
			s.kafkaOut().p = fake
			if h, ok := s.notifier.(*hybridNotifier); ok {
				h.sync.client.Dial = func(string) (net.Conn, error) { return nil, syscall.ECONNREFUSED }
			}
			h := s.Handler()
			var wg sync.WaitGroup
			var accepted, unavailable, other atomic.Int64
			for id := range uint64(n) {
				wg.Go(func() {
					var ctx fasthttp.RequestCtx
					ctx.Request.Header.SetMethod("POST")
					ctx.Request.SetRequestURI(wire.PathReactions)
					ctx.Request.SetBody((&wire.Reaction{ID: id + 1, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil))
					h(&ctx)
					switch ctx.Response.StatusCode() {
					case 202:
						accepted.Add(1)
					case 503:
						unavailable.Add(1)
					default:
						other.Add(1)
					}
				})
			}
			// Wait (no timing asserted) until every reaction either waits in
			// the producer or was answered.
			for fake.waiting.Load()+unavailable.Load()+other.Load() < n {
				time.Sleep(time.Millisecond)
			}
			if got := fake.waiting.Load(); got != max {
				t.Errorf("waiting for the ack: got %d, want MaxInFlight = %d", got, max)
			}
			if st := s.Stats(); st.ProduceInFlight != max || st.ProduceShed != n-max {
				t.Errorf("stats while blocked: in flight %d, shed %d; want %d, %d", st.ProduceInFlight, st.ProduceShed, max, n-max)
			}
			close(fake.release)
			wg.Wait()
			if got := fake.peak.Load(); got != max {
				t.Errorf("most waiting at once: got %d, want %d", got, max)
			}
			if accepted.Load() != max || unavailable.Load() != n-max || other.Load() != 0 {
				t.Errorf("answers: %d x 202, %d x 503, %d other; want %d, %d, 0", accepted.Load(), unavailable.Load(), other.Load(), max, n-max)
			}
			if st := s.Stats(); st.ProduceInFlight != 0 || st.ProducePeak != max {
				t.Errorf("stats after: in flight %d, peak %d; want 0, %d", st.ProduceInFlight, st.ProducePeak, max)
			}
		})
	}
}

func TestStoreSeesRetries(t *testing.T) {
	s := newStore(0)
	for _, tt := range []struct {
		id    uint64
		first bool
	}{
		{1, true},
		{2, true},
		{1, false},              // a retry
		{wire.MaxID, true},      // the last id the bitset takes
		{wire.MaxID + 1, true},  // above it: kept aside
		{wire.MaxID + 1, false}, // and its retry seen too
		{1<<63 + 5, true},       //
	} {
		if got := s.put(&wire.Reaction{ID: tt.id}); got != tt.first {
			t.Errorf("put(%d): got first %v, want %v", tt.id, got, tt.first)
		}
	}
	if got, want := s.len(), 5; got != want {
		t.Errorf("len: got %d, want %d", got, want)
	}
}
