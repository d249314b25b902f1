package loadgen

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/commbench/commbench/targets/wire"
)

// Defaults of AttackOptions' zero fields. The timeout, workers and
// connections are the Vegeta CLI's, so that calibrate compares like with
// like.
const (
	DefaultTimeout     = vegeta.DefaultTimeout     // 30 s
	DefaultWorkers     = vegeta.DefaultWorkers     // 10, more are started when all are busy
	DefaultConnections = vegeta.DefaultConnections // idle connections kept per host
	// DefaultSlack is how long after the schedule's end an attack may go on
	// sending the hits it still owes (the generator fell behind) before it
	// stops.
	DefaultSlack = 2 * time.Second
	// Authors is how many authors the reactions are spread over: Kafka's
	// key, so they spread over the partitions.
	Authors = 1000
)

// AttackOptions configure an [Attack]. Zero fields take the Default*
// values, except KeepAlive: false closes every connection after one
// request.
type AttackOptions struct {
	Target      string        // base URL of the reaction service, e.g. http://127.0.0.1:8080
	Pacer       StagePacer    // the arrival schedule; the attack sends exactly Pacer.Total() hits unless stopped
	Timeout     time.Duration // per request, from the send to the end of the answer
	Workers     uint64        // initial workers
	MaxWorkers  uint64        // 0: unbounded (open model: the rate is kept whatever the target does)
	Connections int           // idle connections kept to the target
	KeepAlive   bool
	FirstID     uint64 // reaction ids are FirstID, FirstID+1, …; 0 means 1 (ids start at 1)
	AllowRemote bool   // without it, Target must resolve to loopback addresses only
	// Slack bounds the attack: it stops Pacer.Duration() + Slack after its
	// start even if hits are still owed. 0 means DefaultSlack; negative
	// means none, so hits not sent by the schedule's end are never sent
	// (the Vegeta CLI's behaviour).
	Slack time.Duration
	// Client is the HTTP client: ClientFastHTTP ("" too) or ClientNetHTTP.
	// With fasthttp, Connections is not a separate bound: idle connections
	// are kept until they have been idle 10 s, and MaxWorkers bounds them
	// all (a worker holds at most one).
	Client Client
}

// ErrNotLoopback is returned by CheckTarget for a target off this machine.
var ErrNotLoopback = errors.New("is not a loopback address")

// CheckTarget returns an error unless rawURL is an http(s) URL whose host
// is a loopback address or resolves to loopback addresses only, or
// allowRemote is true. It sends nothing to the host; a name other than an
// IP literal is resolved (localhost from /etc/hosts, others by DNS).
func CheckTarget(rawURL string, allowRemote bool) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("target %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("target %q: want http://host:port", rawURL)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return fmt.Errorf("target %q: %w; pass --allow-remote to load a host off this machine", rawURL, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("target %q (%s) %w; pass --allow-remote to load a host off this machine", rawURL, ip, ErrNotLoopback)
		}
	}
	return nil
}

// AttackGCPercent is the garbage collector's GOGC while an attack runs.
const AttackGCPercent = 400

// Attack sends the pacer's schedule of reactions to o.Target's
// /v1/reactions and records every result in rec. It returns when every hit
// was sent and answered (or timed out), or when the bound passed
// (Pacer.Duration() + Slack, then at most Timeout for the answers in
// flight), or when ctx is done: then it returns ctx's error, with what was
// sent recorded.
//
// Attack calls rec.SetStart; the caller calls rec.Tick, once a second.
func Attack(ctx context.Context, o AttackOptions, rec *Recorder) error {
	if err := CheckTarget(o.Target, o.AllowRemote); err != nil {
		return err
	}
	if rec == nil {
		return errors.New("attack: no recorder")
	}
	if o.Pacer.Total() == 0 {
		rec.SetStart(time.Now())
		return nil
	}
	// The garbage collector runs less often during the attack: each cycle
	// stops the generator's goroutines briefly and slows the allocating
	// ones, and at 1,400 rps with the default GOGC of 100 those pauses sent
	// more than 1% of some seconds' hits more than 1 ms late with the host
	// 70% idle (a surge run's async seconds 19-23). The generator's live
	// heap is small and fixed (the histograms, the id set's directory), so
	// a heap of a few times it stays small, and flat.
	defer debug.SetGCPercent(debug.SetGCPercent(AttackGCPercent))
	if err := ctx.Err(); err != nil {
		return err
	}

	s := settingsOf(o)
	client, err := ParseClient(string(o.Client))
	if err != nil {
		return err
	}
	if client == ClientNetHTTP {
		attackNetHTTP(ctx, o, s, rec)
		return ctx.Err()
	}
	f, err := newFastAttack(o, s, rec)
	if err != nil {
		return err
	}
	f.run(ctx, o.Pacer, s)
	return ctx.Err()
}

// attackNetHTTP sends the schedule with vegeta's attacker over net/http.
func attackNetHTTP(ctx context.Context, o AttackOptions, s attackSettings, rec *Recorder) {
	// Our own transport, so that nothing is proxied, HTTP/2 is never
	// negotiated, and the idle connections are closed when the attack ends
	// (vegeta's own transport keeps them as long as the process lives).
	dialer := &net.Dialer{Timeout: s.timeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: s.conns,
		// A stall makes vegeta add workers and connections, which it keeps;
		// idle ones close after this, so memory comes back down.
		IdleConnTimeout:    10 * time.Second,
		DisableKeepAlives:  !o.KeepAlive,
		DisableCompression: true,
		ForceAttemptHTTP2:  false,
		TLSNextProto:       map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
	}
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(
		vegeta.Client(&http.Client{Transport: tr}), // first: the options below change it
		vegeta.Timeout(s.timeout),
		vegeta.Workers(s.workers),
		vegeta.MaxWorkers(s.maxWorkers),
		vegeta.Connections(s.conns),
		// Not vegeta.KeepAlive: it would swap our dialer for vegeta's; the
		// transport above has DisableKeepAlives.
		vegeta.MaxBody(0), // the answers' bodies are read and discarded, not kept
		vegeta.Redirects(vegeta.NoFollow),
	)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	targeter := newTargeter(strings.TrimSuffix(o.Target, "/")+wire.PathReactions, max(o.FirstID, 1), rec)
	// Vegeta's own start (its attack's "began") is internal: the Due times
	// count from this start instead, taken microseconds earlier. Vegeta
	// sends hit n at began + Due(n) or later, so the corrected latency is
	// overstated by those microseconds, never understated.
	rec.SetStart(time.Now())
	pacer := preciseWait{StagePacer: o.Pacer, ctx: ctx, sleep: highResSleep}
	for res := range atk.Attack(targeter, pacer, o.Pacer.Duration()+s.slack, "") {
		rec.Record(res)
	}
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Users, posts and authors are drawn from pools of these sizes by id; the
// sizes are coprime so that the three do not move in step.
const (
	users = 10007
	posts = 4999
)

var names = sync.OnceValue(func() (n struct{ users, posts, authors []string }) {
	pool := func(prefix string, size int) []string {
		s := make([]string, size)
		for i := range s {
			s[i] = prefix + strconv.Itoa(i)
		}
		return s
	}
	n.users, n.posts, n.authors = pool("u", users), pool("p", posts), pool("a", Authors)
	return n
})

// newTargeter returns a vegeta.Targeter of POST url with reaction bodies
// whose ids count up from first, safe for vegeta's concurrent workers.
// SentAt is taken when the target is built, right before vegeta sends it.
// Each carries the W3C traceparent derived from its id (wire.Traceparent).
func newTargeter(url string, first uint64, rec *Recorder) vegeta.Targeter {
	var next atomic.Uint64
	next.Store(first)
	n := names()
	return func(t *vegeta.Target) error {
		id := next.Add(1) - 1
		r := wire.Reaction{
			ID:     id,
			User:   n.users[id%users],
			Post:   n.posts[id%posts],
			Author: n.authors[id%Authors],
			Kind:   "like",
			SentAt: time.Now().UnixNano(),
		}
		t.Method = http.MethodPost
		t.URL = url
		t.Header = http.Header{"Content-Type": {"application/json"}, "Traceparent": {wire.Traceparent(id)}}
		t.Body = r.Append(make([]byte, 0, 128))
		rec.countSent()
		return nil
	}
}
