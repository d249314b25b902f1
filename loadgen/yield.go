package loadgen

import (
	"os"
	"time"
)

// The pacer's yields. The pacer never blocks in the Go runtime's sight
// (rawSleep keeps its P), so the runtime's monitor sees one goroutine
// that has run for 10 ms and preempts it. A preempted goroutine goes to
// the tail of the global run queue, behind the answers' readers the
// monitor's own network poll just put there, and the pacer waited there
// for a P while its hits fell due: in three surges at 1fa2d55, 29 of the
// 30 generator-bound seconds were "the Go runtime held the pacer", for up
// to 1.9-7.3 ms, most at 200 rps with the host half idle.
//
// So the pacer gives up its P itself, every yieldEvery in its slack, and
// in a way that brings it straight back: it wakes the relay goroutine,
// which the runtime puts next in line on the pacer's P, and waits for it;
// the relay wakes the pacer, next in line on the same P. No run queue is
// crossed, and the pacer's thread, locked to it, is handed the P again
// with a fresh time slice, so the monitor's 10 ms never run out.
// (runtime.Gosched was tried first and measured worse: it goes to the
// global queue's tail, as the preemption does.)
//
// COMMBENCH_PACER_YIELD=off turns the yields off, only to measure them
// against.
var yieldOn = os.Getenv("COMMBENCH_PACER_YIELD") != "off"

const (
	yieldEvery    = 4 * time.Millisecond // yield when the next hit is far enough...
	yieldSlack    = 200 * time.Microsecond
	yieldDeadline = 8 * time.Millisecond // ...and at the latest after this, before the monitor's 10 ms
)

// yielder decides when the pacer yields, and yields through its relay.
type yielder struct {
	last       time.Time
	kick, back chan struct{}
}

// start starts the relay; stop ends it.
func (y *yielder) start(now time.Time) {
	y.last = now
	y.kick, y.back = make(chan struct{}), make(chan struct{})
	go func(kick <-chan struct{}, back chan<- struct{}) {
		for range kick {
			back <- struct{}{}
		}
	}(y.kick, y.back)
}

func (y *yielder) stop() { close(y.kick) }

// due says whether to yield now, the next hit being due at next.
func (y *yielder) due(now, next time.Time) bool {
	since := now.Sub(y.last)
	if since < yieldEvery {
		return false
	}
	return since >= yieldDeadline || next.Sub(now) >= yieldSlack
}

// yield hands the P to the relay and takes it back from it.
func (y *yielder) yield() {
	y.kick <- struct{}{}
	<-y.back
	y.last = time.Now()
}
