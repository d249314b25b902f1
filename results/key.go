package results

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/commbench/commbench/pattern"
)

// Key names one pattern's results in [Results.Patterns]: the pattern, the
// profile's variant it ran with, and which run of a --repeat it was.
//
//	sync             Key{Pattern: "sync"}
//	sync.nocb        Key{Pattern: "sync", Variant: "nocb"}
//	async.2          Key{Pattern: "async", Rep: 2}
//	sync.nocb.2      Key{Pattern: "sync", Variant: "nocb", Rep: 2}
//
// A variant name is never all digits ("sync.2" is a repeat): profiles
// name variants with lower-case letters, digits and dashes.
type Key struct {
	Pattern pattern.Pattern // not checked: a results file may name a pattern this build lacks
	Variant string          // the profile's variant; "" without one
	Rep     int             // the run of a --repeat, from 1; 0 and 1 are both the first
}

// String returns the key as results.json writes it.
func (k Key) String() string {
	s := string(k.Pattern)
	if k.Variant != "" {
		s += "." + k.Variant
	}
	if k.Rep > 1 {
		s += "." + strconv.Itoa(k.Rep)
	}
	return s
}

// ParseKey reads a key written by [Key.String]. Its Rep is 1 when the key
// has no repeat. On an error the Key still holds the key's pattern, the
// part before the first ".", for readers that need no more.
func ParseKey(s string) (Key, error) {
	parts := strings.Split(s, ".")
	k := Key{Pattern: pattern.Pattern(parts[0]), Rep: 1}
	if n, err := strconv.Atoi(parts[len(parts)-1]); err == nil && len(parts) > 1 && digits(parts[len(parts)-1]) {
		if n < 2 {
			return k, fmt.Errorf("results key %q: repeat %d; the first run has no number", s, n)
		}
		k.Rep = n
		parts = parts[:len(parts)-1]
	}
	switch {
	case k.Pattern == "":
		return k, fmt.Errorf("results key %q: no pattern", s)
	case len(parts) == 2 && parts[1] == "":
		return k, fmt.Errorf("results key %q: empty variant", s)
	case len(parts) == 2:
		k.Variant = parts[1]
	case len(parts) > 2:
		return k, fmt.Errorf("results key %q: want pattern[.variant][.repeat]", s)
	}
	return k, nil
}

// digits reports whether s is one or more ASCII digits (Atoi also takes a sign).
func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
