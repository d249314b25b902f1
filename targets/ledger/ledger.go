// Package ledger records, in the notification service, which reactions were
// delivered, which were delivered more than once, which were dead-lettered,
// and how long each took from the load generator's send to delivery.
//
// The load generator reconciles what it saw accepted against a Snapshot of
// the ledger: accepted but never delivered is lost. Record is safe for
// concurrent use and does not allocate. A ledger made with Open keeps a
// journal file too, so that it survives the death of its process.
package ledger

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/commbench/commbench/targets/wire"
)

// Ledger is one run's record of deliveries. The zero value is not usable:
// call New.
type Ledger struct {
	ids   *wire.IDSet // the delivered ids
	state *state
	swap  sync.RWMutex // Reset swaps state and ids under the write lock

	journal *journal // nil: in memory only (New)
}

type state struct {
	delivered    atomic.Int64
	duplicates   atomic.Int64
	deduplicated atomic.Int64
	clamped      atomic.Int64
	untraced     atomic.Int64

	mu       sync.Mutex // guards the histograms and the dead letters
	notify   *hdrhistogram.Histogram
	interval *hdrhistogram.Histogram
	hops     [wire.NumHops]*hdrhistogram.Histogram
	dead     map[uint64]struct{}
}

func newState() *state {
	s := &state{
		notify:   hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits),
		interval: hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits),
		dead:     make(map[uint64]struct{}),
	}
	for i := range s.hops {
		s.hops[i] = hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	}
	return s
}

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{ids: wire.NewIDSet(), state: newState()}
}

// Record notes that reaction id, sent at sentAt, was delivered at
// deliveredAt (both Unix nanoseconds), without hop stamps: the delivery is
// counted as untraced. See RecordTrace.
func (l *Ledger) Record(id uint64, sentAt, deliveredAt int64) (first bool, err error) {
	return l.RecordTrace(id, sentAt, Stamps{}, deliveredAt)
}

// RecordTrace notes that reaction id, sent at sentAt, was delivered at
// deliveredAt (both Unix nanoseconds), with the hop stamps st taken on its
// way. It returns false, and counts a duplicate, when id had been delivered
// before; only a first delivery goes into the time-to-notify histogram and
// the hop histograms (a delivery whose stamps are incomplete is counted in
// Untraced instead of the hops). With a journal (Open), the delivery is in
// the journal before RecordTrace returns; err wraps ErrJournal when it could
// not be written (the delivery is counted in memory all the same).
func (l *Ledger) RecordTrace(id uint64, sentAt int64, st Stamps, deliveredAt int64) (first bool, err error) {
	l.swap.RLock()
	defer l.swap.RUnlock()
	first, err = l.ids.Add(id)
	if err != nil {
		return false, err
	}
	s := l.state
	if !first {
		s.duplicates.Add(1)
		if l.journal != nil {
			return false, l.journal.write(recDuplicate, id, sentAt, deliveredAt, Stamps{})
		}
		return false, nil
	}
	s.delivered.Add(1)
	us := l.micros(sentAt, deliveredAt)
	traced := st.complete()
	if !traced {
		s.untraced.Add(1)
	}
	s.mu.Lock()
	// The journal record is written under s.mu, so that its order against
	// Interval's marks is the order of the histograms.
	if l.journal != nil {
		err = l.journal.write(recDeliver, id, sentAt, deliveredAt, st)
	}
	_ = s.notify.RecordValue(us) // cannot fail: us is within the bounds
	_ = s.interval.RecordValue(us)
	if traced {
		s.recordHops(sentAt, st, deliveredAt)
	}
	s.mu.Unlock()
	return true, err
}

// Delivered reports whether id has been delivered.
func (l *Ledger) Delivered(id uint64) bool {
	l.swap.RLock()
	defer l.swap.RUnlock()
	return l.ids.Contains(id)
}

// Deduplicated counts a delivery that was skipped because the id had been
// delivered already (a redelivered Kafka message, a hybrid fallback after a
// sync call that did succeed).
func (l *Ledger) Deduplicated() {
	l.swap.RLock()
	l.state.deduplicated.Add(1)
	if l.journal != nil {
		_ = l.journal.write(recDeduplicated, 0, 0, 0, Stamps{}) // a count: losing one is not losing a delivery
	}
	l.swap.RUnlock()
}

// DeadLetter notes that id was given up on and sent to the dead-letter topic.
func (l *Ledger) DeadLetter(id uint64) {
	l.swap.RLock()
	s := l.state
	s.mu.Lock()
	s.dead[id] = struct{}{}
	if l.journal != nil {
		// DeadLetter has no error to return; a failed write shows as a
		// dead letter missing after a restart, i.e. as lost: not hidden.
		_ = l.journal.write(recDead, id, 0, 0, Stamps{})
	}
	s.mu.Unlock()
	l.swap.RUnlock()
}

// Reset empties the ledger for a new run, and its journal with it.
func (l *Ledger) Reset() error {
	l.swap.Lock()
	defer l.swap.Unlock()
	l.ids = wire.NewIDSet()
	l.state = newState()
	if l.journal != nil {
		// O_APPEND: the next write goes to the new end, 0.
		if err := l.journal.f.Truncate(0); err != nil {
			return fmt.Errorf("%w %s: truncate: %w", ErrJournal, l.journal.path, err)
		}
	}
	return nil
}

// Counts returns the totals so far; it is cheap enough to poll every second.
func (l *Ledger) Counts() wire.Counts {
	l.swap.RLock()
	defer l.swap.RUnlock()
	s := l.state
	s.mu.Lock()
	dead := int64(len(s.dead))
	s.mu.Unlock()
	return wire.Counts{
		Delivered:    s.delivered.Load(),
		Duplicates:   s.duplicates.Load(),
		Deduplicated: s.deduplicated.Load(),
		DeadLettered: dead,
		Clamped:      s.clamped.Load(),
		Untraced:     s.untraced.Load(),
	}
}

// Interval returns the time-to-notify histogram of the deliveries since the
// previous call (or since the start) and starts a new interval. One caller
// (the load generator's sampler) should own it.
func (l *Ledger) Interval() *hdrhistogram.Histogram {
	l.swap.RLock()
	defer l.swap.RUnlock()
	s := l.state
	fresh := hdrhistogram.New(wire.LowestMicros, wire.HighestMicros, wire.Digits)
	s.mu.Lock()
	h := s.interval
	s.interval = fresh
	if l.journal != nil {
		_ = l.journal.write(recMark, 0, 0, 0, Stamps{}) // lost, a restart puts more in the open interval
	}
	s.mu.Unlock()
	return h
}

// Snapshot copies the ledger.
func (l *Ledger) Snapshot() (*wire.Snapshot, error) {
	l.swap.RLock()
	defer l.swap.RUnlock()
	s := l.state
	snap := &wire.Snapshot{}
	snap.DeliveredIDs = l.ids.Ranges()
	s.mu.Lock()
	enc, err := s.notify.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	snap.HopHists = make(map[string]string, wire.NumHops)
	for i, h := range s.hops {
		if err != nil {
			break
		}
		var b []byte
		b, err = h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		snap.HopHists[wire.HopNames[i]] = string(b)
	}
	dead := make([]uint64, 0, len(s.dead))
	for id := range s.dead {
		dead = append(dead, id)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("encode time-to-notify or hop histogram: %w", err)
	}
	snap.NotifyHist = string(enc)
	snap.DeadLetteredIDs = wire.FromIDs(dead)
	snap.Counts = wire.Counts{
		Delivered:    s.delivered.Load(),
		Duplicates:   s.duplicates.Load(),
		Deduplicated: s.deduplicated.Load(),
		DeadLettered: int64(len(dead)),
		Clamped:      s.clamped.Load(),
		Untraced:     s.untraced.Load(),
	}
	return snap, nil
}
