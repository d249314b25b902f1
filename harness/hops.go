package harness

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
)

// The ledger's hops are results.json's: as many (this does not compile
// otherwise) and, TestHopNames checks, of the same names.
var _ [len(results.HopNames)]string = wire.HopNames

// hopHists are the whole run's hop histograms of one pattern, in
// results.HopNames order, in microseconds.
type hopHists [5]*hdrhistogram.Histogram

func newHopHists() hopHists {
	var h hopHists
	for i := range h {
		h[i] = hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	}
	return h
}

// fromSnapshot merges a ledger snapshot's hop histograms into h.
func (h hopHists) fromSnapshot(snap *wire.Snapshot) error {
	if snap == nil {
		return nil
	}
	for i, name := range results.HopNames {
		if err := mergeEncoded(h[i], snap.HopHists[name]); err != nil {
			return fmt.Errorf("ledger hop %s histogram: %w", name, err)
		}
	}
	return nil
}

// fromPattern merges a results.json pattern's hop histograms into h.
func (h hopHists) fromPattern(enc results.Hops[string]) error {
	for i, e := range enc.All() {
		if err := mergeEncoded(h[i], *e); err != nil {
			return fmt.Errorf("hop %s histogram: %w", results.HopNames[i], err)
		}
	}
	return nil
}

// set puts h into the pattern: the summary's hop percentiles and Traced,
// and the encoded histograms.
func (h hopHists) set(pat *results.Pattern) {
	sums, encs := pat.Summary.Hops.All(), pat.Histograms.Hops.All()
	pat.Summary.Traced = h[0].TotalCount()
	for i, hist := range h {
		if hist.TotalCount() > 0 {
			*sums[i] = results.HopPercentiles{P50: ms(hist.ValueAtQuantile(50)), P99: ms(hist.ValueAtQuantile(99)), Max: ms(hist.Max())}
		}
		*encs[i] = encode(hist)
	}
}

// MergeHopHists merges the hop histograms of several ledgers (replicas)
// into out, as ledger snapshots encode them.
func MergeHopHists(out *wire.Snapshot, snaps []*wire.Snapshot) error {
	h := newHopHists()
	for _, s := range snaps {
		if err := h.fromSnapshot(s); err != nil {
			return err
		}
	}
	out.HopHists = make(map[string]string, len(results.HopNames))
	for i, name := range results.HopNames {
		out.HopHists[name] = encode(h[i])
	}
	return nil
}
