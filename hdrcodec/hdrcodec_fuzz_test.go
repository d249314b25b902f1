package hdrcodec

import (
	"errors"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func FuzzDecode(f *testing.F) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	for v := int64(1); v < 6e7; v = v*2 + 1 {
		_ = h.RecordValues(v, v%17+1)
	}
	f.Add(encode(f, h))
	f.Add(encode(f, hdrhistogram.New(1, 3600*1000*1000, 3)))
	f.Add(forge(1, 1<<62, 5))
	f.Add(forge(-5, 1000, 0))
	f.Fuzz(func(t *testing.T, enc []byte) {
		h, err := Decode(enc)
		if err != nil {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("error %v does not wrap ErrEncoding", err)
			}
			return
		}
		if n, _ := CountsLen(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures())); n > MaxCounts {
			t.Fatalf("decoded a histogram of %d counts", n)
		}
		// What readers do with a decoded histogram must not panic either.
		_ = h.ValueAtQuantile(99)
		_, _, _ = h.Max(), h.Min(), h.Mean()
		into := hdrhistogram.New(1, 60_000_000, 3)
		_ = into.Merge(h)
	})
}
