package loadgen

import (
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
