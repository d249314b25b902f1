package loadgen

import (
	"runtime"
	"syscall"
	"time"
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
