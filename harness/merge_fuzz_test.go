package harness_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

// hlogOf is an interval log of n one-second windows from start.
func hlogOf(tb testing.TB, start time.Time, n int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	l, err := results.NewIntervalLog(&buf, start)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		h := hist()
		for v := int64(100); v < 5e6; v = v*2 + int64(i) {
			h.RecordValue(v)
		}
		from := start.Add(time.Duration(i) * time.Second)
		if err := l.Write(h, from, from.Add(time.Second)); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

// writeShard writes a shard's run folder: results.json as given, every
// pattern's three interval logs, and shard.json unless it is empty.
func writeShard(tb testing.TB, dir string, res, hlog, shard []byte) {
	tb.Helper()
	var r results.Results
	_ = json.Unmarshal(res, &r)
	files := map[string][]byte{"results.json": res}
	for key := range r.Patterns {
		if strings.ContainsAny(key, `/\`) || strings.HasPrefix(key, ".") {
			continue // Read refuses it; do not write outside the folder
		}
		for _, name := range []string{"-api.hlog", "-api-uncorrected.hlog", "-notify.hlog"} {
			files[key+name] = hlog
		}
	}
	if len(shard) > 0 {
		files[harness.ShardFile] = shard
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// FuzzMerge merges a shard's run folder from elsewhere (a real run's
// results.json changed by ops, its interval logs and shard.json as the
// fuzzer makes them) with a real shard, as 'commbench merge' does: an
// error that says it is merge's and names the folder or the pattern it is
// about, or a merged folder it can read again, and nothing written outside
// it.
func FuzzMerge(f *testing.F) {
	seeds := resultstest.Seeds(f, "..")
	var r results.Results
	if err := json.Unmarshal(seeds[0], &r); err != nil {
		f.Fatal(err)
	}
	hlog := hlogOf(f, r.Run.Started, 4)
	f.Add(uint8(0), []byte{}, hlog, []byte(`{"index":1,"count":2,"owns_ledger":false}`))
	f.Add(uint8(0), []byte{0, 9, 0x10}, hlog, []byte{})
	f.Add(uint8(0), []byte{}, hlogOf(f, r.Run.Started.Add(1000*time.Hour), 2), []byte(`{"index":1,"count":2}`))
	f.Add(uint8(0), []byte{}, hlog, []byte(`{"index":0,"count":1000000000000}`))
	f.Add(uint8(0), []byte{}, []byte("0.1,1,0,HISTFAAAAB542pNpmSzMwMBgAAAIsgGh\n"), []byte(`{"index":-1,"count":2}`))
	owner := filepath.Join(f.TempDir(), "owner")
	writeShard(f, owner, seeds[0], hlog, []byte(`{"index":0,"count":2,"owns_ledger":true}`))
	f.Fuzz(func(t *testing.T, seed uint8, ops, hlog, shard []byte) {
		root := t.TempDir()
		var res results.Results
		_ = json.Unmarshal(seeds[int(seed)%len(seeds)], &res)
		resultstest.Mutate(&res, ops)
		b, err := json.Marshal(&res)
		if err != nil {
			t.Fatal(err)
		}
		other := filepath.Join(root, "other")
		writeShard(t, other, b, hlog, shard)
		out := filepath.Join(root, "merged")
		if _, err := harness.Merge([]string{owner, other}, out); err != nil {
			msg := err.Error()
			named := strings.Contains(msg, other) || strings.Contains(msg, owner) || strings.HasPrefix(msg, "merge ") // "merge <pattern>: "
			if !strings.HasPrefix(msg, "merge") || !named {
				t.Fatalf("error %q: want merge's, naming a folder or the pattern", msg)
			}
			return
		}
		entries, _ := os.ReadDir(root)
		if len(entries) != 2 {
			t.Fatalf("merge wrote beside its folder: %v", entries)
		}
		if _, err := results.Read(out); err != nil {
			t.Fatalf("merge wrote a results.json it cannot read: %v", err)
		}
	})
}

func TestMergeRefusesBadShardFile(t *testing.T) {
	seeds := resultstest.Seeds(t, "..")
	for _, shard := range []string{
		`{"index":0,"count":1000000000000}`, // merge listed every missing shard: 10¹² of them
		`{"index":-1,"count":2}`,
		`{"index":2,"count":2}`,
	} {
		dir := filepath.Join(t.TempDir(), "shard")
		writeShard(t, dir, seeds[0], nil, []byte(shard))
		_, err := harness.Merge([]string{dir}, filepath.Join(t.TempDir(), "out"))
		if err == nil || !strings.Contains(err.Error(), harness.ShardFile) {
			t.Errorf("shard.json %s: got %v, want an error naming %s", shard, err, harness.ShardFile)
		}
	}
}

func TestMergeOrderNotInPatterns(t *testing.T) {
	seeds := resultstest.Seeds(t, "..")
	var r results.Results
	if err := json.Unmarshal(seeds[0], &r); err != nil {
		t.Fatal(err)
	}
	r.Order = append(r.Order, "ghost") // in the order, not in the patterns
	b, _ := json.Marshal(&r)
	dir := filepath.Join(t.TempDir(), "run")
	writeShard(t, dir, b, nil, nil)
	if _, err := harness.Merge([]string{dir}, filepath.Join(t.TempDir(), "out")); err == nil || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("got %v, want an error naming the key ghost", err)
	}
}
