package reports

import (
	_ "embed" // the ECharts library
)

// EChartsVersion is the version of Apache ECharts embedded in the binary:
// the npm package echarts@5.4.3 (dist/echarts.min.js, Apache-2.0; its
// LICENSE and NOTICE are beside it in assets/). go-echarts v2.6.7 writes
// options for ECharts 5.4.3 (its README and docs/en-us/dive-into.md), and
// that is the version its own asset host serves.
const EChartsVersion = "5.4.3"

//go:embed assets/echarts.min.js
var echartsJS string

//go:embed assets/NOTICE
var echartsNotice string
