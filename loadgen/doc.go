// Package loadgen is the load generator as a library: it sends an
// open-model load at one URL, records latency in HdrHistograms, and
// classifies what failed. It starts no process and knows no service; the
// run around it (services, faults, sampling, reconciliation) is package
// harness.
//
// The arrival schedule comes from a [StagePacer]: piecewise-linear stages of
// arrival rate whose hits are due when the integral of the rate reaches each
// whole number, whatever the target does. Latency is measured from that
// intended time as well as from the actual send, so a stalled target cannot
// hide its latency (coordinated omission).
//
// The requests go out through a [Client]: fasthttp by default (commbench's
// own attack loop over the pacer, a request and response reused per
// worker), or vegeta's own attacker over net/http. Both record the same
// vegeta.Result into the same [Recorder].
package loadgen
