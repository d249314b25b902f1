package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/commbench/commbench/targets/wire"
)

func TestJournalReplaysAfterTheProcessIsGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.journal")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Record(1, 0, 3_000_000)
	l.RecordTrace(2, 0, Stamps{100_000, 200_000, 300_000, 400_000}, 4_000_000) // traced: hops replayed too
	l.Record(1, 0, 9_000_000)                                                  // a duplicate
	l.Deduplicated()
	l.DeadLetter(7)
	l.Interval() // the sampler read 1 and 2
	l.Record(3, 0, 5_000_000)
	want, _ := l.Snapshot()
	// No Close: a killed process closes nothing.

	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	got, err := back.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if got.Counts != want.Counts {
		t.Errorf("counts: got %+v, want %+v", got.Counts, want.Counts)
	}
	if got.DeliveredIDs.Count() != 3 || !got.DeadLetteredIDs.Contains(7) {
		t.Errorf("ids: got delivered %v dead %v, want 1-3 and 7", got.DeliveredIDs, got.DeadLetteredIDs)
	}
	if got.NotifyHist != want.NotifyHist {
		t.Error("time-to-notify histogram differs after the replay")
	}
	for _, name := range wire.HopNames {
		if got.HopHists[name] != want.HopHists[name] {
			t.Errorf("hop %s histogram differs after the replay", name)
		}
	}
	if got.Untraced != 2 {
		t.Errorf("untraced after the replay: got %d, want 2 (ids 1 and 3)", got.Untraced)
	}
	if h := back.Interval(); h.TotalCount() != 1 || h.Max() < 4_990 {
		t.Errorf("open interval after the replay: %d values, max %d µs; want only id 3's 5,000 µs", h.TotalCount(), h.Max())
	}
	// It carries on: a redelivery of 2 is a duplicate, 4 is new.
	if first, _ := back.Record(2, 0, 1); first {
		t.Error("id 2 delivered again counted as a first delivery after the replay")
	}
	back.Record(4, 0, 1)
	if c := back.Counts(); c.Delivered != 4 || c.Duplicates != 2 {
		t.Errorf("after the replay: %+v, want 4 delivered, 2 duplicates", c)
	}
}

func TestJournalReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.journal")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Record(1, 0, 1)
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	l.Record(2, 0, 1)
	l.Close()
	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if back.Delivered(1) || !back.Delivered(2) || back.Counts().Delivered != 1 {
		t.Errorf("got %+v, want only id 2, from after the reset", back.Counts())
	}
}

func TestJournalRefusesAForeignFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-journal")
	os.WriteFile(path, []byte("this is not a commbench ledger journal, not at all."), 0o644)
	if _, err := Open(path); !errors.Is(err, ErrJournal) {
		t.Errorf("got %v, want ErrJournal", err)
	}
}

func TestJournalDropsAPartialLastRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.journal")
	l, _ := Open(path)
	l.Record(1, 0, 1)
	l.Close()
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{recDeliver, journalTag, 0}) // a record cut short
	f.Close()
	back, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	back.Record(2, 0, 1)
	back.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if c := again.Counts(); c.Delivered != 2 {
		t.Errorf("got %+v, want 2 delivered", c)
	}
}
