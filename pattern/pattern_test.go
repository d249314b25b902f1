package pattern

import (
	"fmt"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Pattern
		wantErr string
	}{
		{"sync", Sync, ""},
		{"async", Async, ""},
		{"hybrid", Hybrid, ""},
		{"", "", `unknown pattern "": want sync, async or hybrid`},         // empty is no pattern
		{"Sync", "", `unknown pattern "Sync": want sync, async or hybrid`}, // case matters, as in profiles
		{"grpc", "", `unknown pattern "grpc"`},                             // not (yet) a pattern
		{" sync", "", "unknown pattern"},                                   // callers trim
	} {
		got, err := Parse(tc.in)
		if got != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.in, got, tc.want)
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Parse(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestTraits(t *testing.T) {
	for _, tc := range []struct {
		p                                     Pattern
		kafka, syncPath, chain, alwaysBreaker bool
	}{
		{Sync, false, true, true, false},
		{Async, true, false, true, false},
		{Hybrid, true, true, false, true},
		{"grpc", false, false, false, false}, // unknown: no traits
	} {
		if got := tc.p.UsesKafka(); got != tc.kafka {
			t.Errorf("%s.UsesKafka() = %v, want %v", tc.p, got, tc.kafka)
		}
		if got := tc.p.HasSyncPath(); got != tc.syncPath {
			t.Errorf("%s.HasSyncPath() = %v, want %v", tc.p, got, tc.syncPath)
		}
		if got := tc.p.HasChainForm(); got != tc.chain {
			t.Errorf("%s.HasChainForm() = %v, want %v", tc.p, got, tc.chain)
		}
		if got := tc.p.AlwaysBreaks(); got != tc.alwaysBreaker {
			t.Errorf("%s.AlwaysBreaks() = %v, want %v", tc.p, got, tc.alwaysBreaker)
		}
	}
}

func TestEveryPatternHasTraits(t *testing.T) {
	all := All()
	if len(all) != len(traits) {
		t.Fatalf("All() has %d patterns, the traits table %d", len(all), len(traits))
	}
	for _, p := range all {
		if !p.Valid() {
			t.Errorf("%s has no row in the traits table", p)
		}
		// Every pattern reaches the notification service somehow.
		if tr := p.Traits(); !tr.Kafka && !tr.SyncPath {
			t.Errorf("%s neither calls nor produces", p)
		}
	}
	all[0] = "changed"
	if All()[0] != Sync {
		t.Error("All() shares its slice with the caller")
	}
}

func ExampleParse() {
	p, err := Parse("hybrid")
	fmt.Println(p, err, p.UsesKafka(), p.HasSyncPath(), p.HasChainForm())
	_, err = Parse("grpc")
	fmt.Println(err)
	fmt.Println(Chains())
	// Output:
	// hybrid <nil> true true false
	// unknown pattern "grpc": want sync, async or hybrid
	// [sync async]
}

func TestRegister(t *testing.T) {
	saved, savedOrder := traits, order
	traits = map[Pattern]Traits{}
	for p, tr := range saved {
		traits[p] = tr
	}
	order = append([]Pattern(nil), savedOrder...)
	t.Cleanup(func() { traits, order = saved, savedOrder })

	direct := Traits{SyncPath: true}
	for _, tc := range []struct {
		p       Pattern
		t       Traits
		wantErr string
	}{
		{"direct", direct, ""},
		{"nats", Traits{}, ""},                     // neither Kafka nor HTTP: its own transport
		{"", direct, "empty"},                      // no pattern
		{"sync", direct, "already"},                // a built-in one
		{"direct", Traits{Kafka: true}, "already"}, // registered above
		{"di.rect", direct, "dot"},                 // would break result keys
		{"di rect", direct, "space"},
	} {
		err := Register(tc.p, tc.t)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Register(%q): %v", tc.p, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Register(%q) error %v, want one containing %q", tc.p, err, tc.wantErr)
		}
	}
	if got, want := fmt.Sprint(All()), "[sync async hybrid direct nats]"; got != want {
		t.Errorf("All() = %s, want %s: registered patterns come after the built-in ones, in order", got, want)
	}
	if p, err := Parse("direct"); err != nil || p.Traits() != direct || !p.HasSyncPath() || p.UsesKafka() {
		t.Errorf(`Parse("direct") = %q, %v, traits %+v; want the registered traits`, p, err, p.Traits())
	}
	if got := List(); got != "sync, async, hybrid, direct or nats" {
		t.Errorf("List() = %q", got)
	}
	if Sync.Traits() != saved[Sync] {
		t.Error("a refused registration changed a built-in pattern")
	}
}
