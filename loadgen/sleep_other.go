//go:build !linux

package loadgen

import (
	"time"
	"unsafe"
)

// highResSleep is time.Sleep where there is no nanosleep(2) wrapper: the
// send lag then carries the runtime's timer resolution, and says so.
func highResSleep(d time.Duration) { time.Sleep(d) }

// tightTimerSlack does nothing where there is no nanosleep(2) wrapper.
func tightTimerSlack() (restore func()) { return func() {} }

// rawSleep is time.Sleep where there is no nanosleep(2) wrapper.
func rawSleep(d time.Duration) { time.Sleep(d) }

// ptrOf is the address of b's first byte; b is not empty.
func ptrOf(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

// rusageThread is RUSAGE_SELF where there is no RUSAGE_THREAD: the
// process's switches, which over-count the pacer's.
const rusageThread = 0
