// wirecheck: the generator's own send lag against the wire's. It runs
// loadgen's attack on a schedule of stages against a slow endpoint in a
// second process of its own, which logs each request's id and the send
// time the generator stamped in its body (sent_at). scripts/wire-check.sh
// captures the requests on loopback with tcpdump meanwhile, and
// wire_compare.py sets the two against the schedule, due second by due
// second.
//
//	go run ./scripts/wirecheck -serve -delay 1400ms -log sent.txt   # prints its URL
//	go run ./scripts/wirecheck -target URL -stages 10s:200:200,5s:200:1400,15s:1400:1400
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/targets/wire"
)

func main() {
	delay := flag.Duration("delay", 1400*time.Millisecond, "the endpoint's latency")
	serve := flag.Bool("serve", false, "serve the endpoint and print its URL")
	logFile := flag.String("log", "sent.txt", "with -serve: write 'id sent_at_ns' per request here when stopped")
	target := flag.String("target", "", "the endpoint's URL (from -serve)")
	stages := flag.String("stages", "10s:200:200,5s:200:1400,15s:1400:1400", "the schedule: for:from:to,...")
	flag.Parse()
	if *serve {
		if err := serveEndpoint(*delay, *logFile); err != nil {
			fmt.Fprintln(os.Stderr, "wirecheck:", err)
			os.Exit(1)
		}
		return
	}
	st, err := parseStages(*stages)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wirecheck: -stages:", err)
		os.Exit(2)
	}
	p, err := loadgen.NewStagePacer(st...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wirecheck: -stages:", err)
		os.Exit(2)
	}
	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: p.Due})
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			case now := <-t.C:
				s := rec.Tick(now)
				fmt.Printf("t=%2d sent=%5d late=%4d send-lag p99=%6.2f max=%6.2f ms causes=%v\n", i, s.Sent, s.Late, s.SendLagP99, s.SendLagMax, s.LateBy[1:])
			}
		}
	}()
	err = loadgen.Attack(context.Background(), loadgen.AttackOptions{Target: *target, Pacer: p,
		Timeout: 5 * time.Second, Workers: 64, MaxWorkers: 4096, Connections: 10000, KeepAlive: true}, rec)
	close(done)
	tot := rec.Totals()
	fmt.Printf("attack err=%v requests=%d late=%d (as the recorder counts them: in the second the answer came)\n", err, tot.Requests, tot.Late)
}

func parseStages(s string) ([]loadgen.Stage, error) {
	var out []loadgen.Stage
	for _, part := range strings.Split(s, ",") {
		f := strings.Split(part, ":")
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want for:from:to", part)
		}
		d, err := time.ParseDuration(f[0])
		if err != nil {
			return nil, err
		}
		a, err1 := strconv.ParseFloat(f[1], 64)
		b, err2 := strconv.ParseFloat(f[2], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		out = append(out, loadgen.Stage{For: d, From: a, To: b})
	}
	return out, nil
}

// serveEndpoint answers every reaction after delay and, when stopped
// (SIGTERM, SIGINT), writes each one's id and sent_at to logFile.
func serveEndpoint(delay time.Duration, logFile string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("http://" + l.Addr().String())
	var mu sync.Mutex
	type hit struct {
		id   uint64
		sent int64
	}
	hits := make([]hit, 0, 1<<20)
	srv := &fasthttp.Server{Concurrency: 1 << 20, Handler: func(c *fasthttp.RequestCtx) {
		var r wire.Reaction
		if wire.Decode(c.PostBody(), &r) == nil {
			mu.Lock()
			hits = append(hits, hit{r.ID, r.SentAt})
			mu.Unlock()
		}
		if delay > 0 {
			time.Sleep(delay)
		}
		c.Response.Header.Set(wire.HeaderID, strconv.FormatUint(r.ID, 10))
		c.SetStatusCode(fasthttp.StatusAccepted)
	}}
	go srv.Serve(l)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	_ = l.Close()
	f, err := os.Create(logFile)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	mu.Lock()
	for _, h := range hits {
		fmt.Fprintf(w, "%d %d\n", h.id, h.sent)
	}
	mu.Unlock()
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
