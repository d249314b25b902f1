// Package results is the results.json schema of a run folder, with its
// readers and writers: the run, and per pattern key a summary and
// per-second series ([Results], [Read], [Results.Write]); the keys
// themselves ([Key]); the drop classes ([Drops]); the claims' verdicts
// ([Claim]); and the HdrHistogram interval logs beside results.json
// ([IntervalLog], [ReadIntervalLog]).
//
// The load generator writes it; the report, the claims and the gate read
// it. It imports none of the services, no Kafka client and no HTTP
// generator, so that reading a run needs none of them. The schema is
// documented field by field in docs/results.md.
package results
