package wire

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestIDSet(t *testing.T) {
	s := NewIDSet()
	for _, tc := range []struct {
		id        uint64
		wantFirst bool
		wantErr   error
	}{
		{1, true, nil},                 // the first id
		{1, false, nil},                // again: not first
		{65535, true, nil},             // the first page's last id
		{65536, true, nil},             // the next page's first: adjacent, one range
		{MaxID, true, nil},             // the last page
		{0, false, ErrIDRange},         // ids start at 1
		{MaxID + 1, false, ErrIDRange}, // beyond the ledger
	} {
		first, err := s.Add(tc.id)
		if first != tc.wantFirst || !errors.Is(err, tc.wantErr) {
			t.Errorf("Add(%d) = %v, %v; want %v, %v", tc.id, first, err, tc.wantFirst, tc.wantErr)
		}
	}
	if got, want := fmt.Sprint(s.Ranges()), fmt.Sprint(Ranges{{1, 1}, {65535, 65536}, {MaxID, MaxID}}); got != want {
		t.Errorf("Ranges() = %s, want %s", got, want)
	}
	if !s.Contains(65536) || s.Contains(2) || s.Contains(0) || s.Contains(MaxID+1) {
		t.Error("Contains disagrees with Add")
	}
	if got := NewIDSet().Ranges(); got == nil || len(got) != 0 {
		t.Errorf("empty set's Ranges() = %#v, want Ranges{}", got)
	}
}

func TestIDSetConcurrentAddsOneFirstEach(t *testing.T) {
	s := NewIDSet()
	var firsts [4]int
	var wg sync.WaitGroup
	for g := range firsts {
		wg.Go(func() {
			for id := uint64(1); id <= 200_000; id++ {
				if first, _ := s.Add(id); first {
					firsts[g]++
				}
			}
		})
	}
	wg.Wait()
	if n := firsts[0] + firsts[1] + firsts[2] + firsts[3]; n != 200_000 {
		t.Errorf("first adds: got %d, want 200000", n)
	}
	if got := s.Ranges(); len(got) != 1 || got.Count() != 200_000 {
		t.Errorf("Ranges() = %v, want [[1,200000]]", got)
	}
}
