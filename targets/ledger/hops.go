package ledger

import "github.com/HdrHistogram/hdrhistogram-go"

// Stamps are the times, in Unix nanoseconds, at which a reaction passed
// each hop on its way to delivery; with the load generator's sent_at and
// the delivery time they split time-to-notify into hops. A zero stamp is
// missing: such a delivery is untraced.
type Stamps struct {
	APIIn         int64 // the reaction service received the request
	Handoff       int64 // it sent the sync call, or began the Kafka produce
	NotifIn       int64 // the notification service received it (HTTP) or fetched it (Kafka)
	ProviderStart int64 // the successful provider call got its slot and began
}

func (st Stamps) complete() bool {
	return st.APIIn > 0 && st.Handoff > 0 && st.NotifIn > 0 && st.ProviderStart > 0
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

// hopMicros are the hops of one delivery in microseconds; a negative hop
// (clocks of one machine, rounding) is 0, and a hop is at most the
// histogram's bound: a hop is part of time-to-notify, whose clamping is
// counted.
func hopMicros(sentAt int64, st Stamps, deliveredAt int64) [NumHops]int64 {
	at := [NumHops + 1]int64{sentAt, st.APIIn, st.Handoff, st.NotifIn, st.ProviderStart, deliveredAt}
	var us [NumHops]int64
	for i := range us {
		d := (at[i+1] - at[i]) / 1000
		us[i] = min(max(d, 0), HighestMicros)
	}
	return us
}

// recordHops records one traced first delivery; s.mu is held.
func (s *state) recordHops(sentAt int64, st Stamps, deliveredAt int64) {
	us := hopMicros(sentAt, st, deliveredAt)
	for i, h := range s.hops {
		_ = h.RecordValue(us[i]) // cannot fail: within the bounds
	}
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
		h, err := hdrhistogram.Decode([]byte(enc))
		if err != nil {
			return out, err
		}
		out[i] = h
	}
	return out, nil
}
