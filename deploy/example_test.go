package deploy_test

import (
	"fmt"

	"github.com/commbench/commbench/deploy"
)

// The Job's pod arguments refer to its completion index and the run's
// ConfigMap as $(VAR); the kubelet expands them as Expand does.
func ExampleExpand() {
	env := map[string]string{deploy.EnvIndex: "2", deploy.EnvShards: "3"}
	fmt.Println(deploy.Expand("--shard $(JOB_COMPLETION_INDEX)/$(BENCH_SHARDS)", env))
	fmt.Println(deploy.Expand("--out /runs/shard-$(JOB_COMPLETION_INDEX)", env))
	// Output:
	// --shard 2/3
	// --out /runs/shard-2
}
