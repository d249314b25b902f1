package results_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/results/resultstest"
)

func FuzzRead(f *testing.F) {
	for _, b := range resultstest.Seeds(f, "..") {
		f.Add(b)
	}
	f.Add([]byte(`{"schema":1,"patterns":{"sync":null}}`))
	f.Add([]byte(`{"schema":1,"order":["../x"],"patterns":{"../x":{}}}`))
	f.Add([]byte(`{"schema":1,"patterns":{"sync":{"series":{"t":[1,2],"offered_rps":[1]}}}}`))
	f.Add([]byte(`{"schema":1,"patterns":{"sync":{"histograms":{"api":"HISTFAAAAB542pNpmSzMwMBgAAAIsgGh"}}}}`))
	f.Add([]byte(strings.Repeat("[", 20000)))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := resultstest.WriteRun(t, b)
		r, err := results.Read(dir)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		// What Read accepts, Write writes and Read reads again.
		_ = r.Keys()
		out := t.TempDir()
		if err := r.Write(out); err != nil {
			t.Fatal(err)
		}
		if _, err := results.Read(out); err != nil {
			t.Fatalf("Read accepted a file whose rewrite it refuses: %v", err)
		}
	})
}

func FuzzReadIntervalLog(f *testing.F) {
	var buf bytes.Buffer
	start := time.Date(2026, 11, 30, 5, 27, 0, 770_000_000, time.UTC)
	l, err := results.NewIntervalLog(&buf, start)
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		h := results.NewHistogram()
		for v := int64(1); v < 5e6; v = v*3 + int64(i) {
			_ = h.RecordValue(v)
		}
		from := start.Add(time.Duration(i) * time.Second)
		if err := l.Write(h, from, from.Add(time.Second)); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(buf.Bytes())
	f.Add([]byte("Tag=x\n"))
	f.Add([]byte("#[StartTime: 1e300 (seconds since epoch)]\n0.1,1,0,HISTFAAAAB542pNpmSzMwMBgAAAIsgGh\n"))
	f.Add([]byte("-1,NaN,0,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := results.ReadIntervalLog(bytes.NewReader(b), 100)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "interval log") {
				t.Fatalf("error %q does not say it is the interval log", err)
			}
			return
		}
		if len(hs) > 100 {
			t.Fatalf("read %d intervals, above the limit 100", len(hs))
		}
		for _, h := range hs {
			if h.EndTimeMs() < h.StartTimeMs() || h.StartTimeMs() < 0 {
				t.Fatalf("interval from %d to %d ms", h.StartTimeMs(), h.EndTimeMs())
			}
		}
	})
}
