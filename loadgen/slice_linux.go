//go:build linux && (amd64 || arm64)

package loadgen

import (
	"syscall"
	"time"
	"unsafe"
)

// schedAttr is the kernel's struct sched_attr (SCHED_ATTR_SIZE_VER0).
type schedAttr struct {
	size     uint32
	policy   uint32
	flags    uint64
	nice     int32
	priority uint32
	runtime  uint64
	deadline uint64
	period   uint64
}

// pacerSlice is the time slice the pacer's thread asks the kernel for.
const pacerSlice = 100 * time.Microsecond

// shortSlice asks the kernel (EEVDF, Linux 6.12 and later) for a short
// time slice for the calling thread, at its policy and niceness: a
// waking thread with a shorter slice preempts the one running instead of
// waiting out that one's slice. It needs no privilege; it returns false
// where the kernel does not take it (older kernels: the slice is then
// theirs).
//
// Why: the pacer sleeps between hits and must run when its hit is due.
// On a 2-core machine with the null endpoint beside it, the pacer's
// thread waited up to 4 ms in the run queue at 5,000 rps, every second
// (its schedstat), behind threads at its own niceness running out their
// ~3 ms slices: the generator's readers and the endpoint.
func shortSlice() bool {
	a := schedAttr{size: uint32(unsafe.Sizeof(schedAttr{})), runtime: uint64(pacerSlice)}
	if n, err := currentNice(); err == nil {
		a.nice = int32(n)
	}
	_, _, errno := syscall.Syscall(sysSchedSetattr, 0, uintptr(unsafe.Pointer(&a)), 0)
	return errno == 0
}

// currentNice is the calling thread's niceness.
func currentNice() (int, error) {
	// getpriority(2) returns 20 - nice for the raw system call.
	r, _, errno := syscall.Syscall(syscall.SYS_GETPRIORITY, 0 /* PRIO_PROCESS */, 0 /* this thread */, 0)
	if errno != 0 {
		return 0, errno
	}
	return 20 - int(r), nil
}
