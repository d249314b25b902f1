package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
	"github.com/commbench/commbench/host"
	"github.com/commbench/commbench/targets/wire"
)

// procStat is a process's CPU time and resident memory, read from /proc.
type procStat struct {
	CPU time.Duration // user + system
	RSS uint64        // bytes
}

// readProc reads /proc/<pid>/stat and statm. A process that is gone gives
// an error.
func readProc(pid int) (procStat, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	st, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: bad cpu times", pid)
	}
	ps := procStat{CPU: time.Duration(ut+st) * time.Second / host.ClockTicks}
	if statm, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid)); err == nil {
		if g := bytes.Fields(statm); len(g) > 1 {
			pages, _ := strconv.ParseUint(string(g[1]), 10, 64)
			ps.RSS = pages * uint64(os.Getpagesize())
		}
	}
	return ps, nil
}

// cpuMeter turns successive /proc readings of named processes into cores
// used per interval and CPU time in total. A process restarted (a kill
// fault) under the same name keeps adding up.
type cpuMeter struct {
	last  map[string]procStat
	lastP map[string]int
	total map[string]time.Duration
	peak  map[string]uint64
}

func newCPUMeter() *cpuMeter {
	return &cpuMeter{last: map[string]procStat{}, lastP: map[string]int{}, total: map[string]time.Duration{}, peak: map[string]uint64{}}
}

// sample reads each process and returns the cores it used since the last
// sample (over elapsed) and its RSS in MB.
func (m *cpuMeter) sample(pids map[string]int, elapsed time.Duration) (cores, rssMB map[string]float64) {
	cores, rssMB = map[string]float64{}, map[string]float64{}
	for name, pid := range pids {
		if pid == 0 {
			cores[name], rssMB[name] = 0, 0
			continue
		}
		ps, err := readProc(pid)
		if err != nil {
			cores[name], rssMB[name] = 0, 0
			continue
		}
		prev, seen := m.last[name]
		if !seen || m.lastP[name] != pid {
			prev = procStat{} // a new process: its CPU time counts from 0
			if !seen {
				// The first reading is the baseline: what the process used
				// before the measurement began does not count.
				prev = ps
			}
		}
		d := ps.CPU - prev.CPU
		if d < 0 {
			d = 0
		}
		m.total[name] += d
		m.last[name], m.lastP[name] = ps, pid
		if elapsed > 0 {
			cores[name] = d.Seconds() / elapsed.Seconds()
		}
		rssMB[name] = float64(ps.RSS) / (1 << 20)
		m.peak[name] = max(m.peak[name], ps.RSS)
	}
	return cores, rssMB
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

// maxAnswerBytes bounds what the harness reads of a service's answer: a
// ledger snapshot's delivered ids as ranges, even every other id of a
// 10-million-reaction run, take less.
const maxAnswerBytes = 256 << 20

func getJSON(ctx context.Context, url string, v any) error {
	return doJSON(ctx, http.MethodGet, url, nil, v)
}

func doJSON(ctx context.Context, method, url string, body []byte, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxAnswerBytes {
		return fmt.Errorf("%s %s: an answer of more than %d bytes", method, url, maxAnswerBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, bytes.TrimSpace(b))
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// fetchInterval gets the ledger's counts and the time-to-notify histogram
// of the last interval.
func fetchInterval(ctx context.Context, notifyURL string) (wire.Counts, *hdrhistogram.Histogram, error) {
	var li wire.LedgerInterval
	if err := getJSON(ctx, notifyURL+wire.PathLedgerInterval, &li); err != nil {
		return wire.Counts{}, nil, err
	}
	h, err := hdrcodec.Decode([]byte(li.NotifyHist))
	if err != nil {
		return li.Counts, nil, fmt.Errorf("ledger interval histogram: %w", err)
	}
	return li.Counts, h, nil
}

// fetchLedger gets the whole ledger.
func fetchLedger(ctx context.Context, notifyURL string) (*wire.Snapshot, error) {
	var s wire.Snapshot
	if err := getJSON(ctx, notifyURL+wire.PathLedger, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func ms(us int64) float64 { return float64(us) / 1000 }
