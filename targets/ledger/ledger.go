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
)

// Histogram bounds for time-to-notify, in microseconds: 1 µs to 1 hour with
// 3 significant digits. A value above the bound is recorded as the bound and
// counted in Clamped.
const (
	LowestMicros  = 1
	HighestMicros = 3600 * 1000 * 1000
	Digits        = 3
)

// MaxID is the largest reaction id the ledger can hold.
const MaxID = 1<<32 - 1

const (
	pageBits  = 16 // ids per page: 65,536, 8 KiB of bits
	pageWords = 1 << pageBits / 64
	pages     = (MaxID + 1) >> pageBits
)

type page [pageWords]uint64

// Ledger is one run's record of deliveries. The zero value is not usable:
// call New.
type Ledger struct {
	dir   []atomic.Pointer[page] // lazily allocated pages of the delivered bitset
	grow  sync.Mutex             // guards page allocation
	state *state
	swap  sync.RWMutex // Reset swaps state and dir under the write lock

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
	hops     [NumHops]*hdrhistogram.Histogram
	dead     map[uint64]struct{}
}

func newState() *state {
	s := &state{
		notify:   hdrhistogram.New(LowestMicros, HighestMicros, Digits),
		interval: hdrhistogram.New(LowestMicros, HighestMicros, Digits),
		dead:     make(map[uint64]struct{}),
	}
	for i := range s.hops {
		s.hops[i] = hdrhistogram.New(LowestMicros, HighestMicros, Digits)
	}
	return s
}

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{dir: make([]atomic.Pointer[page], pages), state: newState()}
}

// ErrIDRange is returned for an id of 0 or above MaxID.
var ErrIDRange = fmt.Errorf("reaction id out of the ledger's range 1..%d", uint64(MaxID))

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
	if id == 0 || id > MaxID {
		return false, ErrIDRange
	}
	l.swap.RLock()
	defer l.swap.RUnlock()
	p := l.page(id)
	bit := uint64(1) << (id & 63)
	old := atomic.OrUint64(&p[(id>>6)&(pageWords-1)], bit)
	s := l.state
	if old&bit != 0 {
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
	if id == 0 || id > MaxID {
		return false
	}
	l.swap.RLock()
	defer l.swap.RUnlock()
	p := l.dir[id>>pageBits].Load()
	if p == nil {
		return false
	}
	return atomic.LoadUint64(&p[(id>>6)&(pageWords-1)])&(1<<(id&63)) != 0
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

func (l *Ledger) page(id uint64) *page {
	slot := &l.dir[id>>pageBits]
	if p := slot.Load(); p != nil {
		return p
	}
	l.grow.Lock()
	defer l.grow.Unlock()
	if p := slot.Load(); p != nil {
		return p
	}
	p := new(page)
	slot.Store(p)
	return p
}

// Reset empties the ledger for a new run, and its journal with it.
func (l *Ledger) Reset() error {
	l.swap.Lock()
	defer l.swap.Unlock()
	for i := range l.dir {
		l.dir[i].Store(nil)
	}
	l.state = newState()
	if l.journal != nil {
		// O_APPEND: the next write goes to the new end, 0.
		if err := l.journal.f.Truncate(0); err != nil {
			return fmt.Errorf("%w %s: truncate: %w", ErrJournal, l.journal.path, err)
		}
	}
	return nil
}

// Counts are the ledger's totals.
type Counts struct {
	Delivered    int64 `json:"delivered"`
	Duplicates   int64 `json:"duplicates"`    // delivered to the provider more than once
	Deduplicated int64 `json:"deduplicated"`  // redeliveries caught before the provider
	DeadLettered int64 `json:"dead_lettered"` // given up on after the retries
	Clamped      int64 `json:"clamped"`       // time-to-notify above the histogram's bound
	Untraced     int64 `json:"untraced"`      // first deliveries without complete hop stamps: not in the hop histograms
}

// Counts returns the totals so far; it is cheap enough to poll every second.
func (l *Ledger) Counts() Counts {
	l.swap.RLock()
	defer l.swap.RUnlock()
	s := l.state
	s.mu.Lock()
	dead := int64(len(s.dead))
	s.mu.Unlock()
	return Counts{
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
	fresh := hdrhistogram.New(LowestMicros, HighestMicros, Digits)
	s.mu.Lock()
	h := s.interval
	s.interval = fresh
	if l.journal != nil {
		_ = l.journal.write(recMark, 0, 0, 0, Stamps{}) // lost, a restart puts more in the open interval
	}
	s.mu.Unlock()
	return h
}

// Snapshot is the whole ledger in a compact form: delivered ids as ranges,
// so that a million ids in sequence take a few bytes.
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

// Snapshot copies the ledger.
func (l *Ledger) Snapshot() (*Snapshot, error) {
	l.swap.RLock()
	defer l.swap.RUnlock()
	s := l.state
	snap := &Snapshot{}
	var b RangeBuilder
	for i := range l.dir {
		p := l.dir[i].Load()
		if p == nil {
			continue
		}
		base := uint64(i) << pageBits
		for w := range p {
			word := atomic.LoadUint64(&p[w])
			for word != 0 {
				bit := uint64(trailingZeros(word))
				b.Add(base + uint64(w)*64 + bit)
				word &= word - 1
			}
		}
	}
	snap.DeliveredIDs = b.Ranges()
	s.mu.Lock()
	enc, err := s.notify.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	snap.HopHists = make(map[string]string, NumHops)
	for i, h := range s.hops {
		if err != nil {
			break
		}
		var b []byte
		b, err = h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		snap.HopHists[HopNames[i]] = string(b)
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
	snap.DeadLetteredIDs = FromIDs(dead)
	snap.Counts = Counts{
		Delivered:    s.delivered.Load(),
		Duplicates:   s.duplicates.Load(),
		Deduplicated: s.deduplicated.Load(),
		DeadLettered: int64(len(dead)),
		Clamped:      s.clamped.Load(),
		Untraced:     s.untraced.Load(),
	}
	return snap, nil
}

// Histogram decodes the snapshot's time-to-notify histogram.
func (s *Snapshot) Histogram() (*hdrhistogram.Histogram, error) {
	return hdrhistogram.Decode([]byte(s.NotifyHist))
}
