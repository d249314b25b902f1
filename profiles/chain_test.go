package profiles

import (
	"strings"
	"testing"
)

// TestChainKnobs checks services.chain and what a chain cannot be combined
// with.
func TestChainKnobs(t *testing.T) {
	const head = "stages: [{for: 5s, rate: 10}]\n"
	for _, tc := range []struct {
		name, have, want string
	}{
		{name: "no chain by default", have: "patterns: [sync, async, hybrid]\n"},
		{name: "a chain of four", have: "patterns: [sync, async]\nservices: {chain: {depth: 4, breaker: true}}\n"},
		{name: "variants switch the breaker", have: "patterns: [sync, async]\nservices: {chain: {depth: 4}}\nvariants: [{name: nocb, breaker: false}, {name: cb, breaker: true, patterns: [sync]}]\n"},
		{
			name: "depth too small",
			have: "patterns: [sync]\nservices: {chain: {depth: 1}}\n",
			want: "bad.yaml:3: services.chain.depth: must be 2 (no chain: reaction → notification) to 8 services, got 1",
		},
		{
			name: "depth too large",
			have: "patterns: [sync]\nservices: {chain: {depth: 9}}\n",
			want: "services.chain.depth: must be 2",
		},
		{
			name: "hybrid in a chain",
			have: "services: {chain: {depth: 3}}\n",
			want: "services.chain.depth: a chain (services.chain.depth 3) runs sync and async; hybrid has no chain form",
		},
		{
			name: "hybrid in a chain variant",
			have: "services: {chain: {depth: 3}}\nvariants: [{name: a, patterns: [sync]}, {name: b}]\n",
			want: "variants[1]: a chain (services.chain.depth 3) runs sync and async; hybrid has no chain form",
		},
		{
			name: "replicas in a chain",
			have: "patterns: [sync]\nservices: {chain: {depth: 4}, notification: {replicas: 2}}\n",
			want: "services.chain.depth: a chain ends in one notification process",
		},
		{
			name: "groups in a chain",
			have: "patterns: [async]\nservices: {chain: {depth: 4}, kafka: {groups: [notification, search]}}\n",
			want: "services.chain.depth: a chain has one consumer group per hop",
		},
		{
			name: "zero trip failures",
			have: "patterns: [sync]\nservices: {chain: {depth: 4, trip_failures: 0}}\n",
			want: "services.chain.trip_failures:",
		},
		{
			name: "a typo",
			have: "patterns: [sync]\nservices: {chain: {depht: 4}}\n",
			want: "services.chain.depht: unknown field; did you mean depth?",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("bad.yaml", []byte(head+tc.have))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.want != "" && err == nil:
				t.Fatalf("got no error, want %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("got %v, want it to contain %q", err, tc.want)
			}
			if err == nil && strings.Contains(tc.have, "variants") {
				nocb, cb := p.Apply(p.Variants[0]), p.Apply(p.Variants[1])
				if nocb.Services.Chain.Breaker || !cb.Services.Chain.Breaker {
					t.Errorf("breaker by variant: %v, %v; want false, true", nocb.Services.Chain.Breaker, cb.Services.Chain.Breaker)
				}
			}
		})
	}
}
