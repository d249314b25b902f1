package harness_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/results"
)

func hist() *hdrhistogram.Histogram {
	return hdrhistogram.New(results.HistMinUS, results.HistMaxUS, results.HistDigits)
}

// TestMergeEqualsWhole splits synthetic latencies between n shards — one
// starting 300 ms late, one 2 s late and shorter — writes each shard's run
// folder as a run does (results.json, interval logs, shard.json), merges
// them, and checks that the merged histograms equal the histogram of all
// the values, exactly: for the whole run and for every second.
func TestMergeEqualsWhole(t *testing.T) {
	const (
		n       = 3
		seconds = 10
	)
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 2, 3, 4, 5, 100e6, time.UTC)
	// Shard k starts late[k] after the base, and its window j is the run's
	// second j+shift[k].
	late := [n]time.Duration{0, 300 * time.Millisecond, 2 * time.Second}
	shift := [n]int{0, 0, 2}

	whole := hist()
	wholeSec := make([]*hdrhistogram.Histogram, seconds)
	shardSec := [n][]*hdrhistogram.Histogram{}
	shardAll := [n]*hdrhistogram.Histogram{}
	requests := [n]int64{}
	for k := range n {
		shardAll[k] = hist()
		for range seconds - shift[k] {
			shardSec[k] = append(shardSec[k], hist())
		}
	}
	for s := range seconds {
		wholeSec[s] = hist()
		for range 2000 {
			// Log-uniform from 50 µs to 20 s: every bucket size in play.
			v := int64(50 * math.Pow(4e5, rng.Float64()))
			k := rng.IntN(n)
			if s < shift[k] {
				k = 0 // shard 2 had not started yet
			}
			whole.RecordValue(v)
			wholeSec[s].RecordValue(v)
			shardSec[k][s-shift[k]].RecordValue(v)
			shardAll[k].RecordValue(v)
			requests[k]++
		}
	}

	root := t.TempDir()
	var dirs []string
	for k := range n {
		dir := filepath.Join(root, "shard", string(rune('0'+k)))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		start := base.Add(late[k])
		for _, name := range []string{"sync-api.hlog", "sync-api-uncorrected.hlog", "sync-notify.hlog"} {
			writeHlog(t, filepath.Join(dir, name), start, shardSec[k])
		}
		enc, err := shardAll[k].Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		m := len(shardSec[k])
		pat := &results.Pattern{Runs: 1}
		pat.Summary = results.Summary{Requests: requests[k], Accepted: requests[k], OfferedRPS: 2000.0 / n, AchievedRPS: 2000.0 / n,
			Lost: int64(k), Delivered: requests[k] - int64(k), Duplicated: 5,
			CPUSecondsPer1k: map[string]float64{"generator": 1, "total": 1}, PeakRSSMB: map[string]float64{"generator": 10}}
		pat.Histograms.API, pat.Histograms.APIUncorrected, pat.Histograms.Notify = string(enc), string(enc), string(enc)
		pat.Series = results.Series{T: make([]float64, m), AchievedRPS: make([]float64, m), Delivered: make([]int64, m), Drops: map[string][]int64{"timeout": make([]int64, m)}}
		for j := range m {
			pat.Series.T[j] = float64(j + 1)
			pat.Series.AchievedRPS[j] = float64(shardSec[k][j].TotalCount())
			pat.Series.Drops["timeout"][j] = 1
		}
		res := &results.Results{Schema: results.SchemaVersion, Run: results.RunInfo{Profile: "synthetic", Started: start}, Order: []string{"sync"}, Patterns: map[string]*results.Pattern{"sync": pat}}
		if err := res.Write(dir); err != nil {
			t.Fatal(err)
		}
		first, last := harness.Shard{Index: k, Count: n}.IDs()
		si, _ := json.Marshal(harness.ShardInfo{Shard: harness.Shard{Index: k, Count: n}, FirstID: first, LastID: last, Owner: k == 0})
		if err := os.WriteFile(filepath.Join(dir, harness.ShardFile), si, 0o644); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}

	out := filepath.Join(root, "merged")
	// The order of the folders does not matter.
	got, err := harness.Merge([]string{dirs[2], dirs[0], dirs[1]}, out)
	if err != nil {
		t.Fatal(err)
	}
	pat := got.Patterns["sync"]
	api, err := hdrhistogram.Decode([]byte(pat.Histograms.API))
	if err != nil {
		t.Fatal(err)
	}
	if !api.Equals(whole) {
		t.Errorf("merged whole-run histogram: %d values, p99 %d; want %d values, p99 %d, bucket for bucket", api.TotalCount(), api.ValueAtQuantile(99), whole.TotalCount(), whole.ValueAtQuantile(99))
	}
	// Time-to-notify is the ledger owner's alone: shard 0's.
	notify, _ := hdrhistogram.Decode([]byte(pat.Histograms.Notify))
	if notify.TotalCount() != shardAll[0].TotalCount() {
		t.Errorf("merged notify histogram holds %d values, want shard 0's %d", notify.TotalCount(), shardAll[0].TotalCount())
	}

	f, err := os.Open(filepath.Join(out, "sync-api.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	secs, err := results.ReadIntervalLog(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != seconds {
		t.Fatalf("merged log has %d intervals, want %d", len(secs), seconds)
	}
	for s, h := range secs {
		if !h.Equals(wholeSec[s]) {
			t.Errorf("second %d: merged %d values, want %d, bucket for bucket", s, h.TotalCount(), wholeSec[s].TotalCount())
		}
		if want := float64(wholeSec[s].ValueAtQuantile(99)) / 1000; pat.Series.APIP99[s] != want {
			t.Errorf("second %d: p99 %g ms, want %g", s, pat.Series.APIP99[s], want)
		}
		if pat.Series.AchievedRPS[s] != float64(wholeSec[s].TotalCount()) {
			t.Errorf("second %d: achieved %g, want %d", s, pat.Series.AchievedRPS[s], wholeSec[s].TotalCount())
		}
	}

	s := pat.Summary
	if s.Requests != whole.TotalCount() || s.Accepted != whole.TotalCount() {
		t.Errorf("requests %d, accepted %d; want %d", s.Requests, s.Accepted, whole.TotalCount())
	}
	// Each shard's own reconciliation adds up; duplicates are counted once.
	if s.Lost != 0+1+2 || s.Duplicated != 5 {
		t.Errorf("lost %d, duplicated %d; want 3 and 5", s.Lost, s.Duplicated)
	}
	if s.OfferedRPS < 1999 || s.OfferedRPS > 2001 {
		t.Errorf("offered %g rps, want 2000", s.OfferedRPS)
	}
	if got := s.CPUSecondsPer1k["generator"]; got < 0.999 || got > 1.001 {
		t.Errorf("generator cpu/1k %g, want 1", got)
	}
	if d := pat.Series.Drops["timeout"]; d[0] != 2 || d[seconds-1] != 3 {
		t.Errorf("timeouts per second %v: want 2 in the first (shard 2 not started), 3 in the last", d)
	}
	if _, err := results.Read(out); err != nil {
		t.Errorf("merged results.json: %v", err)
	}

	// Two folders of one shard are refused.
	if _, err := harness.Merge([]string{dirs[0], dirs[0]}, filepath.Join(root, "bad")); err == nil {
		t.Error("merging shard 0 twice succeeded")
	}
}

func writeHlog(t *testing.T, path string, start time.Time, hs []*hdrhistogram.Histogram) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := results.NewIntervalLog(f, start)
	if err != nil {
		t.Fatal(err)
	}
	for j, h := range hs {
		// A sampler ticks a few ms after each whole second.
		from := start.Add(time.Duration(j)*time.Second + time.Duration(j%3)*time.Millisecond)
		if err := l.Write(h, from, from.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}
