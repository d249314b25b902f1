// Package harness runs a benchmark: a preflight of the profile, then for
// each pattern fresh services and its parts (chain, fan-out, replicas
// behind nginx, faults), a warmup, the attack that package loadgen drives,
// the samplers, the drain and the reconciliation against the ledger. It
// also merges the run folders of a sharded run and calibrates the
// generator against a null endpoint.
package harness
