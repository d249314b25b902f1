package ledger

import (
	"path/filepath"
	"testing"

	"github.com/commbench/commbench/targets/wire"
)

// BenchmarkRecordJournal compares Record in memory with Record journalled
// to a file (one write(2) per first delivery).
func BenchmarkRecordJournal(b *testing.B) {
	for _, v := range []struct {
		name    string
		journal bool
	}{
		{"memory", false},
		{"journal", true},
	} {
		b.Run(v.name, func(b *testing.B) {
			l := New()
			if v.journal {
				var err error
				if l, err = Open(filepath.Join(b.TempDir(), "ledger.journal")); err != nil {
					b.Fatal(err)
				}
				defer l.Close()
			}
			b.ReportAllocs()
			id := uint64(0)
			for b.Loop() {
				id = id%wire.MaxID + 1
				l.Record(id, 0, 5_000_000)
			}
		})
	}
}
