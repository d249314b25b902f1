package ledger

import "github.com/commbench/commbench/targets/wire"

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

// hopMicros are the hops of one delivery in microseconds; a negative hop
// (clocks of one machine, rounding) is 0, and a hop is at most the
// histogram's bound: a hop is part of time-to-notify, whose clamping is
// counted.
func hopMicros(sentAt int64, st Stamps, deliveredAt int64) [wire.NumHops]int64 {
	at := [wire.NumHops + 1]int64{sentAt, st.APIIn, st.Handoff, st.NotifIn, st.ProviderStart, deliveredAt}
	var us [wire.NumHops]int64
	for i := range us {
		d := (at[i+1] - at[i]) / 1000
		us[i] = min(max(d, 0), wire.HighestMicros)
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
