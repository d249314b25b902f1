package wire

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestRanges(t *testing.T) {
	tests := []struct {
		name string
		have []uint64
		want Ranges
	}{
		{"empty", nil, Ranges{}},
		{"one", []uint64{5}, Ranges{{5, 5}}},
		{"run with a gap, unsorted, repeated", []uint64{3, 1, 2, 2, 7, 8}, Ranges{{1, 3}, {7, 8}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromIDs(tt.have)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			for _, id := range tt.have {
				if !got.Contains(id) {
					t.Errorf("Contains(%d) = false", id)
				}
			}
			if got.Contains(4) {
				t.Error("Contains(4) = true")
			}
		})
	}
}

func TestRangeUnmarshalRejectsInverted(t *testing.T) {
	var r Range
	if err := json.Unmarshal([]byte("[5,1]"), &r); err == nil {
		t.Error("got nil error for [5,1]")
	}
}

func TestRangesMinusAndUnion(t *testing.T) {
	tests := []struct {
		name        string
		a, b        Ranges
		minus, both Ranges
	}{
		{"disjoint", Ranges{{1, 5}}, Ranges{{7, 9}}, Ranges{{1, 5}}, Ranges{{1, 5}, {7, 9}}},
		{"hole in the middle", Ranges{{1, 10}}, Ranges{{4, 6}}, Ranges{{1, 3}, {7, 10}}, Ranges{{1, 10}}},
		{"covers all", Ranges{{3, 4}}, Ranges{{1, 10}}, Ranges{}, Ranges{{1, 10}}},
		{"several across", Ranges{{1, 3}, {5, 9}, {20, 20}}, Ranges{{2, 6}, {8, 8}}, Ranges{{1, 1}, {7, 7}, {9, 9}, {20, 20}}, Ranges{{1, 9}, {20, 20}}},
		{"adjacent ranges merge", Ranges{{1, 2}}, Ranges{{3, 4}}, Ranges{{1, 2}}, Ranges{{1, 4}}},
		{"empty minus", Ranges{}, Ranges{{1, 2}}, Ranges{}, Ranges{{1, 2}}},
		{"edge at the end", Ranges{{1, 10}}, Ranges{{10, 12}}, Ranges{{1, 9}}, Ranges{{1, 12}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Minus(tt.b); fmt.Sprint(got) != fmt.Sprint(tt.minus) {
				t.Errorf("Minus: got %v, want %v", got, tt.minus)
			}
			if got := tt.a.Union(tt.b); fmt.Sprint(got) != fmt.Sprint(tt.both) {
				t.Errorf("Union: got %v, want %v", got, tt.both)
			}
		})
	}
}

func TestRangesUnmarshalChecksOrder(t *testing.T) {
	for _, tt := range []struct {
		json string
		ok   bool
	}{
		{`[[1,3],[7,9]]`, true},               // sorted, disjoint
		{`[[1,3],[4,9]]`, true},               // adjacent: counts right
		{`[]`, true},                          // none
		{`[[1,5],[3,4]]`, false},              // overlapping: Count said 7 for 5 ids
		{`[[7,9],[1,3]]`, false},              // unsorted: Contains and Minus assume order
		{`[[0,18446744073709551615]]`, false}, // every uint64: Count wrapped to 0
		{`[[0,9223372036854775807],[9223372036854775808,18446744073709551615]]`, false}, // sum wraps
	} {
		var rs Ranges
		if err := json.Unmarshal([]byte(tt.json), &rs); (err == nil) != tt.ok {
			t.Errorf("Unmarshal(%s): error %v, want ok %v", tt.json, err, tt.ok)
		}
	}
}
