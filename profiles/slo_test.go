package profiles

import (
	"strings"
	"testing"
	"time"
)

const sloBase = "stages: [{for: 10s, rate: 10}]\n"

func TestSLOBlock(t *testing.T) {
	p, err := Parse("p.yaml", []byte(sloBase+"slo: {api_p99: 150ms, drops: 0.01}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultSLO()
	want.APIP99, want.Drops = Duration(150*time.Millisecond), 0.01
	if p.SLO != want {
		t.Errorf("got %+v, want %+v", p.SLO, want)
	}
	if p, _ := Parse("p.yaml", []byte(sloBase)); p.SLO != DefaultSLO() {
		t.Errorf("no slo block: got %+v, want the default %+v", p.SLO, DefaultSLO())
	}
}

func TestSLOBlockErrors(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // in the error
	}{
		// An unknown field names the file, its line and the field.
		{"unknown field", "slo: {api_p90: 100ms}\n", []string{"p.yaml:2", "slo.api_p90", "api_p99"}},
		{"negative drops", "slo: {drops: -0.1}\n", []string{"p.yaml:2", "slo.drops", "fraction"}},
		{"drops of 1", "slo: {drops: 1}\n", []string{"slo.drops"}},
		{"zero p99", "slo: {api_p99: 0s}\n", []string{"slo.api_p99", "more than 0"}},
		{"duration without unit", "slo: {notify_p99: 5}\n", []string{"slo.notify_p99", "unit"}},
		{"lag growth", "slo: {lag_growth: 2}\n", []string{"slo.lag_growth"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(sloBase+tc.yaml))
			if err == nil {
				t.Fatal("got no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestSLOOverride(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		want    func(*SLO)
		wantErr string // "" for none
	}{
		{"api_p99=150ms", func(s *SLO) { s.APIP99 = Duration(150 * time.Millisecond) }, ""},
		// A percentage and a fraction are the same drops.
		{"drops=0.5%", func(s *SLO) { s.Drops = 0.005 }, ""},
		{"drops=0.005, notify_p99=10s", func(s *SLO) { s.Drops, s.NotifyP99 = 0.005, Duration(10*time.Second) }, ""},
		{"lag_growth=0", func(s *SLO) { s.LagGrowth = 0 }, ""},
		{"api_p99=fast", nil, "api_p99"},
		{"api_p99=-1s", nil, "api_p99"},
		{"drops=150%", nil, "slo.drops"},
		{"drops=x", nil, "drops"},
		{"p99=1s", nil, `unknown field "p99"`},
		{"api_p99", nil, "name=value"},
	} {
		got, err := DefaultSLO().Override(tc.spec)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: got error %v, want one saying %q", tc.spec, err, tc.wantErr)
			}
			continue
		}
		want := DefaultSLO()
		tc.want(&want)
		if err != nil || got != want {
			t.Errorf("%q: got %+v, %v; want %+v", tc.spec, got, err, want)
		}
	}
}
