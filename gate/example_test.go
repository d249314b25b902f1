package gate_test

import (
	"fmt"
	"time"

	"github.com/commbench/commbench/gate"
	"github.com/commbench/commbench/results"
)

func ExampleCompare() {
	run := func(id string, p99 float64) *results.Results {
		s := results.Summary{Requests: 1000, AchievedRPS: 400}
		s.API.P99, s.Notify.P99 = p99, 40
		return &results.Results{Run: results.RunInfo{ID: id}, Order: []string{"sync"},
			Patterns: map[string]*results.Pattern{"sync": {Summary: s}}}
	}
	th := gate.Thresholds{P99Tolerance: 0.25, P99Floor: 2 * time.Millisecond, DropTolerance: 0.01, RateTolerance: 0.05}
	r := gate.Compare(run("baseline", 10), run("pr-42", 20), th)
	for _, row := range r.Rows {
		fmt.Printf("%s %s: %.1f -> %.1f (limit %.1f) %s\n", row.Pattern, row.Metric, row.Baseline, row.Now, row.Limit, row.Verdict)
	}
	fmt.Println("failed:", r.Failed())
	// Output:
	// sync api p99: 10.0 -> 20.0 (limit 12.5) REGRESSION
	// sync notify p99: 40.0 -> 40.0 (limit 50.0) ok
	// sync drop ratio: 0.0 -> 0.0 (limit 0.0) ok
	// sync lost: 0.0 -> 0.0 (limit 0.0) ok
	// sync achieved rate: 400.0 -> 400.0 (limit 380.0) ok
	// failed: true
}
