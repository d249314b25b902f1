package ledger

import (
	"sync"
	"testing"

	"github.com/commbench/commbench/targets/wire"
)

// The ledger's hot path: Record (and RecordTrace, with the hop stamps) once
// per delivery, Delivered once per notification to skip duplicates. Run
// them as go test -run XXX -bench . -benchmem ./targets/ledger/

func BenchmarkRecord(b *testing.B) {
	l := New()
	b.ReportAllocs()
	id := uint64(0)
	for b.Loop() {
		id++
		l.Record(id, 0, 5_000_000)
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	l := New()
	b.ReportAllocs()
	var next atomicCounter
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Record(next.inc(), 0, 5_000_000)
		}
	})
}

func BenchmarkDelivered(b *testing.B) {
	l := New()
	l.Record(42, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		l.Delivered(42)
	}
}

type atomicCounter struct {
	mu sync.Mutex
	n  uint64
}

func (c *atomicCounter) inc() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.n > wire.MaxID {
		c.n = 1
	}
	return c.n
}

func BenchmarkRecordTrace(b *testing.B) {
	l := New()
	b.ReportAllocs()
	id := uint64(0)
	for b.Loop() {
		id++
		l.RecordTrace(id, 0, Stamps{1_000_000, 2_000_000, 3_000_000, 4_000_000}, 5_000_000)
	}
}
