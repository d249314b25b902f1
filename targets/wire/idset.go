package wire

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// IDSet is a set of reaction ids 1..MaxID: a bitset in pages of 65,536 ids
// (8 KiB), each allocated when first used, behind a directory of 512 KiB.
// The ledger keeps the ids delivered in one, the load generator the ids it
// saw accepted; both send them as Ranges.
//
// Add, Contains and Ranges are safe for concurrent use; Add and Contains do
// not allocate once an id's page exists. Ranges sees every Add that
// returned before it began, and maybe some that ran alongside.
type IDSet struct {
	dir  []atomic.Pointer[idPage]
	grow sync.Mutex // guards page allocation
}

const (
	idPageBits  = 16 // ids per page: 65,536
	idPageWords = 1 << idPageBits / 64
	idPages     = (MaxID + 1) >> idPageBits
)

type idPage [idPageWords]uint64

// NewIDSet returns an empty set.
func NewIDSet() *IDSet { return &IDSet{dir: make([]atomic.Pointer[idPage], idPages)} }

// Add adds id and reports whether it was not in the set already. An id of
// 0 or above MaxID is refused with ErrIDRange.
func (s *IDSet) Add(id uint64) (first bool, err error) {
	if id == 0 || id > MaxID {
		return false, ErrIDRange
	}
	bit := uint64(1) << (id & 63)
	old := atomic.OrUint64(&s.page(id)[(id>>6)&(idPageWords-1)], bit)
	return old&bit == 0, nil
}

// Contains reports whether id is in the set.
func (s *IDSet) Contains(id uint64) bool {
	if id == 0 || id > MaxID {
		return false
	}
	p := s.dir[id>>idPageBits].Load()
	return p != nil && atomic.LoadUint64(&p[(id>>6)&(idPageWords-1)])&(1<<(id&63)) != 0
}

// Ranges returns the set's ids as ranges; never nil.
func (s *IDSet) Ranges() Ranges {
	var b RangeBuilder
	for i := range s.dir {
		p := s.dir[i].Load()
		if p == nil {
			continue
		}
		base := uint64(i) << idPageBits
		for w := range p {
			word := atomic.LoadUint64(&p[w])
			for word != 0 {
				b.Add(base | uint64(w)<<6 | uint64(bits.TrailingZeros64(word)))
				word &= word - 1
			}
		}
	}
	return b.Ranges()
}

func (s *IDSet) page(id uint64) *idPage {
	slot := &s.dir[id>>idPageBits]
	if p := slot.Load(); p != nil {
		return p
	}
	s.grow.Lock()
	defer s.grow.Unlock()
	if p := slot.Load(); p != nil {
		return p
	}
	p := new(idPage)
	slot.Store(p)
	return p
}
