package reaction

import (
	"sync"
	"time"

	"github.com/commbench/commbench/targets/wire"
)

const shards = 64

// store is the reaction service's database: an in-memory map in shards, so
// that writers rarely contend, with an optional cost per write that stands
// for a real database's round trip.
type store struct {
	cost   time.Duration
	shards [shards]struct {
		sync.Mutex
		m map[uint64]wire.Reaction
	}
}

func newStore(cost time.Duration) *store {
	s := &store{cost: cost}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]wire.Reaction)
	}
	return s
}

// put records r; it reports false when r's id was there already (a client's
// retry), in which case the stored reaction is kept.
func (s *store) put(r *wire.Reaction) bool {
	if s.cost > 0 {
		time.Sleep(s.cost)
	}
	sh := &s.shards[r.ID%shards]
	sh.Lock()
	defer sh.Unlock()
	if _, ok := sh.m[r.ID]; ok {
		return false
	}
	sh.m[r.ID] = *r
	return true
}

func (s *store) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.Lock()
		n += len(sh.m)
		sh.Unlock()
	}
	return n
}
