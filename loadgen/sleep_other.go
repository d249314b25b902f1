//go:build !linux

package loadgen

import "time"

// highResSleep is time.Sleep where there is no nanosleep(2) wrapper: the
// send lag then carries the runtime's timer resolution, and says so.
func highResSleep(d time.Duration) { time.Sleep(d) }

// tightTimerSlack does nothing where there is no nanosleep(2) wrapper.
func tightTimerSlack() (restore func()) { return func() {} }
