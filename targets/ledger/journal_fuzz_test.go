package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/commbench/commbench/targets/wire"
)

// FuzzJournal opens a ledger on a journal a killed process (or a full or
// broken disk) left: it replays it or refuses it with an ErrJournal naming
// the file, and what it replays is a consistent ledger whose snapshot the
// harness can read.
func FuzzJournal(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.journal")
	l, err := Open(path)
	if err != nil {
		f.Fatal(err)
	}
	l.Record(1, 0, 3_000_000)
	l.RecordTrace(2, 1, Stamps{100_000, 200_000, 300_000, 400_000}, 4_000_000)
	l.Record(1, 0, 9_000_000)
	l.Deduplicated()
	l.DeadLetter(7)
	l.Interval()
	l.Record(3, 0, 1<<62)
	l.Close()
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)-10])                                     // a record cut short
	f.Add(append(append([]byte{}, seed...), seed[:recordSize]...)) // id 1's first delivery twice
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "ledger.journal")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := Open(path)
		if err != nil {
			if !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q: want an ErrJournal naming %s", err, path)
			}
			return
		}
		defer l.Close()
		snap, err := l.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if uint64(snap.Delivered) != snap.DeliveredIDs.Count() {
			t.Fatalf("delivered %d, ids %d", snap.Delivered, snap.DeliveredIDs.Count())
		}
		if _, err := snap.Histogram(); err != nil {
			t.Fatal(err)
		}
		if _, err := snap.HopHistograms(); err != nil {
			t.Fatal(err)
		}
		// It carries on from a record boundary.
		if _, err := l.Record(wire.MaxID, 0, 1); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size()%recordSize != 0 {
			t.Fatalf("journal of %v bytes after an append (%v)", fi.Size(), err)
		}
	})
}
