package claims_test

import (
	"fmt"

	"github.com/commbench/commbench/claims"
	"github.com/commbench/commbench/results"
)

// Evaluate reads a run's results and says, claim by claim, what the run
// shows. Here only the summaries of a sync and an async run are known, so
// only the claims that compare them have a verdict.
func ExampleEvaluate() {
	r := &results.Results{
		Schema: results.SchemaVersion,
		Order:  []string{"sync", "async"},
		Patterns: map[string]*results.Pattern{
			"sync":  {Summary: results.Summary{API: results.Percentiles{P50: 1327, P99: 4518}, Notify: results.Percentiles{P50: 27.7, P99: 714.8}, Accepted: 171916}},
			"async": {Summary: results.Summary{API: results.Percentiles{P50: 43.2, P99: 1098.8}, Notify: results.Percentiles{P50: 48.5, P99: 10911.7}, Accepted: 202500}},
		},
	}
	for _, c := range claims.Evaluate(r) {
		fmt.Printf("%-27s %s\n", c.ID, c.Verdict)
	}
	fmt.Println(claims.Evaluate(r)[0].Evidence)
	// Output:
	// sync-blocks-caller          holds
	// sync-provision-for-peak     not exercised
	// sync-cascades               not exercised
	// sync-couples-deployments    not exercised
	// async-absorbs-surge         not exercised
	// async-retries-dead-letters  not exercised
	// async-eventual-consistency  holds
	// broker-spof                 not exercised
	// tracing-harder              not exercised
	// lb-hop-3-5ms                not exercised
	// fanout-free-for-producer    not exercised
	// Sync's callers waited 1327 ms at p50 and 4518 ms at p99, the notification's own 27.7 ms (time-to-notify p50) included, since the 201 comes after it; async's callers waited 43.2 ms and 1099 ms under the same load.
}
