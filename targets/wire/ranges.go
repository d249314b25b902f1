package wire

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// Range is the closed interval of ids [Lo, Hi]; in JSON, [lo, hi].
type Range struct{ Lo, Hi uint64 }

// MarshalJSON writes [lo, hi].
func (r Range) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "[%d,%d]", r.Lo, r.Hi), nil }

// UnmarshalJSON reads [lo, hi].
func (r *Range) UnmarshalJSON(b []byte) error {
	var pair [2]uint64
	if err := json.Unmarshal(b, &pair); err != nil {
		return fmt.Errorf("id range: %w", err)
	}
	if pair[0] > pair[1] {
		return fmt.Errorf("id range [%d,%d]: low above high", pair[0], pair[1])
	}
	r.Lo, r.Hi = pair[0], pair[1]
	return nil
}

// Ranges is a sorted list of disjoint, non-adjacent id ranges.
type Ranges []Range

// UnmarshalJSON reads [[lo, hi], ...] and checks what Count, Contains,
// Minus and Union rely on: ranges in ascending order, none overlapping
// another (adjacent ones count right and are accepted), and a count that
// fits a uint64. Ids are not limited to MaxID: a dead letter may carry any
// id a reaction body can (the reaction service takes ids above it).
func (rs *Ranges) UnmarshalJSON(b []byte) error {
	var list []Range
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	var n uint64
	for i, r := range list {
		if i > 0 && r.Lo <= list[i-1].Hi {
			return fmt.Errorf("id range %d, [%d,%d]: not after range %d, [%d,%d]; want ranges sorted and disjoint", i, r.Lo, r.Hi, i-1, list[i-1].Lo, list[i-1].Hi)
		}
		size := r.Hi - r.Lo + 1 // 0: the range of every uint64
		if size == 0 || n+size < n {
			return fmt.Errorf("id range %d, [%d,%d]: the ranges hold more ids than a count can say", i, r.Lo, r.Hi)
		}
		n += size
	}
	*rs = list
	return nil
}

// Count is how many ids the ranges hold.
func (rs Ranges) Count() uint64 {
	var n uint64
	for _, r := range rs {
		n += r.Hi - r.Lo + 1
	}
	return n
}

// Contains reports whether id is in one of the ranges.
func (rs Ranges) Contains(id uint64) bool {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Hi >= id })
	return i < len(rs) && rs[i].Lo <= id
}

// FromIDs builds ranges from ids in any order, duplicates allowed.
func FromIDs(ids []uint64) Ranges {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	var b RangeBuilder
	for _, id := range ids {
		b.Add(id)
	}
	return b.Ranges()
}

// RangeBuilder builds Ranges from ids added in ascending order.
type RangeBuilder struct{ rs Ranges }

// Add adds id, which must not be below the last id added.
func (b *RangeBuilder) Add(id uint64) {
	if n := len(b.rs); n > 0 && id <= b.rs[n-1].Hi+1 {
		if id > b.rs[n-1].Hi {
			b.rs[n-1].Hi = id
		}
		return
	}
	b.rs = append(b.rs, Range{id, id})
}

// Ranges returns what was built; never nil, so that JSON shows [].
func (b *RangeBuilder) Ranges() Ranges {
	if b.rs == nil {
		return Ranges{}
	}
	return b.rs
}

// Minus returns the ids in rs that are not in other.
func (rs Ranges) Minus(other Ranges) Ranges {
	var out RangeBuilder
	j := 0
	for _, r := range rs {
		lo := r.Lo
		for lo <= r.Hi {
			for j < len(other) && other[j].Hi < lo {
				j++
			}
			if j == len(other) || other[j].Lo > r.Hi {
				out.addRange(lo, r.Hi)
				break
			}
			if other[j].Lo > lo {
				out.addRange(lo, other[j].Lo-1)
			}
			if other[j].Hi >= r.Hi {
				break
			}
			lo = other[j].Hi + 1
		}
	}
	return out.Ranges()
}

// Union returns the ids in either.
func (rs Ranges) Union(other Ranges) Ranges {
	all := make(Ranges, 0, len(rs)+len(other))
	all = append(all, rs...)
	all = append(all, other...)
	slices.SortFunc(all, func(a, b Range) int {
		switch {
		case a.Lo < b.Lo:
			return -1
		case a.Lo > b.Lo:
			return 1
		}
		return 0
	})
	var out RangeBuilder
	for _, r := range all {
		out.addRange(r.Lo, r.Hi)
	}
	return out.Ranges()
}

// addRange adds [lo, hi]; lo must not be below the last range's low end.
func (b *RangeBuilder) addRange(lo, hi uint64) {
	if n := len(b.rs); n > 0 && lo <= b.rs[n-1].Hi+1 {
		b.rs[n-1].Hi = max(b.rs[n-1].Hi, hi)
		return
	}
	b.rs = append(b.rs, Range{lo, hi})
}
