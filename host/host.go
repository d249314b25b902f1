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
		return Times{Busy: time.Duration(busy) * tick, Total: time.Duration(busy+idle) * tick}, nil
	}
	return Times{}, errors.New("/proc/stat: no cpu line")
}

// CPU turns successive readings of /proc/stat into busy cores per
// interval. Not safe for concurrent use: one sampler owns it.
type CPU struct {
	last  Times
	lastT time.Time
	ok    bool
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
	cores := busyCores(c.last, t, now.Sub(c.lastT))
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
