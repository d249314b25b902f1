package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/pattern"
)

// TestParseErrors has one bad profile per row; each error must name the
// file:line and the field, and say what is wrong.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		have string   // the profile, parsed as bad.yaml
		want []string // substrings of the error, in order of appearance
	}{
		{
			// A negative rate, on the second stage's line.
			name: "negative rate",
			have: "stages:\n  - {for: 10s, rate: 100}\n  - {for: 10s, rate: -5}\n",
			want: []string{"bad.yaml:3: stages[1].rate: must be >= 0 (requests per second), got -5"},
		},
		{
			// A negative ramp target.
			name: "negative to",
			have: "stages:\n  - {for: 10s, rate: 100, to: -1}\n",
			want: []string{"bad.yaml:2: stages[0].to: must be >= 0"},
		},
		{
			// A stage of no length.
			name: "zero-duration stage",
			have: "stages:\n  - {for: 0s, rate: 100}\n",
			want: []string{"bad.yaml:2: stages[0].for: a stage must last more than 0, got 0s"},
		},
		{
			// A stage with no for at all: reported on the stage's line.
			name: "missing stage duration",
			have: "stages:\n  - rate: 100\n",
			want: []string{"bad.yaml:2: stages[0].for: a stage must last more than 0"},
		},
		{
			// A duration without a unit.
			name: "duration without unit",
			have: "stages:\n  - for: 20\n    rate: 100\n",
			want: []string{"bad.yaml:2: stages[0].for: must be a duration with a unit, like 20s", `got "20"`},
		},
		{
			// A duration that is not one.
			name: "bad duration",
			have: "stages:\n  - {for: 10s, rate: 100}\ndrain:\n  timeout: soon\n",
			want: []string{"bad.yaml:4: drain.timeout: must be a duration", `got "soon"`},
		},
		{
			// A rate that is not a number.
			name: "rate not a number",
			have: "stages:\n  - {for: 10s, rate: fast}\n",
			want: []string{"bad.yaml:2: stages[0].rate: must be a number, got \"fast\""},
		},
		{
			// A typo in a field name, with a suggestion.
			name: "unknown field with suggestion",
			have: "stages:\n  - {for: 10s, rate: 100}\n  - {for: 10s, rat: 100}\n",
			want: []string{"bad.yaml:3: stages[1].rat: unknown field; did you mean rate? The fields here are for, rate, to"},
		},
		{
			// An unknown field deep in the services.
			name: "unknown nested field",
			have: "stages:\n  - {for: 10s, rate: 100}\nservices:\n  provider:\n    latency: {p50: 5ms, p95: 20ms}\n",
			want: []string{"bad.yaml:5: services.provider.latency.p95: unknown field", "p50, p99"},
		},
		{
			// An unknown top-level field.
			name: "unknown top-level field",
			have: "stages:\n  - {for: 10s, rate: 100}\nrepeat: 3\n",
			want: []string{"bad.yaml:3: repeat: unknown field; the fields here are name, description, patterns"},
		},
		{
			// A key written twice.
			name: "duplicate field",
			have: "stages:\n  - {for: 10s, rate: 100}\ndrain: {timeout: 10s}\ndrain: {timeout: 20s}\n",
			want: []string{"bad.yaml:4: drain: written twice, first at line 3"},
		},
		{
			// A pattern that does not exist.
			name: "unknown pattern",
			have: "patterns: [sync, grpc]\nstages:\n  - {for: 10s, rate: 100}\n",
			want: []string{`bad.yaml:1: patterns[1]: unknown pattern "grpc"; use sync, async or hybrid`},
		},
		{
			// A pattern listed twice.
			name: "repeated pattern",
			have: "patterns:\n  - sync\n  - sync\nstages:\n  - {for: 10s, rate: 100}\n",
			want: []string{`bad.yaml:3: patterns[1]: "sync" is listed twice`},
		},
		{
			// An empty pattern list.
			name: "no patterns",
			have: "patterns: []\nstages:\n  - {for: 10s, rate: 100}\n",
			want: []string{"bad.yaml:1: patterns: must name at least one of sync, async or hybrid"},
		},
		{
			// No stages at all.
			name: "no stages",
			have: "name: empty\n",
			want: []string{"bad.yaml:1: stages: a profile needs at least one stage"},
		},
		{
			// Stages that send nothing.
			name: "silent stages",
			have: "stages:\n  - {for: 10s, rate: 0}\n",
			want: []string{"bad.yaml:2: stages: the stages send no request"},
		},
		{
			// A fault that ends after the stages (20s).
			name: "fault outside the run",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 15s, for: 10s, target: provider, kind: outage}\n",
			want: []string{"bad.yaml:4: faults[0].for: the fault ends at 25s (at 15s + for 10s), after the stages end at 20s"},
		},
		{
			// A fault target that does not exist.
			name: "unknown fault target",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 1s, for: 1s, target: database, kind: outage}\n",
			want: []string{`bad.yaml:4: faults[0].target: unknown target "database"; use provider, notification, broker or network`},
		},
		{
			// A fault kind that does not exist.
			name: "unknown fault kind",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 1s, for: 1s, target: broker, kind: explode}\n",
			want: []string{`bad.yaml:4: faults[0].kind: a broker fault cannot be "explode"; use kill, pause or restart`},
		},
		{
			// A real kind on the wrong target: the provider is not a process here.
			name: "fault kind for another target",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - at: 1s\n    for: 1s\n    target: provider\n    kind: kill\n",
			want: []string{`bad.yaml:7: faults[0].kind: a provider fault cannot be "kill"; use outage, slowdown or latency`},
		},
		{
			// A slowdown that speeds up.
			name: "slowdown factor below 1",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 1s, for: 1s, target: provider, kind: slowdown, factor: 0.5}\n",
			want: []string{"bad.yaml:4: faults[0].factor: must be a number > 1"},
		},
		{
			// A knob of another kind.
			name: "factor on an outage",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 1s, for: 1s, target: provider, kind: outage, factor: 2}\n",
			want: []string{"bad.yaml:4: faults[0].factor: applies only to kind slowdown; remove it"},
		},
		{
			// A network fault on a link that does not exist.
			name: "unknown link",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 1s, for: 1s, target: network, kind: reset, link: generator-reaction}\n",
			want: []string{`bad.yaml:4: faults[0].link: unknown link "generator-reaction"`},
		},
		{
			// Two faults on the provider at once.
			name: "overlapping faults",
			have: "stages:\n  - {for: 20s, rate: 100}\nfaults:\n  - {at: 1s, for: 5s, target: provider, kind: outage}\n  - {at: 4s, for: 5s, target: provider, kind: slowdown}\n",
			want: []string{"bad.yaml:5: faults[1].at: overlaps faults[0] (1s–6s) on the same target provider"},
		},
		{
			// An error rate above 1.
			name: "error rate above 1",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  provider: {error_rate: 1.5}\n",
			want: []string{"bad.yaml:4: services.provider.error_rate: must be a fraction in [0, 1] (0.01 is 1%), got 1.5"},
		},
		{
			// An error rate below 0.
			name: "error rate below 0",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  provider: {error_rate: -0.1}\n",
			want: []string{"bad.yaml:4: services.provider.error_rate: must be a fraction in [0, 1]"},
		},
		{
			// p99 below p50; the default p99 (40ms) is below the written p50.
			name: "p99 below p50",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  provider:\n    latency: {p50: 50ms}\n",
			want: []string{"bad.yaml:5: services.provider.latency.p99: must be >= p50 (50ms), got 40ms"},
		},
		{
			// A host threshold above all of the cores.
			name: "validity host_busy above 1",
			have: "stages:\n  - {for: 20s, rate: 100}\nvalidity: {host_busy: 1.5}\n",
			want: []string{"bad.yaml:3: validity.host_busy: must be a fraction of the cores in (0, 1]"},
		},
		{
			// Every second would be bound.
			name: "validity late_fraction of 1",
			have: "stages:\n  - {for: 20s, rate: 100}\nvalidity:\n  late_fraction: 1\n",
			want: []string{"bad.yaml:4: validity.late_fraction: must be a fraction in [0, 1)"},
		},
		{
			// A send is always late by more than nothing.
			name: "validity late_by 0",
			have: "stages:\n  - {for: 20s, rate: 100}\nvalidity: {late_by: 0s}\n",
			want: []string{"bad.yaml:3: validity.late_by: must be more than 0"},
		},
		{
			// A provider that serves nobody.
			name: "zero capacity",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  provider: {capacity: 0}\n",
			want: []string{"bad.yaml:4: services.provider.capacity: must be >= 1, got 0"},
		},
		{
			// A topic with no partitions.
			name: "zero partitions",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  kafka:\n    partitions: 0\n",
			want: []string{"bad.yaml:5: services.kafka.partitions: must be >= 1, got 0"},
		},
		{
			// A negative replication factor (0 means the cluster's default).
			name: "negative replication factor",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  kafka:\n    replication_factor: -1\n",
			want: []string{"bad.yaml:5: services.kafka.replication_factor: must be >= 0, got -1"},
		},
		{
			// A whole number written as a fraction.
			name: "fractional capacity",
			have: "stages:\n  - {for: 20s, rate: 100}\nservices:\n  provider: {capacity: 2.5}\n",
			want: []string{`bad.yaml:4: services.provider.capacity: must be a whole number, got "2.5"`},
		},
		{
			// Fewer max workers than workers.
			name: "max workers below workers",
			have: "stages:\n  - {for: 20s, rate: 100}\nattack: {workers: 64, max_workers: 8}\n",
			want: []string{"bad.yaml:3: attack.max_workers: must be >= workers (64), got 8"},
		},
		{
			// A list where a mapping belongs.
			name: "list for a mapping",
			have: "stages:\n  - {for: 20s, rate: 100}\ndrain: [10s]\n",
			want: []string{"bad.yaml:3: drain: must be a mapping like {timeout: ...}, not a list"},
		},
		{
			// A name that cannot name a folder.
			name: "bad name",
			have: "name: My Profile\nstages:\n  - {for: 20s, rate: 100}\n",
			want: []string{`bad.yaml:1: name: must be lower-case letters, digits and dashes`},
		},
		{
			// Broken YAML.
			name: "syntax error",
			have: "stages:\n  - {for: 20s, rate: 100\n",
			want: []string{"bad.yaml:", "invalid YAML"},
		},
		{
			// Two documents in one file.
			name: "two documents",
			have: "stages:\n  - {for: 20s, rate: 100}\n---\nstages:\n  - {for: 20s, rate: 100}\n",
			want: []string{"bad.yaml:3: a profile file holds one YAML document"},
		},
		{
			// An anchor that contains itself, through a merge key.
			name: "recursive anchor",
			have: "a: &x {b: 1}\nstages:  &x [{<<: *x, for: 1s, rate: 1}]\n",
			want: []string{"bad.yaml:2: stages[0]: nested too deep; does an anchor contain itself?"},
		},
		{
			// A merge key: the typo in the anchor is reported where it is
			// used, on the anchor's line.
			name: "merged unknown field",
			have: "x-base: &b {for: 1s, rat: 1}\nstages: [{<<: *b}]\n",
			want: []string{"bad.yaml:1: x-base: unknown field", "bad.yaml:1: stages[0].rat: unknown field; did you mean rate?"},
		},
		{
			// An empty file.
			name: "empty",
			have: "# nothing\n",
			want: []string{"bad.yaml:1: empty profile"},
		},
		{
			// Several problems at once: all of them, in the order of the lines.
			name: "several problems",
			have: "stages:\n  - {for: 0s, rate: 100}\n  - {for: 10s, rate: -1}\n",
			want: []string{"bad.yaml:2: stages[0].for", "\nbad.yaml:3: stages[1].rate"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("bad.yaml", []byte(tc.have))
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			got := err.Error()
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("got error\n%s\nwant it to contain (in order) %q", got, tc.want)
				}
				rest = rest[i+len(w):]
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.File != "bad.yaml" {
				t.Errorf("got %T, want a *Error for bad.yaml", err)
			}
		})
	}
}

// TestProfiles loads every profile in this folder.
func TestProfiles(t *testing.T) {
	names, err := Available(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ci", "outage", "ramp", "slow-provider", "smoke", "soak", "spike", "steady", "surge"} {
		if _, err := Lookup(".", want); err != nil {
			t.Errorf("profile %s: %v", want, err)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != name {
				t.Errorf("name: got %q, want the file's name %q", p.Name, name)
			}
			if p.Description == "" {
				t.Errorf("description: missing")
			}
			if len(p.Patterns) != 3 && len(p.Variants) == 0 && p.Services.Chain.Depth <= 2 && !hasBrokerFault(p) {
				t.Errorf("patterns: got %v, want all three (a profile of variants, a chain, which has no hybrid form, or one that faults the broker, which sync has not, may compare fewer)", p.Patterns)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("Validate after Load: %v", err)
			}
			pl := p.Plan()
			if pl.Requests == 0 {
				t.Errorf("plan: no requests")
			}
			t.Logf("%s: %s, %d requests per pattern", name, pl.Duration, pl.Requests)
		})
	}
}

// TestSmokeAndCIAreShort keeps the test and gate profiles quick.
func TestSmokeAndCIAreShort(t *testing.T) {
	for _, tc := range []struct {
		have string
		want time.Duration // the most stages per pattern
	}{
		{"smoke", 20 * time.Second},
		{"ci", 35 * time.Second},
	} {
		p, err := Lookup(".", tc.have)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Plan().Duration; got > tc.want {
			t.Errorf("%s: got %s of stages, want at most %s", tc.have, got, tc.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	p, err := Parse("profiles/minimal.yaml", []byte(`
stages:
  - {for: 10s, rate: 20}
  - {for: 10s, rate: 20, to: 0}
faults:
  - {at: 1s, for: 1s, target: provider, kind: slowdown}
  - {at: 2s, for: 1s, target: network, kind: latency}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		field     string
		got, want any
	}{
		{"name", p.Name, "minimal"}, // from the file name
		{"patterns", fmt.Sprint(p.Patterns), "[sync async hybrid]"},
		{"stages[0].to", p.Stages[0].To, 20.0}, // a constant stage
		{"stages[1].to", p.Stages[1].To, 0.0},  // a ramp to zero, written
		{"warmup.for", p.Warmup.For, Duration(5 * time.Second)},
		{"warmup.rate", p.Warmup.Rate, 20.0}, // 100, capped at the highest stage rate
		{"services.provider.capacity", p.Services.Provider.Capacity, 256},
		{"services.provider.latency.p99", p.Services.Provider.Latency.P99, Duration(40 * time.Millisecond)},
		{"services.notification.retries", p.Services.Notification.Retries, 10},
		{"services.kafka.partitions", p.Services.Kafka.Partitions, 8},
		{"services.hybrid.budget", p.Services.Hybrid.Budget, Duration(50 * time.Millisecond)},
		{"faults[0].factor", p.Faults[0].Factor, 5.0},
		{"faults[1].delay", p.Faults[1].Delay, DefaultDelay},
		{"faults[1].link", p.Faults[1].Link, LinkReactionNotification},
		{"attack.keepalive", p.Attack.KeepAlive, true},
		{"drain.timeout", p.Drain.Timeout, Duration(2 * time.Minute)},
		{"gate.p99_floor", p.Gate.P99Floor, Duration(2 * time.Millisecond)},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.field, tc.got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	p, err := Lookup(".", "surge")
	if err != nil {
		t.Fatal(err)
	}
	pl := p.Plan()
	// 15s·200 + 5s·(200+1400)/2 + 15s·1400 + 5s·(1400+200)/2 + 35s·200
	want := []uint64{3000, 4000, 21000, 4000, 7000}
	var sum uint64
	for i, st := range pl.Stages {
		if st.Requests != want[i] {
			t.Errorf("stage %d: got %d requests, want %d", i+1, st.Requests, want[i])
		}
		sum += st.Requests
	}
	if pl.Requests != 39000 || sum != pl.Requests {
		t.Errorf("requests: got %d (stages add up to %d), want 39000", pl.Requests, sum)
	}
	if pl.Duration != 75*time.Second {
		t.Errorf("duration: got %s, want 1m15s", pl.Duration)
	}
	if got, want := pl.Stages[3].Start, 35*time.Second; got != want {
		t.Errorf("stage 4 start: got %s, want %s", got, want)
	}

	// Fractional integrals: the stages' counts still add up to the floor of
	// the whole integral (0.5 + 1.5 + 0.5 = 2.5 → 2).
	p, err = Parse("frac.yaml", []byte("stages:\n  - {for: 1s, rate: 0.5}\n  - {for: 1s, rate: 1.5}\n  - {for: 1s, rate: 0.5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pl = p.Plan()
	if got := []uint64{pl.Stages[0].Requests, pl.Stages[1].Requests, pl.Stages[2].Requests}; fmt.Sprint(got) != "[0 2 0]" || pl.Requests != 2 {
		t.Errorf("fractional: got stages %v, total %d; want [0 2 0], 2", got, pl.Requests)
	}
}

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		have string
		want string // the profile's name, or a substring of the error
	}{
		{"surge", "surge"},                                     // by name
		{"surge.yaml", "surge"},                                // by file name
		{"../profiles/surge.yaml", "surge"},                    // by path
		{"nope", `profile not found: "nope"`},                  // unknown, with the list
		{"nope", "available in .: campaign, chain-slow, ci, "}, // the list, sorted
		{filepath.Join("missing", "x.yaml"), "profile not found"},
	} {
		p, err := Lookup(".", tc.have)
		switch {
		case err != nil && !strings.Contains(err.Error(), tc.want):
			t.Errorf("Lookup(%q): got error %v, want %q", tc.have, err, tc.want)
		case err == nil && p.Name != tc.want:
			t.Errorf("Lookup(%q): got %q, want %q", tc.have, p.Name, tc.want)
		}
	}
}

func TestLookupFromAnotherDir(t *testing.T) {
	// From the repository root, as the CLI calls it.
	for _, have := range []string{"surge", "surge.yaml"} {
		if p, err := Lookup("../profiles", have); err != nil || p.Name != "surge" {
			t.Errorf("Lookup(../profiles, %q): got %v, want surge", have, err)
		}
	}
}

func TestValidate(t *testing.T) {
	// A profile built in Go: errors name the field, with no file or line.
	p := defaults()
	p.Name = "go"
	p.Patterns = pattern.All()
	p.Stages = []Stage{{For: Duration(time.Second), Rate: 10, To: -1}}
	err := p.Validate()
	if got, want := fmt.Sprint(err), "stages[0].to: must be >= 0 (requests per second), got -1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	p.Stages[0].To = 10
	if err := p.Validate(); err != nil {
		t.Errorf("fixed: got %v, want no error", err)
	}
}

// FuzzParse checks that no input makes Parse panic, that an error names
// the file (and, where it can, the line and field: "fuzz.yaml:5:
// stages[1].rate: …"), and that what it accepts validates again.
func FuzzParse(f *testing.F) {
	names, _ := Available(".")
	for _, name := range names {
		data, err := os.ReadFile(name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &x {b: 1}\nstages: [{<<: *x, for: 1s, rate: 1}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Errorf("Parse accepted what Validate rejects: %v", err)
		}
	})
}

func ExampleProfile_Plan() {
	p, err := Parse("profiles/example.yaml", []byte(`
description: A ramp, a plateau and a provider outage.
patterns: [sync, async]
stages:
  - {for: 10s, rate: 0, to: 200}
  - {for: 50s, rate: 200}
faults:
  - {at: 30s, for: 10s, target: provider, kind: outage}
drain: {timeout: 30s}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(p.Plan())
	// Output:
	// profile example: sync, async, one after another, fresh services for each
	//   A ramp, a plateau and a provider outage.
	// warmup: 5s at 100 rps, 500 requests, not recorded
	//
	// stage  time      rate (rps)  requests
	// 1      0s–10s    0 → 200     1,000
	// 2      10s–1m0s  200         10,000
	// total  1m0s                  11,000
	//
	// faults:
	//   30s–40s  provider outage
	//
	// drain: up to 30s after the stages
	// per pattern: 1m0s, 11,000 requests; all patterns: 22,000 recorded requests
}

func ExampleParse_error() {
	_, err := Parse("profiles/bad.yaml", []byte(`
name: bad
stages:
  - {for: 20s, rate: 500}
  - {for: 10s, rate: -5}
`))
	fmt.Println(err)
	// Output:
	// profiles/bad.yaml:5: stages[1].rate: must be >= 0 (requests per second), got -5
}

// hasBrokerFault tells whether the profile faults the Kafka broker.
func hasBrokerFault(p *Profile) bool {
	for _, f := range p.Faults {
		if f.Target == "broker" {
			return true
		}
	}
	return false
}
