package wire

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/hdrcodec"
)

// Histogram bounds, in microseconds, of time-to-notify and of the hops: 1 µs
// to 1 hour with 3 significant digits. Every histogram on the wire has them.
const (
	LowestMicros  = 1
	HighestMicros = 3600 * 1000 * 1000
	Digits        = 3
)

// MaxID is the largest reaction id the ledger can hold; ids start at 1.
const MaxID = 1<<32 - 1

// ErrIDRange is returned for an id of 0 or above MaxID.
var ErrIDRange = fmt.Errorf("reaction id out of the ledger's range 1..%d", uint64(MaxID))

// Counts are the ledger's totals.
type Counts struct {
	Delivered    int64 `json:"delivered"`
	Duplicates   int64 `json:"duplicates"`    // delivered to the provider more than once
	Deduplicated int64 `json:"deduplicated"`  // redeliveries caught before the provider
	DeadLettered int64 `json:"dead_lettered"` // given up on after the retries
	Clamped      int64 `json:"clamped"`       // time-to-notify above the histogram's bound
	Untraced     int64 `json:"untraced"`      // first deliveries without complete hop stamps: not in the hop histograms
}

// Snapshot is the answer to GET PathLedger: the whole ledger in a compact
// form, delivered ids as ranges, so that a million ids in sequence take a
// few bytes.
type Snapshot struct {
	Counts
	DeliveredIDs    Ranges `json:"delivered_ids"`
	DeadLetteredIDs Ranges `json:"dead_lettered_ids"`
	// NotifyHist is the time-to-notify histogram in microseconds, in the
	// HdrHistogram V2 compressed encoding (base64).
	NotifyHist string `json:"notify_hist"`
	// HopHists are the hop histograms of the traced first deliveries,
	// keyed by HopNames, encoded like NotifyHist.
	HopHists map[string]string `json:"hop_hists"`
}

// Histogram decodes the snapshot's time-to-notify histogram.
func (s *Snapshot) Histogram() (*hdrhistogram.Histogram, error) {
	h, err := hdrcodec.Decode([]byte(s.NotifyHist))
	if err != nil {
		return nil, fmt.Errorf("notify_hist: %w", err)
	}
	return h, nil
}

// HopHistograms decodes the snapshot's hop histograms, in HopNames order;
// a hop missing from the snapshot (a ledger older than tracing) is an
// empty histogram.
func (s *Snapshot) HopHistograms() ([NumHops]*hdrhistogram.Histogram, error) {
	var out [NumHops]*hdrhistogram.Histogram
	for i, name := range HopNames {
		enc, ok := s.HopHists[name]
		if !ok || enc == "" {
			out[i] = hdrhistogram.New(LowestMicros, HighestMicros, Digits)
			continue
		}
		h, err := hdrcodec.Decode([]byte(enc))
		if err != nil {
			return out, fmt.Errorf("hop_hists.%s: %w", name, err)
		}
		out[i] = h
	}
	return out, nil
}

// LedgerInterval is the answer to GET PathLedgerInterval: the counts now
// and the time-to-notify histogram of the deliveries since the previous
// call.
type LedgerInterval struct {
	Counts
	NotifyHist string `json:"notify_hist"` // HdrHistogram V2 compressed, base64, microseconds
}

// The hops, in the order a reaction takes them; HopNames are their keys in
// Snapshot.HopHists and in results.json.
const (
	HopAPI        = iota // sent_at → t_api_in: the network and queueing into the reaction service
	HopHandoff           // t_api_in → t_handoff: validation, the store, (hybrid's fallback: the failed sync try)
	HopQueue             // t_handoff → t_notif_in: the wire (sync), or produce, ack, broker and fetch (Kafka)
	HopProcessing        // t_notif_in → t_provider_start: dedup, retries, waiting for a provider slot
	HopProvider          // t_provider_start → delivered: the successful provider call
	NumHops
)

// HopNames are the hops' keys, in order.
var HopNames = [NumHops]string{"api", "handoff", "queue", "processing", "provider"}

// HopInterval is a hop's counters (cumulative since the process started)
// and the latency histogram of the calls it finished since the previous
// GET of PathHopInterval.
type HopInterval struct {
	Calls    int64 `json:"calls"`    // calls finished: succeeded, failed or rejected
	Errors   int64 `json:"errors"`   // calls that failed, rejected ones included
	Rejected int64 `json:"rejected"` // calls failed fast by an open circuit breaker
	// Breaker is the hop's circuit breaker state now ("closed", "open",
	// "half-open"), "" without one; Opened counts its trips.
	Breaker string `json:"breaker,omitempty"`
	Opened  int64  `json:"breaker_opened"`
	// Hist is the calls' latency in microseconds, HdrHistogram V2
	// compressed and base64 (hdrhistogram.Decode reads it).
	Hist string `json:"hist"`
}
