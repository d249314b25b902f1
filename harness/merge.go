package harness

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// Merge puts the run folders of a sharded run (see Shard) back together
// into outDir: one results.json and one set of interval logs, as if one
// generator had sent all the load.
//
//   - Histograms are merged exactly: HdrHistograms of one geometry add
//     bucket by bucket, so the merged whole-run histogram is the histogram
//     of every shard's values together, and so is each second's. The
//     per-second windows come from the shards' .hlog files, aligned on
//     their absolute start times (each shard's offset rounded to a whole
//     second: start the shards together with --start-at to make it 0), and
//     the per-second percentiles are recomputed from the merged windows.
//   - Counts (requests, accepted, drops, late sends, and the per-second
//     rates) are summed. Rates offered and achieved add up too: every shard
//     sent its part over the same schedule.
//   - Reconciliation: each shard reconciled its own id range against the
//     shared ledger, so delivered, lost, dead-lettered and
//     delivered_unaccepted add up; duplicated and deduplicated are
//     ledger-wide, reported by the ledger's owner (shard 0) only. Time-to-
//     notify, deliveries per second, lag and faults come from the owner.
//     Folders without shard.json are whole runs that owned their ledgers:
//     their numbers all add up.
//   - CPU-seconds per 1,000 are recomputed from each shard's CPU-seconds;
//     cores and RSS per second are summed per process.
//
// Merge refuses folders of different profiles or two folders of the same
// shard, and warns (in the results) about missing shards.
func Merge(dirs []string, outDir string) (*results.Results, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no run folder")
	}
	parts, seen, count, err := readParts(dirs)
	if err != nil {
		return nil, err
	}
	out := mergeRunInfo(parts, seen, count)

	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	for _, key := range out.Order {
		pat, err := mergePattern(key, parts, outDir)
		if err != nil {
			return nil, fmt.Errorf("merge %s: %w", key, err)
		}
		out.Patterns[key] = pat
	}
	if err := out.Write(outDir); err != nil {
		return nil, err
	}
	return out, nil
}

// readParts reads the run folders, in shard order, the owner first: it is
// what the run's description comes from. seen maps each shard's index to
// its folder, count is the shards' count (0 for whole runs).
func readParts(dirs []string) (parts []mergePart, seen map[int]string, count int, err error) {
	parts = make([]mergePart, 0, len(dirs))
	seen = map[int]string{}
	for _, d := range dirs {
		r, err := results.Read(d)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("merge: %w", err)
		}
		si, err := ReadShardInfo(d)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("merge: %w", err)
		}
		if len(parts) > 0 && r.Run.Profile != parts[0].res.Run.Profile {
			return nil, nil, 0, fmt.Errorf("merge: %s ran profile %q, %s ran %q: merge only the shards of one run", d, r.Run.Profile, parts[0].dir, parts[0].res.Run.Profile)
		}
		if si.Count > 1 {
			if prev, ok := seen[si.Index]; ok {
				return nil, nil, 0, fmt.Errorf("merge: %s and %s are both shard %s", prev, d, si.Shard)
			}
			if count != 0 && si.Count != count {
				return nil, nil, 0, fmt.Errorf("merge: %s is shard %s, others are of %d", d, si.Shard, count)
			}
			seen[si.Index], count = d, si.Count
		}
		parts = append(parts, mergePart{dir: d, res: r, shard: si})
	}
	slices.SortStableFunc(parts, func(a, b mergePart) int { return a.shard.Index - b.shard.Index })

	return parts, seen, count, nil
}

// mergeRunInfo merges the run descriptions: the first shard's, the times
// widened, partial reasons, warnings and keys united, the owner's faults
// and broker, and a warning for each shard missing.
func mergeRunInfo(parts []mergePart, seen map[int]string, count int) *results.Results {
	first := parts[0].res
	now := time.Now()
	out := &results.Results{Schema: results.SchemaVersion, Patterns: map[string]*results.Pattern{}, Run: first.Run}
	out.Run.ID = now.Format("20060102-150405") + "-" + first.Run.Profile + "-merged"
	out.Run.Warnings = []string{}
	out.Run.Faults = nil
	names := make([]string, len(parts))
	for i, p := range parts {
		names[i] = p.dir
		out.Run.Started = minTime(out.Run.Started, p.res.Run.Started)
		out.Run.Finished = maxTime(out.Run.Finished, p.res.Run.Finished)
		if p.res.Run.Partial {
			out.Run.Partial = true
			out.Run.PartialReason = strings.TrimPrefix(out.Run.PartialReason+"; ", "; ") + filepath.Base(p.dir) + ": " + p.res.Run.PartialReason
		}
		for _, w := range p.res.Run.Warnings {
			if !slices.Contains(out.Run.Warnings, w) {
				out.Run.Warnings = append(out.Run.Warnings, w)
			}
		}
		if p.shard.Owner && out.Run.Faults == nil {
			out.Run.Faults = p.res.Run.Faults
			out.Run.Broker = p.res.Run.Broker
		}
		for _, k := range p.res.Order {
			if !slices.Contains(out.Order, k) {
				out.Order = append(out.Order, k)
			}
		}
	}
	out.Run.Warnings = append(out.Run.Warnings, fmt.Sprintf("merged from %d run folders: %s", len(parts), strings.Join(names, ", ")))
	if count > 1 && len(seen) < count {
		var missing []string
		for i := range count {
			if _, ok := seen[i]; !ok {
				missing = append(missing, fmt.Sprintf("%d/%d", i, count))
			}
		}
		out.Run.Warnings = append(out.Run.Warnings, "shards missing from the merge: "+strings.Join(missing, ", ")+": the rates and counts are short of the profile's")
	}
	if _, ok := seen[0]; count > 1 && !ok {
		out.Run.Warnings = append(out.Run.Warnings, "shard 0, the ledger's owner, is missing: no time-to-notify, lag or duplicates")
	}

	return out
}

type mergePart struct {
	dir   string
	res   *results.Results
	shard ShardInfo
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// intervals are one shard's per-second windows of one .hlog.
type intervals struct {
	hs      []*hdrhistogram.Histogram
	startMs int64 // the first window's start, unix ms; 0 when none
}

// readHlog reads an interval log of at most max intervals (one a second
// of the run's series, and a little slack): a log from elsewhere cannot
// make merge hold more windows than the run says it had.
func readHlog(path string, max int) (intervals, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return intervals{}, nil
	}
	if err != nil {
		return intervals{}, err
	}
	defer f.Close()
	hs, err := results.ReadIntervalLog(f, max)
	if err != nil {
		return intervals{}, fmt.Errorf("%s: %w", path, err)
	}
	iv := intervals{hs: hs}
	if len(hs) > 0 {
		iv.startMs = hs[0].StartTimeMs()
	}
	return iv, nil
}

// mergeWindows adds each shard's windows into one series of windows,
// shard k's window j at j+off[k].
func mergeWindows(all []intervals, off []int, fresh func() *hdrhistogram.Histogram) ([]*hdrhistogram.Histogram, error) {
	var out []*hdrhistogram.Histogram
	for k, iv := range all {
		for j, h := range iv.hs {
			i := j + off[k]
			for len(out) <= i {
				out = append(out, fresh())
			}
			if dropped := out[i].Merge(h); dropped > 0 {
				return nil, fmt.Errorf("window %d: %d values outside the histogram's range", i, dropped)
			}
		}
	}
	return out, nil
}

// shardLogs are the shards' interval logs of one pattern, aligned: shard
// k's window j is the merged window j+off[k]; ref is the earliest start,
// unix ms (0 when none).
type shardLogs struct {
	api, apiU, notify []intervals
	off               []int
	ref               int64
}

func newNotifyHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
}

func mergePattern(key string, all []mergePart, outDir string) (*results.Pattern, error) {
	var parts []mergePart
	for _, p := range all {
		if _, ok := p.res.Patterns[key]; ok {
			parts = append(parts, p)
		}
	}
	logs, err := readShardLogs(key, parts)
	if err != nil {
		return nil, err
	}
	apiW, err := mergeWindows(logs.api, logs.off, results.NewHistogram)
	if err != nil {
		return nil, err
	}
	apiUW, err := mergeWindows(logs.apiU, logs.off, results.NewHistogram)
	if err != nil {
		return nil, err
	}
	notifyW, err := mergeWindows(logs.notify, logs.off, newNotifyHist)
	if err != nil {
		return nil, err
	}
	start := time.UnixMilli(logs.ref)
	if logs.ref == 0 {
		start = parts[0].res.Run.Started
	}
	for name, ws := range map[string][]*hdrhistogram.Histogram{"-api.hlog": apiW, "-api-uncorrected.hlog": apiUW, "-notify.hlog": notifyW} {
		if err := writeWindows(filepath.Join(outDir, key+name), start, ws); err != nil {
			return nil, err
		}
	}
	pat := &results.Pattern{Runs: 1, Series: mergeSeries(parts, key, logs.off)}
	if err := mergeHistograms(pat, key, parts); err != nil {
		return nil, err
	}
	sumSummaries(pat, key, parts)
	windowPercentiles(&pat.Series, apiW, notifyW)
	return pat, nil
}

// readShardLogs reads every shard's logs of pattern key (time-to-notify
// from the ledger's owner only), and aligns them on the earliest start.
func readShardLogs(key string, parts []mergePart) (shardLogs, error) {
	l := shardLogs{api: make([]intervals, len(parts)), apiU: make([]intervals, len(parts)), notify: make([]intervals, len(parts)), off: make([]int, len(parts))}
	longest := 0
	for k, p := range parts {
		var err error
		n := len(p.res.Patterns[key].Series.T) + 2
		longest = max(longest, n)
		if l.api[k], err = readHlog(filepath.Join(p.dir, key+"-api.hlog"), n); err != nil {
			return l, err
		}
		if l.apiU[k], err = readHlog(filepath.Join(p.dir, key+"-api-uncorrected.hlog"), n); err != nil {
			return l, err
		}
		if p.shard.Owner {
			if l.notify[k], err = readHlog(filepath.Join(p.dir, key+"-notify.hlog"), n); err != nil {
				return l, err
			}
		}
		if s := l.api[k].startMs; s != 0 && (l.ref == 0 || s < l.ref) {
			l.ref = s
		}
	}
	for k := range parts {
		if s := l.api[k].startMs; s != 0 {
			l.off[k] = int(math.Round(float64(s-l.ref) / 1000))
			// Shards run one schedule together: one that started
			// later than the longest of them lasted is of another run.
			if l.off[k] > longest {
				return l, fmt.Errorf("%s: its interval log starts %d s after the earliest shard's, longer than the run: merge the shards of one run", parts[k].dir, l.off[k])
			}
		}
	}
	return l, nil
}

// mergeHistograms merges the whole run's histograms from each shard's,
// and sets the summary's percentiles from them.
func mergeHistograms(pat *results.Pattern, key string, parts []mergePart) error {
	wholeAPI, wholeAPIU, wholeNotify := results.NewHistogram(), results.NewHistogram(), newNotifyHist()
	hops := newHopHists()
	for _, p := range parts {
		h := p.res.Patterns[key].Histograms
		if err := mergeEncoded(wholeAPI, h.API); err != nil {
			return fmt.Errorf("%s: api histogram: %w", p.dir, err)
		}
		if err := mergeEncoded(wholeAPIU, h.APIUncorrected); err != nil {
			return fmt.Errorf("%s: api_uncorrected histogram: %w", p.dir, err)
		}
		if p.shard.Owner {
			if err := mergeEncoded(wholeNotify, h.Notify); err != nil {
				return fmt.Errorf("%s: notify histogram: %w", p.dir, err)
			}
			if err := hops.fromPattern(h.Hops); err != nil {
				return fmt.Errorf("%s: %w", p.dir, err)
			}
		}
	}
	s := &pat.Summary
	s.API, s.APIUncorrected, s.Notify = percentiles(wholeAPI), percentiles(wholeAPIU), percentiles(wholeNotify)
	pat.Histograms.API, pat.Histograms.APIUncorrected, pat.Histograms.Notify = encode(wholeAPI), encode(wholeAPIU), encode(wholeNotify)
	hops.set(pat)
	return nil
}

// sumSummaries adds the shards' summaries up: counts and rates summed,
// the ledger-wide counts and faults from the owner, CPU recomputed per
// 1,000 of all accepted.
func sumSummaries(pat *results.Pattern, key string, parts []mergePart) {
	s := &pat.Summary
	cpuSeconds := map[string]float64{}
	s.Drained = true
	s.CPUSecondsPer1k, s.PeakRSSMB = map[string]float64{}, map[string]float64{}
	for _, p := range parts {
		ps := p.res.Patterns[key].Summary
		s.Requests += ps.Requests
		s.Accepted += ps.Accepted
		s.AcceptedSync += ps.AcceptedSync
		s.AcceptedAsync += ps.AcceptedAsync
		s.OfferedRPS += ps.OfferedRPS
		s.AchievedRPS += ps.AchievedRPS
		s.GoodputRPS += ps.GoodputRPS
		s.LateSends += ps.LateSends
		s.Saturated = s.Saturated || ps.Saturated
		mergeValidity(s, &ps)
		s.Drops.Merge(ps.Drops)
		s.Delivered += ps.Delivered
		s.Lost += ps.Lost
		s.DeadLettered += ps.DeadLettered
		s.Indeterminate += ps.Indeterminate
		s.DeliveredUnaccepted += ps.DeliveredUnaccepted
		s.DrainS = max(s.DrainS, ps.DrainS)
		s.Drained = s.Drained && ps.Drained
		if p.shard.Owner {
			s.Duplicated += ps.Duplicated
			s.Deduplicated += ps.Deduplicated
			s.PeakLag = max(s.PeakLag, ps.PeakLag)
			pat.Faults = append(pat.Faults, p.res.Patterns[key].Faults...)
		}
		for name, per1k := range ps.CPUSecondsPer1k {
			if name != "total" {
				cpuSeconds[name] += per1k * float64(ps.Accepted) / 1000
			}
		}
		for name, mb := range ps.PeakRSSMB {
			s.PeakRSSMB[name] += mb
		}
	}
	s.Saturated = s.Saturated || s.AchievedRPS < 0.99*s.OfferedRPS
	total := 0.0
	for name, sec := range cpuSeconds {
		if s.Accepted > 0 {
			s.CPUSecondsPer1k[name] = sec / float64(s.Accepted) * 1000
			if name != "generator" { // total is the system under test
				total += s.CPUSecondsPer1k[name]
			}
		}
	}
	s.CPUSecondsPer1k["total"] = total
}

// mergeValidity makes s, the merged summary, as valid as its least valid
// shard: one machine that was bound makes the merged numbers suspect.
func mergeValidity(s, ps *results.Summary) {
	if s.Validity == "" {
		s.Validity = ps.Validity
	}
	s.BoundS = max(s.BoundS, ps.BoundS)
	s.SampleGaps += ps.SampleGaps
	s.Clamped += ps.Clamped
	s.NoID += ps.NoID
	s.LostUnknown = s.LostUnknown || ps.LostUnknown
	if ps.Validity != "" && ps.Validity != results.ValidityOK && (s.Validity == results.ValidityOK || s.ValidityReason == "") {
		s.Validity, s.ValidityReason = ps.Validity, ps.ValidityReason
		s.MachineBoundS, s.GeneratorBoundS = ps.MachineBoundS, ps.GeneratorBoundS
	}
}

func mergeEncoded(into *hdrhistogram.Histogram, enc string) error {
	if enc == "" {
		return nil
	}
	h, err := hdrcodec.Decode([]byte(enc))
	if err != nil {
		return err
	}
	if dropped := into.Merge(h); dropped > 0 {
		return fmt.Errorf("%d values outside the histogram's range", dropped)
	}
	return nil
}

func writeWindows(path string, start time.Time, ws []*hdrhistogram.Histogram) error {
	if len(ws) == 0 {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	l, err := results.NewIntervalLog(f, start)
	if err == nil {
		for i, h := range ws {
			if err = l.Write(h, start.Add(time.Duration(i)*time.Second), start.Add(time.Duration(i+1)*time.Second)); err != nil {
				break
			}
		}
	}
	return errors.Join(err, f.Close())
}
