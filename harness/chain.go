package harness

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// Chains (services.chain.depth > 2): A → B → … → D. A is the reaction
// service, D the notification service, and each hop between is one
// `commbench serve relay` process. Sync, every hop calls the next over HTTP
// (with a circuit breaker on each when services.chain.breaker is set); async,
// every hop after A is a consumer group reading the topic into it and
// producing to the topic into the next (D reads the last one and keeps the
// ledger). A fault on target notification hits D: the per-hop series show
// how far the damage travels back towards A.

// chainHop is one hop after A: a relay, or D.
type chainHop struct {
	name    string // "B", "C", …, the last is D's
	service string // relay or notification
	url     string
	proc    *Proc  // nil for D (it is r.notif)
	group   string // async, relays: the consumer group reading into this hop
	inTopic string // async, relays: the topic it reads

	// What the sampler has seen, guarded by patternRun.mu.
	base, last wire.HopInterval // the counters at the attack's start, and at the last sample
	hist       *hdrhistogram.Histogram
	peakLag    int64
}

// hopName names hop i of a chain, A being 0.
func hopName(i int) string { return string(rune('A' + i)) }

// chain is a pattern's chain: the hops after A, and A's circuit breaker
// at the attack's start and at the last sample.
type chain struct {
	r            *patternRun
	hops         []*chainHop
	aBase, aLast aBreaker
}

var (
	_ part       = (*chain)(nil)
	_ meter      = (*chain)(nil)
	_ readier    = (*chain)(nil)
	_ sampler    = (*chain)(nil)
	_ summarizer = (*chain)(nil)
)

// newChain makes the chain a profile with services.chain.depth > 2 asks
// for, on services this run starts. An async chain's topics follow the
// reactions topic: into C, …, into D; the last is the one D reads.
func newChain(r *patternRun) (part, error) {
	if r.p.Services.Chain.Depth <= 2 || r.o.Targets != nil {
		return nil, nil
	}
	if r.async() {
		for i := 2; i < r.p.Services.Chain.Depth; i++ {
			r.topics = append(r.topics, r.topic+".to-"+hopName(i))
		}
	}
	return &chain{r: r}, nil
}

// start starts the relays from the last to the first, each pointed at the
// next hop, after D is up, and points A at B.
func (ch *chain) start(ctx context.Context) error {
	r := ch.r
	c, n := r.p.Services.Chain, r.p.Services.Notification
	topics := r.topics
	depth := c.Depth
	// D's group and topic are the notification service's (r.group, r.dTopic).
	hops := []*chainHop{{name: hopName(depth - 1), service: "notification", url: r.notifyURL}}
	next := r.notifyURL
	for i := depth - 2; i >= 1; i-- {
		addr, err := freePort()
		if err != nil {
			return err
		}
		h := &chainHop{name: hopName(i), service: "relay", url: "http://" + addr}
		args := []string{"serve", "relay", "--name", h.name, "--mode", string(r.pattern), "--listen", addr}
		if r.async() {
			h.group = fmt.Sprintf("commbench.%s.%s.relay-%s", r.runID, r.key, h.name)
			h.inTopic = topics[i-1]
			args = append(args,
				"--brokers", strings.Join(r.broker.Addrs, ","),
				"--in-topic", h.inTopic, "--out-topic", topics[i], "--group", h.group,
				"--consumers", strconv.Itoa(n.Consumers), "--concurrency", strconv.Itoa(n.Concurrency))
		} else {
			args = append(args, "--brokers", "", "--next-url", next, "--timeout", c.Timeout.String())
			args = append(args, breakerArgs(c)...)
		}
		h.proc, err = startProc(ctx, "relay-"+h.name+"-"+r.key, addr, r.o.Exe, args, r.dir)
		if err != nil {
			for _, up := range hops[1:] { // the relays already up; D is stopped with the rest
				up.proc.Stop(Grace)
			}
			return err
		}
		hops = append(hops, h)
		next = h.url
	}
	slices.Reverse(hops)
	ch.hops = hops
	r.callURL = hops[0].url // B
	if r.pattern.HasSyncPath() {
		r.reactionArgs = append(r.reactionArgs, breakerArgs(c)...)
	}
	return nil
}

// stop stops the relays, B first: each flushes into a hop still up.
func (ch *chain) stop() {
	for _, h := range ch.hops {
		if h.proc == nil {
			continue
		}
		if err := h.proc.Stop(Grace); err != nil {
			ch.r.o.Logf("%s: %v", ch.r.key, err)
		}
	}
}

func (ch *chain) procs(m map[string]int) {
	for _, h := range ch.hops {
		if h.proc != nil {
			m[strings.TrimSuffix(h.proc.Name, "-"+ch.r.key)] = h.proc.PID()
		}
	}
}

// sample reads A's breaker and every hop after A; it records them with
// the notification group's lag as D's.
func (ch *chain) sample(ctx context.Context) func(*tick) {
	ab, abOK := ch.readABreaker(ctx)
	hops := ch.sampleHops(ctx)
	return func(t *tick) { ch.record(t, hops, ab, abOK) }
}

// summarize reads every hop once more and fills the chain's summary.
func (ch *chain) summarize(ctx context.Context, s *results.Summary, rc reconciled) error {
	ch.finish(ctx)
	ch.r.mu.Lock()
	defer ch.r.mu.Unlock()
	ch.summarizeHops(s, rc.totals)
	return nil
}

// breakerArgs are the flags that put a circuit breaker on a sync hop, if
// the chain has them.
func breakerArgs(c profiles.Chain) []string {
	if !c.Breaker {
		return nil
	}
	return []string{"--breaker", "--trip-failures", strconv.Itoa(c.TripFailures), "--open-for", c.OpenFor.String()}
}

// chainBaseline reads every hop's counters just before the attack: what
// the warmup did is not counted, and the interval histograms start afresh.
func (ch *chain) ready(ctx context.Context) error {
	ch.aBase, _ = ch.readABreaker(ctx)
	ch.aLast = ch.aBase
	for _, h := range ch.hops {
		var hi wire.HopInterval
		if err := getJSON(ctx, h.url+wire.PathHopInterval, &hi); err != nil {
			return fmt.Errorf("chain: hop %s: %w", h.name, err)
		}
		h.base, h.last = hi, hi
		h.hist = hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	}
	return nil
}

// hopSample is one hop's second: read from its /v1/hop/interval (seen),
// or not.
type hopSample struct {
	hi   wire.HopInterval
	h    *hdrhistogram.Histogram
	lag  int64
	seen bool
}

// sampleHops reads every hop after A, concurrently: a hop that hangs (D
// paused) must not hold up the others' samples. D's lag is not read here:
// it is the notification group's, which the sampler reads anyway.
func (ch *chain) sampleHops(ctx context.Context) []hopSample {
	r := ch.r
	out := make([]hopSample, len(ch.hops))
	var wg sync.WaitGroup
	for i, h := range ch.hops {
		wg.Go(func() {
			s := &out[i]
			s.lag = -1
			if r.async() && h.service == "relay" && r.client != nil {
				if l, _, err := r.client.Lag(ctx, h.group, h.inTopic); err == nil {
					s.lag = l
				}
			}
			if getJSON(ctx, h.url+wire.PathHopInterval, &s.hi) != nil {
				return
			}
			var err error
			s.h, err = hdrcodec.Decode([]byte(s.hi.Hist))
			s.seen = err == nil
		})
	}
	wg.Wait()
	return out
}

// record appends one second of every hop to the series: A from the
// generator's second, the others from their samples. A hop that could not
// be read that second (paused, killed) shows 0 calls and a p99 of 0; its
// counts land in the next second it answers. dLag is the notification
// group's lag that second (async). Called with r.mu held.
func (ch *chain) record(t *tick, samples []hopSample, ab aBreaker, abOK bool) {
	r, sec, dLag, s := ch.r, t.sec, t.lag, t.series
	if s.Chain == nil {
		s.Chain = map[string]*results.HopSeries{}
	}
	hs := func(name string) *results.HopSeries {
		if s.Chain[name] == nil {
			s.Chain[name] = &results.HopSeries{}
		}
		return s.Chain[name]
	}
	a := hs("A")
	a.Calls = append(a.Calls, sec.Sent)
	a.Errors = append(a.Errors, sec.Drops.Total)
	a.P99 = append(a.P99, sec.APIP99)
	if r.p.Services.Chain.Breaker && !r.async() {
		if abOK {
			ch.aLast = ab
		}
		a.Breaker = append(a.Breaker, ab.State)
	}
	for i, h := range ch.hops {
		x := hs(h.name)
		smp := samples[i]
		calls, errs, p99 := int64(0), int64(0), 0.0
		if smp.seen {
			calls, errs = smp.hi.Calls-h.last.Calls, smp.hi.Errors-h.last.Errors
			h.last = smp.hi
			if smp.h.TotalCount() > 0 {
				p99 = ms(smp.h.ValueAtQuantile(99))
			}
			h.hist.Merge(smp.h)
		}
		x.Calls = append(x.Calls, calls)
		x.Errors = append(x.Errors, errs)
		x.P99 = append(x.P99, p99)
		if r.async() {
			lag := smp.lag
			if h.service == "notification" {
				lag = dLag
			}
			x.Lag = append(x.Lag, lag)
			h.peakLag = max(h.peakLag, lag)
		}
		if ch.hasBreaker(h) {
			state := smp.hi.Breaker
			if !smp.seen {
				state = "" // not read this second
			}
			x.Breaker = append(x.Breaker, state)
		}
	}
}

// hasBreaker reports whether hop h has a circuit breaker: every sync relay
// of a chain with breakers (D calls the provider, not a hop).
func (ch *chain) hasBreaker(h *chainHop) bool {
	return ch.r.p.Services.Chain.Breaker && !ch.r.async() && h.service == "relay"
}

// finish reads every hop once more after the sampler stopped, so that
// the summary counts what the hops did up to the end of the drain, not up
// to the last whole second (the series keep their seconds).
func (ch *chain) finish(ctx context.Context) {
	samples := ch.sampleHops(ctx)
	ab, abOK := ch.readABreaker(ctx)
	ch.r.mu.Lock()
	defer ch.r.mu.Unlock()
	if abOK {
		ch.aLast = ab
	}
	for i, h := range ch.hops {
		if smp := samples[i]; smp.seen {
			h.last = smp.hi
			h.hist.Merge(smp.h)
		}
	}
}

// aBreaker is A's circuit breaker as the reaction service's stats show it.
type aBreaker struct {
	State    string `json:"breaker"`
	Opened   int64  `json:"breaker_opened"`
	Rejected int64  `json:"breaker_rejected"`
}

// readABreaker reads A's circuit breaker from the reaction service's
// stats; ok is false without one, or when it cannot be read.
func (ch *chain) readABreaker(ctx context.Context) (b aBreaker, ok bool) {
	r := ch.r
	if !r.p.Services.Chain.Breaker || r.async() {
		return b, false
	}
	if err := getJSON(ctx, "http://"+r.react.Addr+wire.PathStats, &b); err != nil {
		return b, false
	}
	return b, true
}

// summarizeHops fills the chain's summary: A from the generator's totals,
// each other hop from what it counted since the attack began.
func (ch *chain) summarizeHops(s *results.Summary, t loadgen.Totals) {
	c := ch.r.p.Services.Chain
	s.ChainDepth, s.ChainBreaker = c.Depth, c.Breaker
	s.Chain = append(s.Chain, results.HopSummary{Name: "A", Service: "reaction", Calls: t.Requests, Errors: t.Drops.Total, Latency: s.API,
		Rejected: ch.aLast.Rejected - ch.aBase.Rejected, Opened: ch.aLast.Opened - ch.aBase.Opened})
	for _, h := range ch.hops {
		hs := results.HopSummary{
			Name:     h.name,
			Service:  h.service,
			Calls:    h.last.Calls - h.base.Calls,
			Errors:   h.last.Errors - h.base.Errors,
			Rejected: h.last.Rejected - h.base.Rejected,
			Opened:   h.last.Opened - h.base.Opened,
			Latency:  percentiles(h.hist),
			PeakLag:  h.peakLag,
		}
		s.Chain = append(s.Chain, hs)
	}
}

// checkChain refuses, before any load, a chain this run cannot build.
func checkChain(o RunOptions, pl plannedRun) error {
	switch {
	case pl.profile.Services.Chain.Depth <= 2:
		return nil
	case o.Targets != nil:
		return fmt.Errorf("%s: services.chain: a chain runs only on services this run starts, not with --targets", o.ProfileFile)
	case !pl.pattern.HasChainForm():
		return fmt.Errorf("%s: services.chain: %s has no chain form; run --patterns sync,async", o.ProfileFile, pl.pattern)
	}
	return nil
}
