package loadgen

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// highResSleep sleeps d with nanosleep(2): the kernel's high-resolution
// timers, not the Go runtime's netpoller. It blocks its OS thread; the
// runtime hands the thread's P to another while it does.
func highResSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem // a signal woke it: sleep what is left
	}
}

// prctl(2) options for a thread's timer slack.
const (
	prSetTimerSlack = 29
	prGetTimerSlack = 30
)

// tightTimerSlack locks the calling goroutine to its OS thread and sets
// the thread's timer slack to 1 ns; restore sets it back and unlocks.
//
// Why: the kernel may end a thread's nanosleep up to its timer slack late
// (50 µs by default), to group wake-ups. The pacer's every sleep then ends
// ~50-60 µs after the hit's due time (BenchmarkHighResSleep), and that lag
// is in every corrected latency: at 1,000 rps it was most of the floor's
// p50 beside the Vegeta CLI's, which times from its actual send. One
// thread, the pacer's, gives up the grouping; it wakes once per hit.
func tightTimerSlack() (restore func()) {
	runtime.LockOSThread()
	old, _, errno := syscall.Syscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		runtime.UnlockOSThread()
		return func() {}
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_PRCTL, prSetTimerSlack, 1, 0); errno != 0 {
		runtime.UnlockOSThread()
		return func() {}
	}
	return func() {
		_, _, _ = syscall.Syscall(syscall.SYS_PRCTL, prSetTimerSlack, old, 0)
		runtime.UnlockOSThread()
	}
}

// maxRawSleep bounds one rawSleep: the pacer's P cannot be stopped while
// it sleeps, and a garbage collection's stop waits for it.
const maxRawSleep = time.Millisecond

// rawSleep sleeps min(d, maxRawSleep) with nanosleep(2) as a raw system
// call: the pacer keeps its P, so that when the kernel wakes its thread it
// runs at once, not when the Go scheduler hands it a P back (a woken
// thread whose P was taken waits in the global run queue behind every
// goroutine the answers woke).
func rawSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(min(d, maxRawSleep).Nanoseconds())
	for {
		var rem syscall.Timespec
		_, _, errno := syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), uintptr(unsafe.Pointer(&rem)), 0)
		if errno != syscall.EINTR {
			return
		}
		ts = rem
	}
}

// ptrOf is the address of b's first byte; b is not empty.
func ptrOf(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// rusageThread is getrusage(2)'s RUSAGE_THREAD: the calling thread's.
const rusageThread = 1
