// Command vegeta-ramp sends commbench calibrate --ramp's schedule with
// Vegeta's own attacker (github.com/tsenart/vegeta/v12/lib, the version in
// go.mod, with the CLI's defaults: vegeta.NewAttacker() is what `vegeta
// attack` builds) and prints the ramp as commbench's JSON (results.Ramp),
// for commbench calibrate --ramp --beside:
//
//	go run ./scripts/vegeta-ramp --target URL --max-rate 20000 --duration 40s --endpoint-delay 50ms > veg.json
//
// One process and one attack for the whole ramp, as commbench's: the
// Vegeta CLI has only constant rates, and one `vegeta attack` per second
// opens and closes a connection pool a second, which on loopback filled
// the ephemeral ports with TIME-WAIT sockets within 20 s at 50 ms of
// endpoint delay and failed every request after. The rate rises linearly
// (vegeta.LinearPacer from 1 rps, slope max/duration). Each second: hits
// sent (by their send timestamp), answers (by when they came), late sends
// and send lag (the timestamp against the hit's due time from the pacer's
// formula), and this process's CPU time (user + system), which holds the
// attack and the little this program does with each result (the CLI
// encodes each to its output instead). Vegeta reports no workers or
// connections: they are 0.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/results"
)

var body = []byte(`{"id":1,"user":"u1","post":"p1","author":"a1","kind":"like","sent_at":1767225600000000000}`)

func main() {
	target := flag.String("target", "", "the null endpoint's URL (commbench calibrate --serve-null)")
	maxRate := flag.Float64("max-rate", harness.DefaultRampMaxRate, "the rate at the ramp's end")
	d := flag.Duration("duration", harness.DefaultRampDuration, "how long the ramp takes")
	delay := flag.Duration("endpoint-delay", 0, "how long the endpoint waits before it answers, for the record")
	flag.Parse()
	if *target == "" || *maxRate <= 0 || *d < time.Second {
		fmt.Fprintln(os.Stderr, "usage: vegeta-ramp --target URL [--max-rate N] [--duration D] [--endpoint-delay D]")
		os.Exit(2)
	}
	r, err := ramp(*target, *maxRate, *d, *delay)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vegeta-ramp:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "vegeta-ramp:", err)
		os.Exit(1)
	}
}

// window is one second's counts.
type window struct {
	sent, late, answered int64
	lag                  *hdrhistogram.Histogram // µs
	cpu, wall            time.Duration           // this process's CPU time over the wall time it was read across
}

func ramp(target string, maxRate float64, d, delay time.Duration) (*results.Ramp, error) {
	const start = 1.0 // rps: LinearPacer takes a zero rate as "unlimited"
	slope := (maxRate - start) / d.Seconds()
	pacer := vegeta.LinearPacer{StartAt: vegeta.Rate{Freq: int(start), Per: time.Second}, Slope: slope}
	// due is when hit seq (from 0) is due: the t at which the pacer's hits
	// start·t + slope·t²/2 reach seq+1 (LinearPacer.Pace waits, after n
	// hits, until n+1 are expected).
	due := func(seq uint64) time.Duration {
		t := (-start + math.Sqrt(start*start+2*slope*float64(seq+1))) / slope
		return time.Duration(t * float64(time.Second))
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: target + "/v1/reactions", Body: body,
		Header: http.Header{"Content-Type": []string{"application/json"}}})
	n := int(d.Seconds()) + 60
	wins := make([]window, n)
	for i := range wins {
		wins[i].lag = hdrhistogram.New(1, 60_000_000, 3)
	}
	var mu sync.Mutex
	at := func(t time.Duration) *window {
		i := min(max(int(t/time.Second), 0), n-1)
		return &wins[i]
	}
	attacker := vegeta.NewAttacker() // the CLI's defaults
	began := time.Now()
	stop := make(chan struct{})
	var last int
	go func() { // this process's CPU time, second by second
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		prev, prevAt := cpuTime(), began
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// A tick the busy process ran late covers more than a second:
				// its window gets the CPU time over the wall time it covers.
				c, now := cpuTime(), time.Now()
				mu.Lock()
				i := int(math.Round(now.Sub(began).Seconds())) - 1
				if i >= 0 && i < n {
					wins[i].cpu += c - prev
					wins[i].wall += now.Sub(prevAt)
					last = max(last, i)
				}
				mu.Unlock()
				prev, prevAt = c, now
			}
		}
	}()
	for res := range attacker.Attack(tr, pacer, d, "ramp") {
		sentAt := res.Timestamp.Sub(began)
		lag := max(sentAt-due(res.Seq), 0)
		mu.Lock()
		w := at(sentAt)
		w.sent++
		if lag > time.Millisecond {
			w.late++
		}
		_ = w.lag.RecordValue(max(lag.Microseconds(), 1))
		if res.Code == http.StatusAccepted {
			at(sentAt+res.Latency).answered++
		}
		mu.Unlock()
	}
	time.Sleep(1100 * time.Millisecond) // the CPU of the last second
	close(stop)
	mu.Lock()
	defer mu.Unlock()
	r := &results.Ramp{Tool: "vegeta lib v12.13.0 (the CLI's attacker, defaults)", Client: "net/http", MaxRate: maxRate, DurationS: d.Seconds(),
		EndpointDelayMs: float64(delay) / float64(time.Millisecond), At: began.UTC(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	for i := 0; i <= last; i++ {
		w := wins[i]
		s := results.RampSecond{T: float64(i + 1), SentRPS: float64(w.sent), AchievedRPS: float64(w.answered), LateSends: w.late}
		if w.wall > 0 {
			s.CPUCores = w.cpu.Seconds() / w.wall.Seconds()
		}
		if from, to := float64(i), float64(i+1); from < d.Seconds() {
			to = min(to, d.Seconds())
			s.OfferedRPS = start*(to-from) + slope*(to*to-from*from)/2
		}
		if w.lag.TotalCount() > 0 {
			s.SendLagP50Ms = float64(w.lag.ValueAtQuantile(50)) / 1000
			s.SendLagP99Ms = float64(w.lag.ValueAtQuantile(99)) / 1000
			s.SendLagMaxMs = float64(w.lag.Max()) / 1000
		}
		r.Seconds = append(r.Seconds, s)
		fmt.Fprintf(os.Stderr, "t %3d: offered %6.0f, sent %6d, achieved %6d, late %6d, lag p99 %8.3f max %8.3f ms, %.2f cores\n",
			i+1, s.OfferedRPS, w.sent, w.answered, w.late, s.SendLagP99Ms, s.SendLagMaxMs, s.CPUCores)
	}
	harness.SummarizeRamp(r)
	return r, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
