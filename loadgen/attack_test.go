package loadgen

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/wire"
)

// reactionStub is a reaction service that accepts every valid reaction
// with 201 and echoes its id, and counts the authors it saw.
type reactionStub struct {
	mu      sync.Mutex
	authors map[string]int
	bad     int
}

func (s *reactionStub) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.authors = map[string]int{}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		var r wire.Reaction
		if string(c.Path()) != wire.PathReactions || !c.IsPost() || wire.Decode(c.PostBody(), &r) != nil {
			s.mu.Lock()
			s.bad++
			s.mu.Unlock()
			c.SetStatusCode(fasthttp.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.authors[r.Author]++
		s.mu.Unlock()
		c.Response.Header.Set(wire.HeaderID, strconv.FormatUint(r.ID, 10))
		c.Response.Header.Set(wire.HeaderPath, "sync")
		c.SetStatusCode(fasthttp.StatusCreated)
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestAttack(t *testing.T) {
	tests := []struct {
		name    string
		firstID uint64
		wantLo  uint64
	}{
		{"ids from 1", 0, 1}, // 0 means 1: ids start at 1
		{"ids from a later first id", 70_000, 70_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stub reactionStub
			target := stub.start(t)
			pacer, err := NewStagePacer(Stage{For: time.Second, From: 200, To: 200})
			if err != nil {
				t.Fatal(err)
			}
			rec := NewRecorder(RecorderOptions{Due: pacer.Due})
			o := AttackOptions{Target: target, Pacer: pacer, Timeout: 5 * time.Second, KeepAlive: true, FirstID: tt.firstID}
			if err := Attack(context.Background(), o, rec); err != nil {
				t.Fatal(err)
			}
			total := int64(pacer.Total())
			got := rec.Totals()
			if got.Requests != total || got.Accepted != total || got.AcceptedSync != total || got.Drops.Total != 0 {
				t.Errorf("totals %+v, want %d requests all accepted on the sync path", got, total)
			}
			if sent := rec.Tick(time.Now()).Sent; sent != total {
				t.Errorf("sent %d, want %d", sent, total)
			}
			wantIDs := wire.Range{Lo: tt.wantLo, Hi: tt.wantLo + uint64(total) - 1}
			if ids := rec.AcceptedIDs(); len(ids) != 1 || ids[0] != wantIDs {
				t.Errorf("accepted ids %v, want [%v]", ids, wantIDs)
			}
			stub.mu.Lock()
			defer stub.mu.Unlock()
			if stub.bad != 0 {
				t.Errorf("the service rejected %d bodies", stub.bad)
			}
			if len(stub.authors) != int(min(total, Authors)) {
				t.Errorf("reactions went to %d authors, want %d", len(stub.authors), min(total, Authors))
			}
			api, unc := rec.Histograms()
			if api.TotalCount() != total || unc.TotalCount() != total {
				t.Errorf("histograms hold %d and %d values, want %d", api.TotalCount(), unc.TotalCount(), total)
			}
		})
	}
}

func TestAttackCanceled(t *testing.T) {
	var stub reactionStub
	target := stub.start(t)
	pacer, err := NewStagePacer(Stage{For: time.Minute, From: 100, To: 100})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	rec := NewRecorder(RecorderOptions{Due: pacer.Due})
	err = Attack(ctx, AttackOptions{Target: target, Pacer: pacer, KeepAlive: true}, rec)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the context's error", err)
	}
	if n := rec.Totals().Requests; n == 0 || n >= int64(pacer.Total()) {
		t.Errorf("recorded %d of %d: want some, not all", n, pacer.Total())
	}
}

func TestCheckTarget(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		allowRemote bool
		wantErr     bool
	}{
		{"loopback v4", "http://127.0.0.1:8080", false, false},
		{"loopback v4, another address", "http://127.3.2.1:8080", false, false},
		{"loopback v6", "http://[::1]:8080", false, false},
		{"localhost", "http://localhost:8080", false, false},
		{"private address", "http://10.0.0.1:8080", false, true},
		{"documentation address", "http://192.0.2.1:8080", false, true},
		{"all addresses is not loopback", "http://0.0.0.0:8080", false, true},
		{"remote allowed", "http://192.0.2.1:8080", true, false},
		{"not http", "ftp://127.0.0.1:21", false, true},
		{"no host", "http://", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTarget(tt.url, tt.allowRemote)
			if (err != nil) != tt.wantErr {
				t.Errorf("CheckTarget(%q, %v) = %v, want error %v", tt.url, tt.allowRemote, err, tt.wantErr)
			}
			if err != nil && errors.Is(err, ErrNotLoopback) {
				if s := err.Error(); !strings.Contains(s, tt.url) || !strings.Contains(s, "--allow-remote") {
					t.Errorf("error %q should name the URL and --allow-remote", s)
				}
			}
		})
	}
}

// TestAttackRefusesRemote checks that no traffic is sent off the machine
// without AllowRemote: Attack fails before sending anything.
func TestAttackRefusesRemote(t *testing.T) {
	pacer, err := NewStagePacer(Stage{For: time.Second, From: 10, To: 10})
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(RecorderOptions{Due: pacer.Due})
	err = Attack(context.Background(), AttackOptions{Target: "http://192.0.2.1:8080", Pacer: pacer}, rec)
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("got %v, want ErrNotLoopback", err)
	}
	if n := rec.Totals().Requests; n != 0 {
		t.Errorf("recorded %d requests, want none", n)
	}
}

func TestParseClient(t *testing.T) {
	tests := []struct {
		have    string
		want    Client
		wantErr bool
	}{
		{"", ClientFastHTTP, false}, // the default
		{"fasthttp", ClientFastHTTP, false},
		{"net/http", ClientNetHTTP, false},
		{"nethttp", ClientNetHTTP, false}, // without the slash, for file names
		{"http2", "", true},
	}
	for _, tt := range tests {
		got, err := ParseClient(tt.have)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseClient(%q) = %q, %v; want %q, error %v", tt.have, got, err, tt.want, tt.wantErr)
		}
	}
	o := AttackOptions{Target: "http://127.0.0.1:1", Pacer: mustPacer(t, 10), Client: "http2"}
	if err := Attack(context.Background(), o, NewRecorder(RecorderOptions{})); err == nil || !strings.Contains(err.Error(), `"http2"`) {
		t.Errorf("Attack with client http2: %v, want an error naming it", err)
	}
}

// TestAttackSendsEachHitOnce: a connection closed before the answer is a
// reset, recorded once; neither client sends the POST again (a retry would
// be a second reaction with the same id).
func TestAttackSendsEachHitOnce(t *testing.T) {
	for _, client := range Clients {
		t.Run(string(client), func(t *testing.T) {
			ln, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			var mu sync.Mutex
			requests := 0
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						c.SetReadDeadline(time.Now().Add(time.Second))
						if n, _ := c.Read(make([]byte, 4096)); n > 0 {
							mu.Lock()
							requests++
							mu.Unlock()
						}
					}()
				}
			}()
			pacer := mustPacer(t, 5)
			rec := NewRecorder(RecorderOptions{Due: pacer.Due})
			o := AttackOptions{Target: "http://" + ln.Addr().String(), Pacer: pacer, Timeout: time.Second, KeepAlive: true, Client: client}
			if err := Attack(context.Background(), o, rec); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // a retry would have arrived
			mu.Lock()
			defer mu.Unlock()
			got := rec.Totals()
			if requests != 5 || got.Requests != 5 || got.Drops.Reset != 5 {
				t.Errorf("the server read %d requests, the recorder %d with %d resets; want 5, 5, 5", requests, got.Requests, got.Drops.Reset)
			}
		})
	}
}

// mustPacer returns a pacer of n hits over n×10 ms.
func mustPacer(t *testing.T, n int) StagePacer {
	t.Helper()
	p, err := NewStagePacer(Stage{For: time.Duration(n) * 10 * time.Millisecond, From: 100, To: 100})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
