package loadgen

import (
	"fmt"
	"os"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"time"
)

// Cause is what made a late send late, as the generator measured it.
type Cause uint8

// The causes. A stall (a run of late sends) gets the cause of its first
// late send, decided from what was measured around it.
const (
	CauseNone Cause = iota // on time
	// CauseGC: a garbage collection ran between the pacer's last check and
	// the late send, and nothing else explains the lag.
	CauseGC
	// CauseGoScheduler: the Go runtime parked the pacer's thread (it
	// was preempted, or waited for a lock, and waited to run again: more
	// voluntary context switches than sleeps), or its scheduler kept a
	// goroutine waiting as long as the lag (/sched/latencies), and the OS
	// did not hold the pacer's thread.
	CauseGoScheduler
	// CauseOSRunQueue: the pacer's OS thread waited in the kernel's run
	// queue (its schedstat run delay) for at least half the lag: another
	// process, or another of ours, had the CPU. The generator could not
	// have sent on time.
	CauseOSRunQueue
	// CauseDial: no connection was idle, and opening one (or waiting for
	// one at the bound of connections) took most of the lag.
	CauseDial
	// CauseUnknown: late, and nothing measured explains it.
	CauseUnknown
	NumCauses
)

var causeNames = [NumCauses]string{"", "gc", "go-scheduler", "os-run-queue", "dial", "unknown"}

func (c Cause) String() string {
	if c < NumCauses {
		return causeNames[c]
	}
	return fmt.Sprintf("cause(%d)", c)
}

// ParseCause returns the cause named s.
func ParseCause(s string) (Cause, bool) {
	for i, n := range causeNames {
		if n == s && i > 0 {
			return Cause(i), true
		}
	}
	return CauseNone, false
}

// checkEvery is how often the pacer takes the evidence it judges a stall
// against: the run-queue wait of its thread, the collections, the
// scheduler's latencies. A stall is judged by what changed since.
const checkEvery = 10 * time.Millisecond

// stallTracker decides the cause of each stall, on the pacer's goroutine.
// Its reads cost a few microseconds; they happen every checkEvery and at
// the first late send of a stall, not per send.
type stallTracker struct {
	tol     time.Duration
	inStall bool
	cause   Cause
	figure  float64 // the evidence, ms

	schedstat *os.File // the pacer thread's /proc/thread-self/schedstat
	buf       [128]byte
	lastCheck time.Time
	runDelay  int64 // ns, at the last check
	gcCycles  uint64
	schedLat  []uint64 // /sched/latencies:seconds counts at the last check
	nvcsw     int64    // the pacer thread's voluntary context switches at the last check
	sleeps    int64    // the pacer's sleeps so far; at the last check:
	sleeps0   int64
	yields    int64 // the pacer's yields so far (each switches its thread); at the last check:
	yields0   int64
	yieldWait time.Duration // the longest a yield kept the pacer since the last check
	samples   []metrics.Sample
	bounds    []float64

	count [NumCauses]atomic.Int64 // read by the recorder: atomics, so that the pacer never waits on a lock
}

// init opens the pacer thread's schedstat: call it on the pacer's locked
// thread.
func (t *stallTracker) init() {
	t.tol = DefaultLateTolerance
	t.samples = []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/sched/latencies:seconds"}}
	if f, err := os.Open(fmt.Sprintf("/proc/self/task/%d/schedstat", syscall.Gettid())); err == nil {
		t.schedstat = f
	}
	t.check(time.Now())
}

func (t *stallTracker) close() {
	if t.schedstat != nil {
		t.schedstat.Close()
	}
}

// runDelayNow is the pacer thread's total wait in the kernel's run queue,
// ns; -1 when it cannot be read.
func (t *stallTracker) runDelayNow() int64 {
	if t.schedstat == nil {
		return -1
	}
	n, err := t.schedstat.ReadAt(t.buf[:], 0)
	if n == 0 && err != nil {
		return -1
	}
	// "<on-cpu ns> <run-queue wait ns> <timeslices>\n"
	var fields [2]int64
	f := 0
	for _, b := range t.buf[:n] {
		switch {
		case b >= '0' && b <= '9':
			fields[f] = fields[f]*10 + int64(b-'0')
		case f == 1:
			return fields[1]
		default:
			f++
		}
	}
	return -1
}

// check takes the evidence afresh.
func (t *stallTracker) check(now time.Time) {
	t.lastCheck = now
	t.runDelay = t.runDelayNow()
	metrics.Read(t.samples)
	t.gcCycles = t.samples[0].Value.Uint64()
	t.nvcsw, t.sleeps0, t.yields0, t.yieldWait = threadSwitches(), t.sleeps, t.yields, 0
	h := t.samples[1].Value.Float64Histogram()
	t.schedLat = append(t.schedLat[:0], h.Counts...)
	t.bounds = h.Buckets
}

// maybeCheck takes the evidence afresh when the last is older than
// checkEvery.
func (t *stallTracker) maybeCheck(now time.Time) {
	if now.Sub(t.lastCheck) >= checkEvery {
		t.check(now)
	}
}

// at judges hit seq, due at due, whose pacer woke at woke and which left
// at sent (dialed: it had to open its connection). It returns the cause
// and its evidence (ms) when the hit is late, CauseNone when it is not.
func (t *stallTracker) at(seq uint64, due, woke, sent time.Time, dialed bool) (Cause, float64) {
	lag := sent.Sub(due)
	if lag <= t.tol {
		t.inStall = false
		return CauseNone, 0
	}
	if !t.inStall {
		t.inStall = true
		t.cause, t.figure = t.judge(lag, woke.Sub(due), sent.Sub(woke), dialed)
		t.lastCheck = time.Time{} // the next maybeCheck, after the write, takes it afresh
	}
	t.count[t.cause].Add(1)
	return t.cause, t.figure
}

// judge decides a stall's cause from its first late send: lag in all,
// wake of it before the pacer woke, acquire of it taking a connection.
func (t *stallTracker) judge(lag, wake, acquire time.Duration, dialed bool) (Cause, float64) {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	if dialed && acquire >= wake {
		return CauseDial, ms(acquire)
	}
	if rd := t.runDelayNow(); rd >= 0 && t.runDelay >= 0 && time.Duration(rd-t.runDelay) >= lag/2 {
		return CauseOSRunQueue, ms(time.Duration(rd - t.runDelay))
	}
	metrics.Read(t.samples)
	if t.samples[0].Value.Uint64() != t.gcCycles {
		return CauseGC, ms(lag) // a collection ran: the lag is its
	}
	if t.yieldWait >= lag/2 {
		return CauseGoScheduler, ms(t.yieldWait) // a yield waited that long for its P
	}
	if sw := threadSwitches(); sw >= 0 && t.nvcsw >= 0 {
		// Beyond its own sleeps and yields, the runtime parked the thread.
		if parked := (sw - t.nvcsw) - (t.sleeps - t.sleeps0) - (t.yields - t.yields0); parked > 0 {
			return CauseGoScheduler, ms(lag) // the runtime parked the pacer's thread
		}
	}
	h := t.samples[1].Value.Float64Histogram()
	worst := 0.0
	for i, c := range h.Counts {
		if i < len(t.schedLat) && c > t.schedLat[i] {
			worst = h.Buckets[i] // the lower bound of the bucket
		}
	}
	if time.Duration(worst*1e9) >= lag/2 {
		return CauseGoScheduler, ms(lag)
	}
	return CauseUnknown, ms(lag)
}

// yielded counts one of the pacer's yields, which kept it from running
// for wait.
func (t *stallTracker) yielded(wait time.Duration) {
	t.yields++
	t.yieldWait = max(t.yieldWait, wait)
}

// sleep is the pacer's sleep: rawSleep, counted.
func (t *stallTracker) sleep(d time.Duration) {
	t.sleeps++
	rawSleep(d)
}

// threadSwitches is the calling thread's voluntary context switches so
// far, -1 when they cannot be read.
func threadSwitches() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return -1
	}
	return int64(ru.Nvcsw)
}

// Counts returns the late sends by cause so far.
func (t *stallTracker) Counts() (n [NumCauses]int64) {
	for i := range t.count {
		n[i] = t.count[i].Load()
	}
	return n
}

// CauseOf is the cause of most of s's late sends; CauseNone when none
// was late.
func CauseOf(s Second) Cause {
	best := CauseNone
	for c := CauseGC; c < NumCauses; c++ {
		if s.LateBy[c] > 0 && (best == CauseNone || s.LateBy[c] > s.LateBy[best]) {
			best = c
		}
	}
	return best
}

// Evidence says in words what shows that c made s's sends late.
func Evidence(s Second, c Cause) string {
	n, fig := s.LateBy[c], s.Evidence[c]
	of := fmt.Sprintf("%d of %d late sends", n, s.Late)
	switch c {
	case CauseOSRunQueue:
		return fmt.Sprintf("%s: the pacer's thread waited up to %.2f ms in the OS run queue (another process had the CPU)", of, fig)
	case CauseGC:
		return fmt.Sprintf("%s: a garbage collection ran in the generator (lag up to %.2f ms)", of, fig)
	case CauseGoScheduler:
		return fmt.Sprintf("%s: the Go runtime held the pacer (parked its thread, or kept goroutines waiting to run) for up to %.2f ms", of, fig)
	case CauseDial:
		return fmt.Sprintf("%s: no idle connection; getting one took up to %.2f ms", of, fig)
	case CauseUnknown:
		return fmt.Sprintf("%s: lag up to %.2f ms that nothing measured explains", of, fig)
	}
	return ""
}
