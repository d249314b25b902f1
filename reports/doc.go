// Package reports renders a run folder's results.json into index.html, the
// report people open after a run: every pattern side by side in ECharts
// charts (drawn with go-echarts), a summary table and the run's context. The
// page works offline: the ECharts library is embedded in the binary and
// inlined into the page, so a report is one self-contained file.
package reports
