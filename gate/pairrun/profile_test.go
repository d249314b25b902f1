package pairrun

import (
	"strings"
	"testing"

	"github.com/commbench/commbench/profiles"
)

func TestSetProfile(t *testing.T) {
	const in = `name: ci # the gate's profile
services:
  reaction: {write_cost: 0s, timeout: 2s}
gate: {p99_tolerance: 0.1}
`
	for _, tt := range []struct {
		name    string
		sets    []string
		want    []string // in the output
		wantErr string
	}{
		// A flow mapping's value is replaced; its comment stays.
		{name: "write_cost", sets: []string{"services.reaction.write_cost=10ms"}, want: []string{"write_cost: 10ms", "timeout: 2s", "# the gate's profile"}},
		// A missing path is created.
		{name: "new key", sets: []string{"services.provider.capacity=128"}, want: []string{"provider:", "capacity: 128"}},
		// A number stays a number (not quoted).
		{name: "number", sets: []string{"gate.p99_tolerance=0.5"}, want: []string{"p99_tolerance: 0.5"}},
		{name: "no =", sets: []string{"services.reaction.write_cost"}, wantErr: "want PATH=VALUE"},
		{name: "through a scalar", sets: []string{"name.x=1"}, wantErr: "name is not a mapping"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := setProfile([]byte(in), tt.sets)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestGateProfileRuns checks that the profile the runs get has no gate:
// section (only the gate reads it, and an older base may not know its
// fields) and that the ci profile's gate: section is the defaults.
func TestGateProfileRuns(t *testing.T) {
	p, err := profiles.Load(ciProfile)
	if err != nil {
		t.Fatal(err)
	}
	g := p.Gate
	if g.P99Tolerance != profiles.DefaultGateP99Tolerance || g.P99Floor != profiles.DefaultGateP99Floor ||
		g.DropTolerance != profiles.DefaultGateDropTolerance || g.Alpha != profiles.DefaultGateAlpha {
		t.Errorf("ci's gate: %+v, want the defaults (one set: profile, flags, docs/gate.md)", g)
	}
	out, err := dropProfileKey([]byte("name: ci\ngate: {alpha: 0.05}\ndrain: {timeout: 60s}\n"), "gate")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "gate") || !strings.Contains(string(out), "drain") {
		t.Errorf("got:\n%s\nwant drain: without gate:", out)
	}
}
