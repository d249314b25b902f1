package loadgen

import (
	"context"
	"net"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/results"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		have vegeta.Result
		want results.DropClass
	}{
		// Answers: the status code decides.
		{"created", vegeta.Result{Code: 201}, results.NotDropped},
		{"accepted", vegeta.Result{Code: 202}, results.NotDropped},
		{"200 is not what the service answers", vegeta.Result{Code: 200}, results.DropOther},
		{"bad request", vegeta.Result{Code: 400, Error: "400 Bad Request"}, results.DropOther},
		{"rate limited", vegeta.Result{Code: 429, Error: "429 Too Many Requests"}, results.DropHTTP429},
		{"overloaded", vegeta.Result{Code: 503, Error: "503 Service Unavailable"}, results.DropHTTP503},
		{"internal error", vegeta.Result{Code: 500, Error: "500 Internal Server Error"}, results.DropHTTP5xx},
		{"bad gateway", vegeta.Result{Code: 502, Error: "502 Bad Gateway"}, results.DropHTTP5xx},
		{"gateway timeout is an answer, not a client timeout", vegeta.Result{Code: 504, Error: "504 Gateway Timeout"}, results.DropHTTP5xx},
		{"redirect not followed", vegeta.Result{Code: 302}, results.DropOther},

		// No answer (Code 0): net/http's err.Error(), as vegeta records it.
		{"client timeout awaiting headers", vegeta.Result{Error: `Post "http://127.0.0.1:35081/v1/reactions": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`}, results.DropTimeout},
		{"client timeout reading the body", vegeta.Result{Error: `context deadline exceeded (Client.Timeout or context cancellation while reading body)`}, results.DropTimeout},
		{"dial timeout", vegeta.Result{Error: `Post "http://127.0.0.1:8080/v1/reactions": dial tcp 127.0.0.1:8080: i/o timeout`}, results.DropTimeout},
		{"refused", vegeta.Result{Error: `Post "http://127.0.0.1:1/v1/reactions": dial tcp 127.0.0.1:1: connect: connection refused`}, results.DropRefused},
		{"reset by peer", vegeta.Result{Error: `Post "http://127.0.0.1:41833/v1/reactions": read tcp 127.0.0.1:34476->127.0.0.1:41833: read: connection reset by peer`}, results.DropReset},
		{"closed before answering", vegeta.Result{Error: `Post "http://127.0.0.1:8080/v1/reactions": EOF`}, results.DropReset},
		{"closed mid-body", vegeta.Result{Error: `unexpected EOF`}, results.DropReset},
		{"broken pipe", vegeta.Result{Error: `Post "http://127.0.0.1:8080/v1/reactions": write tcp 127.0.0.1:5->127.0.0.1:8080: write: broken pipe`}, results.DropReset},
		{"server closed idle connection", vegeta.Result{Error: `Post "http://127.0.0.1:8080/v1/reactions": http: server closed idle connection`}, results.DropReset},

		// No answer: the fasthttp client's err.Error(), as its worker records it.
		{"fasthttp deadline", vegeta.Result{Error: `fasthttp: timeout`}, results.DropTimeout},
		{"fasthttp dial timeout", vegeta.Result{Error: `fasthttp: dialing to the given tcp address timed out`}, results.DropTimeout},
		{"fasthttp refused", vegeta.Result{Error: `dial tcp 127.0.0.1:37257: connect: connection refused`}, results.DropRefused},
		{"fasthttp closed or reset before the answer", vegeta.Result{Error: `fasthttp: the server closed connection before returning the first response byte. make sure the server returns 'connection: close' response header before closing the connection`}, results.DropReset},
		{"fasthttp no free connection is the client's own limit", vegeta.Result{Error: `fasthttp: no free connections available to host`}, results.DropOther},
		{"unknown error", vegeta.Result{Error: `Post "http://127.0.0.1:8080/v1/reactions": net/http: invalid header field name`}, results.DropOther},
		{"no code and no error", vegeta.Result{}, results.DropOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(&tt.have); got != tt.want {
				t.Errorf("Classify(%d, %q) = %v, want %v", tt.have.Code, tt.have.Error, got, tt.want)
			}
		})
	}
}

// TestClassifyLive provokes each failure on loopback, through real
// sockets, with each client, and checks the class of what it records: the
// error texts are the real ones.
func TestClassifyLive(t *testing.T) {
	serve := func(t *testing.T, conn func(net.Conn)) string {
		t.Helper()
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go conn(c)
			}
		}()
		return "http://" + ln.Addr().String()
	}
	closed := func(t *testing.T) string {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln.Close()
		return "http://" + ln.Addr().String()
	}
	// answering answers every request with status, after reading it.
	answering := func(status string) func(t *testing.T) string {
		return func(t *testing.T) string {
			return serve(t, func(c net.Conn) {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(time.Second))
				c.Read(make([]byte, 4096))
				c.Write([]byte("HTTP/1.1 " + status + "\r\nContent-Length: 0\r\n\r\n"))
				c.Read(make([]byte, 1)) // until the client closes or the deadline
			})
		}
	}
	tests := []struct {
		name   string
		target func(t *testing.T) string
		want   results.DropClass
	}{
		{"nothing listens", closed, results.DropRefused},
		{"never answers", func(t *testing.T) string {
			hold := make(chan struct{})
			t.Cleanup(func() { close(hold) })
			return serve(t, func(c net.Conn) { <-hold; c.Close() })
		}, results.DropTimeout},
		{"answers too late", func(t *testing.T) string {
			return serve(t, func(c net.Conn) {
				c.Read(make([]byte, 4096))
				time.Sleep(500 * time.Millisecond)
				c.Write([]byte("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"))
				c.Close()
			})
		}, results.DropTimeout},
		{"reset after reading a little", func(t *testing.T) string {
			return serve(t, func(c net.Conn) {
				c.Read(make([]byte, 10))
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
		}, results.DropReset},
		{"closed after reading the request", func(t *testing.T) string {
			return serve(t, func(c net.Conn) {
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				c.Read(make([]byte, 4096))
				c.Close()
			})
		}, results.DropReset},
		{"half an answer", func(t *testing.T) string {
			return serve(t, func(c net.Conn) {
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				c.Read(make([]byte, 4096))
				c.Write([]byte("HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nab"))
				c.Close()
			})
		}, results.DropReset},
		{"accepted", answering("202 Accepted"), results.NotDropped},
		{"rate limited", answering("429 Too Many Requests"), results.DropHTTP429},
		{"shed (503)", answering("503 Service Unavailable"), results.DropHTTP503},
		{"internal error", answering("500 Internal Server Error"), results.DropHTTP5xx},
		{"bad gateway", answering("502 Bad Gateway"), results.DropHTTP5xx},
		{"bad request", answering("400 Bad Request"), results.DropOther},
	}
	for _, client := range Clients {
		for _, tt := range tests {
			t.Run(string(client)+"/"+tt.name, func(t *testing.T) {
				pacer, err := NewStagePacer(Stage{For: 100 * time.Millisecond, From: 10, To: 10})
				if err != nil {
					t.Fatal(err)
				}
				rec := NewRecorder(RecorderOptions{Due: pacer.Due})
				o := AttackOptions{Target: tt.target(t), Pacer: pacer, Timeout: 300 * time.Millisecond, KeepAlive: true, Client: client}
				if err := Attack(context.Background(), o, rec); err != nil {
					t.Fatal(err)
				}
				got := rec.Totals()
				var want results.Drops
				want.Add(tt.want)
				if got.Requests != 1 || got.Drops != want {
					t.Errorf("got %d requests, drops %+v; want 1, %+v", got.Requests, got.Drops, want)
				}
				wantInd := int64(0)
				if tt.want == results.DropTimeout {
					wantInd = 1
				}
				if got.Indeterminate != wantInd {
					t.Errorf("got %d indeterminate, want %d", got.Indeterminate, wantInd)
				}
			})
		}
	}
}
