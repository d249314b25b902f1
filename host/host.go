// Package host reads the load of the machine a run shares with what it
// measures: how many cores were busy, from /proc/stat, whatever process
// used them. A benchmark on one machine measures the machine as soon as
// the machine is the bottleneck; this is how a run knows.
package host

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"
)

// ClockTicks is USER_HZ, the unit of CPU times in /proc/stat and
// /proc/<pid>/stat: 100 on every Linux architecture Go supports.
const ClockTicks = 100

// Cores is the number of logical CPUs this process may use.
func Cores() int { return runtime.NumCPU() }

// Times are the machine's CPU times since boot, summed over its CPUs.
type Times struct {
	Busy  time.Duration // user, nice, system, irq, softirq and steal
	Total time.Duration // Busy plus idle and iowait
	Steal time.Duration // in Busy: the hypervisor ran another guest on our CPUs
}

// ErrNoProcStat is returned where /proc/stat cannot be read (not Linux).
var ErrNoProcStat = errors.New("no /proc/stat on this machine: host CPU is not measured")

// ReadTimes reads the aggregate "cpu" line of /proc/stat.
func ReadTimes() (Times, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return Times{}, ErrNoProcStat
	}
	return parseStat(b)
}

// parseStat reads the first line of /proc/stat:
//
//	cpu  user nice system idle iowait irq softirq steal guest guest_nice
//
// Steal counts as busy: a hypervisor that gave the time to another guest
// took it from this run as surely as a process did. Guest time is already
// inside user and nice, so it is not added again.
func parseStat(b []byte) (Times, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) == 0 || string(f[0]) != "cpu" {
			continue
		}
		if len(f) < 5 {
			return Times{}, fmt.Errorf("/proc/stat: the cpu line has %d fields, want at least 4 numbers", len(f)-1)
		}
		var v [8]uint64 // user nice system idle iowait irq softirq steal
		for i := range v {
			if i+1 >= len(f) {
				break // older kernels stop early: the rest are 0
			}
			n, err := strconv.ParseUint(string(f[i+1]), 10, 64)
			if err != nil {
				return Times{}, fmt.Errorf("/proc/stat: cpu field %d: %w", i+1, err)
			}
			v[i] = n
		}
		busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		idle := v[3] + v[4]
		tick := time.Second / ClockTicks
		return Times{Busy: time.Duration(busy) * tick, Total: time.Duration(busy+idle) * tick, Steal: time.Duration(v[7]) * tick}, nil
	}
	return Times{}, errors.New("/proc/stat: no cpu line")
}

// CPU turns successive readings of /proc/stat into busy cores per
// interval. Not safe for concurrent use: one sampler owns it.
type CPU struct {
	last  Times
	lastT time.Time
	ok    bool
	// Steal is the cores the hypervisor took (steal time) over the
	// interval the last Sample measured.
	Steal float64
}

// NewCPU takes the baseline reading. It fails where /proc/stat is not
// there; the caller then records host CPU as not measured.
func NewCPU() (*CPU, error) {
	t, err := ReadTimes()
	if err != nil {
		return nil, err
	}
	return &CPU{last: t, lastT: time.Now(), ok: true}, nil
}

// Sample returns the cores that were busy, on average, since the previous
// Sample (or NewCPU): 1.5 on a 2-core machine is 75% busy.
func (c *CPU) Sample() (float64, error) {
	t, err := ReadTimes()
	if err != nil {
		return 0, err
	}
	now := time.Now()
	wall := now.Sub(c.lastT)
	cores := busyCores(c.last, t, wall)
	c.Steal = 0
	if wall > 0 && t.Steal >= c.last.Steal {
		c.Steal = (t.Steal - c.last.Steal).Seconds() / wall.Seconds()
	}
	c.last, c.lastT = t, now
	return cores, nil
}

// busyCores is the busy CPU time between two readings over the wall time
// between them. /proc/stat counts in 10 ms ticks, so one second's figure
// is good to about ±0.01 core per CPU.
func busyCores(prev, cur Times, wall time.Duration) float64 {
	if wall <= 0 || cur.Busy < prev.Busy {
		return 0
	}
	return (cur.Busy - prev.Busy).Seconds() / wall.Seconds()
}

// DefaultSUTNice is the niceness commbench starts the system under test
// at (the services, nginx, the local broker): the generator keeps 0.
const DefaultSUTNice = 10

// SUTNice is the niceness to start the system under test at:
// $COMMBENCH_SUT_NICE when it is a number from 0 to 19, else
// DefaultSUTNice. 0 leaves it as commbench's own.
func SUTNice() int {
	if v := os.Getenv("COMMBENCH_SUT_NICE"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 19 {
			return n
		}
	}
	return DefaultSUTNice
}

// Nice makes cmd, not yet started, run at niceness n above commbench's
// own, through nice(1) (which execs it: the process id is the command's),
// so that every thread it starts inherits it. Raising one's own niceness
// needs no privilege. It returns false, leaving cmd as it was, when n is
// 0 or there is no nice(1).
//
// Why: the generator and the system under test share the machine's
// cores. A real load generator runs on a machine of its own; here the
// kernel is asked to run the generator first when both want a CPU, so
// that a second in which the services or the broker took every core is
// the services' load, not a late schedule (surge runs had the pacer's
// thread wait up to 9 ms in the run queue at 0.3–1.0 of 2 cores busy).
func Nice(cmd *exec.Cmd, n int) bool {
	if n <= 0 || cmd.Process != nil || cmd.Err != nil {
		return false
	}
	path, err := exec.LookPath("nice")
	if err != nil || cmd.Path == path {
		return false // no nice(1), or cmd is already one (a restart)
	}
	args := append([]string{"nice", "-n", strconv.Itoa(n), cmd.Path}, cmd.Args[1:]...)
	cmd.Path, cmd.Args = path, args
	return true
}
