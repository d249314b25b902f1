package results

import (
	"fmt"
	"testing"
)

func TestParseKey(t *testing.T) {
	for _, tt := range []struct {
		have    string
		want    Key
		wantErr bool
	}{
		{"sync", Key{Pattern: "sync", Rep: 1}, false},                                 // a pattern alone
		{"hybrid", Key{Pattern: "hybrid", Rep: 1}, false},                             // any pattern name
		{"sync.nocb", Key{Pattern: "sync", Variant: "nocb", Rep: 1}, false},           // a variant
		{"async.2", Key{Pattern: "async", Rep: 2}, false},                             // the second run of a repeat
		{"async.12", Key{Pattern: "async", Rep: 12}, false},                           // repeats past 9
		{"sync.variant.2", Key{Pattern: "sync", Variant: "variant", Rep: 2}, false},   // a variant's second run
		{"sync.r2", Key{Pattern: "sync", Variant: "r2", Rep: 1}, false},               // a variant with digits is no repeat
		{"async.fan-out.3", Key{Pattern: "async", Variant: "fan-out", Rep: 3}, false}, // dashes in a variant
		{"sync.1", Key{Pattern: "sync", Rep: 1}, true},                                // the first run is written without a number
		{"sync.+2", Key{Pattern: "sync", Variant: "+2", Rep: 1}, false},               // a sign is no repeat (not a variant profiles allow, but readable)
		{"", Key{Rep: 1}, true},                                                       // nothing
		{".nocb", Key{Rep: 1}, true},                                                  // no pattern
		{"sync.", Key{Pattern: "sync", Rep: 1}, true},                                 // an empty variant
		{"sync.a.b.2", Key{Pattern: "sync", Rep: 2}, true},                            // too many parts; the pattern still read
		{"sync.a.b", Key{Pattern: "sync", Rep: 1}, true},                              // two variants
	} {
		got, err := ParseKey(tt.have)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseKey(%q) error %v, want error %v", tt.have, err, tt.wantErr)
		}
		if got != tt.want {
			t.Errorf("ParseKey(%q) = %+v, want %+v", tt.have, got, tt.want)
		}
	}
}

func TestKeyRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		have Key
		want string
	}{
		{Key{Pattern: "sync"}, "sync"},                                           // Rep 0 is the first run
		{Key{Pattern: "sync", Rep: 1}, "sync"},                                   // and so is Rep 1
		{Key{Pattern: "async", Variant: "m3"}, "async.m3"},                       // a variant
		{Key{Pattern: "hybrid", Rep: 3}, "hybrid.3"},                             // a repeat
		{Key{Pattern: "sync", Variant: "cb", Rep: 2}, "sync.cb.2"},               // both
		{Key{Pattern: "async", Variant: "fan-out", Rep: 10}, "async.fan-out.10"}, // dashes, two digits
	} {
		got := tt.have.String()
		if got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.have, got, tt.want)
		}
		back, err := ParseKey(got)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", got, err)
		}
		if back.String() != got || back.Pattern != tt.have.Pattern || back.Variant != tt.have.Variant || back.Rep != max(tt.have.Rep, 1) {
			t.Errorf("ParseKey(%q) = %+v, want %+v back", got, back, tt.have)
		}
	}
}

func ExampleParseKey() {
	k, err := ParseKey("sync.nocb.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.Pattern, k.Variant, k.Rep)
	k.Rep = 3
	fmt.Println(k)
	// Output:
	// sync nocb 2
	// sync.nocb.3
}
