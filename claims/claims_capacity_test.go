package claims

import (
	"math"
	"os"
	"testing"

	"github.com/commbench/commbench/results"
)

func capacityRun(t *testing.T, sync, async *results.Capacity) *results.Results {
	t.Helper()
	yaml, err := os.ReadFile("../profiles/surge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := &results.Results{Patterns: map[string]*results.Pattern{}, Capacity: map[string]*results.Capacity{},
		SLO: &results.CapacitySLO{APIP99Ms: 100, Drops: 0.001, NotifyP99Ms: 5000}}
	r.Run.ProfileFile, r.Run.ProfileYAML = "profiles/surge.yaml", string(yaml)
	if sync != nil {
		r.Capacity["sync"] = sync
	}
	if async != nil {
		r.Capacity["async"] = async
	}
	return r
}

func slo(rps, upper float64) *results.Capacity {
	return &results.Capacity{RPS: rps, LowerRPS: rps, UpperRPS: upper, Limit: results.LimitSLO, DecidedBy: "api_p99 183 ms > 100 ms",
		API: results.CapacityBound{RPS: rps, LowerRPS: rps, UpperRPS: upper, Limit: results.LimitSLO, DecidedBy: "api_p99 183 ms > 100 ms"}}
}

func apiOf(c *results.Capacity, b results.CapacityBound) *results.Capacity { c.API = b; return c }

func TestCapacityClaims(t *testing.T) {
	machine := &results.Capacity{LowerRPS: 200, Limit: results.LimitMachine, MachineLimitRPS: 400, DecidedBy: "the machine is the limit at 400 rps"}
	for _, tc := range []struct {
		name        string
		sync, async *results.Capacity
		id, want    string
	}{
		{"exceeds", slo(370, 388), apiOf(slo(410, 430), results.CapacityBound{RPS: 2900, LowerRPS: 2900, UpperRPS: 3000, Limit: results.LimitSLO, DecidedBy: "drops"}), "async-api-capacity-exceeds-sync", Holds},
		// The machine ended async's API search, but above sync's failure.
		{"exceeds, machine later", slo(370, 388), apiOf(slo(410, 430), results.CapacityBound{LowerRPS: 1600, Limit: results.LimitMachine, DecidedBy: "the machine is the limit at 3200 rps"}), "async-api-capacity-exceeds-sync", Holds},
		{"does not exceed", slo(370, 388), apiOf(slo(300, 320), results.CapacityBound{RPS: 300, LowerRPS: 300, UpperRPS: 320, Limit: results.LimitSLO, DecidedBy: "api_p99"}), "async-api-capacity-exceeds-sync", DoesNotHold},
		// Async's API search bound below where sync broke: it cannot say.
		{"bound below", slo(370, 388), apiOf(slo(200, 0), results.CapacityBound{LowerRPS: 200, Limit: results.LimitMachine, DecidedBy: "the machine is the limit at 400 rps"}), "async-api-capacity-exceeds-sync", Inconclusive},
		{"sync bound", machine, slo(410, 430), "async-api-capacity-exceeds-sync", Inconclusive},
		{"no async", slo(370, 388), nil, "async-api-capacity-exceeds-sync", NotExercised},
		// The surge provider: ~425/s less ~43/s of headroom, ~382 expected.
		{"bounded", slo(370, 388), nil, "sync-capacity-bounded-by-downstream", Holds},
		{"far below", slo(200, 210), nil, "sync-capacity-bounded-by-downstream", DoesNotHold},
		{"far above", slo(600, 630), nil, "sync-capacity-bounded-by-downstream", DoesNotHold},
		{"bounded, machine", machine, nil, "sync-capacity-bounded-by-downstream", Inconclusive},
	} {
		cs := EvaluateCapacity(capacityRun(t, tc.sync, tc.async))
		c := find(t, cs, tc.id)
		if c.Verdict != tc.want {
			t.Errorf("%s: %s: got %s (%s), want %s", tc.name, tc.id, c.Verdict, c.Evidence, tc.want)
		}
	}
}

func TestDownstreamModel(t *testing.T) {
	// surge.yaml's provider: 4 slots, p50 8 ms, p99 30 ms; SLO p99 100 ms.
	d := DownstreamModel(4, 0.008, 0.030, 0.100)
	if math.Abs(d.Throughput-425.4) > 1 || d.Expected < 370 || d.Expected > 395 {
		t.Errorf("got %+v, want ~425/s served and ~382/s expected", d)
	}
	if a := erlangC(1, 0.5); math.Abs(a-0.5) > 1e-12 {
		t.Errorf("Erlang C of one server at ρ 0.5: %g, want 0.5", a)
	}
}

// TestEvaluateCapacityRun: Evaluate, which 'commbench report' calls on a
// run whose results.json has no claims, gives a capacity run its own
// claims, not the surge's about series it has not got.
func TestEvaluateCapacityRun(t *testing.T) {
	cs := Evaluate(capacityRun(t, slo(370, 388), nil))
	if len(cs) != len(capacityRules) {
		t.Fatalf("got %d claims, want the %d capacity claims", len(cs), len(capacityRules))
	}
	for i, c := range cs {
		if c.ID != capacityRules[i].id {
			t.Errorf("claim %d: got %s, want %s", i, c.ID, capacityRules[i].id)
		}
	}
}
