package main

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/targets/wire"
)

// runCaptured runs the command line args and returns its exit code and
// what it wrote to stderr.
func runCaptured(t *testing.T, args []string) (int, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = null, f
	code := run(args)
	os.Stdout, os.Stderr = stdout, stderr
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(b)
}

// TestServeRelayRefusesBadUsage: each usage error exits 2 naming the flag
// or the environment variable.
func TestServeRelayRefusesBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string // set for this case only
		want string            // in the message
	}{
		{"bad KAFKA_BROKERS", []string{"--next-url", "http://127.0.0.1:1"}, map[string]string{"KAFKA_BROKERS": "localhost"}, "KAFKA_BROKERS"},
		{"bad KAFKA_BROKERS, even with --brokers", []string{"--mode", "async", "--brokers", "127.0.0.1:1"}, map[string]string{"KAFKA_BROKERS": "127.0.0.1:0"}, "KAFKA_BROKERS"},
		{"bad KAFKA_TLS", []string{"--next-url", "http://127.0.0.1:1"}, map[string]string{"KAFKA_TLS": "maybe"}, "KAFKA_TLS"},
		{"unknown flag", []string{"--bogus"}, nil, "-bogus"},
		{"bad duration", []string{"--timeout", "soon"}, nil, "-timeout"},
		{"unknown mode", []string{"--mode", "rpc"}, nil, "--mode"},
		{"sync without the next hop", nil, nil, "--next-url"},
		{"sync with an ftp next hop", []string{"--next-url", "ftp://x:1"}, nil, "--next-url"},
		{"negative timeout", []string{"--next-url", "http://127.0.0.1:1", "--timeout", "-1s"}, nil, "--timeout"},
		{"bad broker", []string{"--mode", "async", "--brokers", "nope"}, nil, "-brokers"},
		{"async without brokers", []string{"--mode", "async", "--in-topic", "a", "--out-topic", "b"}, nil, "--brokers"},
		{"async without an in topic", []string{"--mode", "async", "--brokers", "127.0.0.1:1", "--out-topic", "b"}, nil, "--in-topic"},
		{"async without an out topic", []string{"--mode", "async", "--brokers", "127.0.0.1:1", "--in-topic", "a"}, nil, "--out-topic"},
		{"async to itself", []string{"--mode", "async", "--brokers", "127.0.0.1:1", "--in-topic", "a", "--out-topic", "a"}, nil, "--out-topic"},
		{"negative consumers", []string{"--mode", "async", "--brokers", "127.0.0.1:1", "--in-topic", "a", "--out-topic", "b", "--consumers", "-1"}, nil, "--consumers"},
		{"a stray argument", []string{"--next-url", "http://127.0.0.1:1", "extra"}, nil, `"extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KAFKA_BROKERS", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, msg := runCaptured(t, append([]string{"serve", "relay"}, tt.args...))
			if code != exitUsage || !strings.Contains(msg, tt.want) {
				t.Errorf("exit %d, %q; want %d and a message naming %s", code, msg, exitUsage, tt.want)
			}
		})
	}
}

func TestServeListsRelay(t *testing.T) {
	if code, msg := runCaptured(t, []string{"serve"}); code != exitUsage || !strings.Contains(msg, "serve relay") {
		t.Errorf("serve: exit %d, %q; want the usage naming serve relay", code, msg)
	}
	if code, msg := runCaptured(t, []string{"serve", "nope"}); code != exitUsage || !strings.Contains(msg, "reaction, relay and notification") {
		t.Errorf("serve nope: exit %d, %q", code, msg)
	}
	if code, msg := runCaptured(t, []string{"serve", "reaction", "--breaker=maybe"}); code != exitUsage || !strings.Contains(msg, "-breaker") {
		t.Errorf("serve reaction --breaker=maybe: exit %d, %q", code, msg)
	}
}

// TestServeRelayServes runs serve relay in this process: it prints
// LISTEN=<addr> as the runner expects, answers its endpoints, and stops on
// SIGTERM. The signal is sent only after LISTEN is printed, when serve
// relay has taken SIGTERM over.
func TestServeRelayServes(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, null
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "relay", "--name", "C", "--listen", "127.0.0.1:0", "--next-url", "http://127.0.0.1:1", "--breaker", "--trip-failures", "2", "--open-for", "1h"})
		w.Close()
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN=")
	if err != nil || !ok {
		t.Fatalf("first line %q (%v), want LISTEN=<addr>", line, err)
	}
	url := "http://" + addr
	if code, body, err := fasthttp.Get(nil, url+wire.PathHealth); err != nil || code != 200 {
		t.Errorf("healthz: %d %s %v", code, body, err)
	}
	// Nothing listens on port 1: two refused calls open the breaker.
	for range 3 {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI(url + wire.PathNotify)
		req.Header.SetMethod("POST")
		req.SetBody((&wire.Reaction{ID: 1, User: "u", Post: "p", Author: "a", Kind: "like", SentAt: 1}).Append(nil))
		if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil || resp.StatusCode() != 503 {
			t.Errorf("notify: %d %s %v, want 503", resp.StatusCode(), resp.Body(), err)
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}
	_, body, err := fasthttp.Get(nil, url+wire.PathHopInterval)
	var hi wire.HopInterval
	if err == nil {
		err = json.Unmarshal(body, &hi)
	}
	if err != nil || hi.Calls != 3 || hi.Errors != 3 || hi.Rejected != 1 || hi.Opened != 1 || hi.Breaker != "open" {
		t.Errorf("hop interval: %s (%v), want 3 calls and errors, 1 rejected, opened once, open", body, err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}
