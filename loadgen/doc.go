// Package loadgen drives an open-model load at the services, records latency
// in HdrHistograms, and samples the system while it runs.
//
// The arrival schedule comes from a [StagePacer]: piecewise-linear stages of
// arrival rate whose hits are due when the integral of the rate reaches each
// whole number, whatever the target does. Latency is measured from that
// intended time as well as from the actual send, so a stalled target cannot
// hide its latency (coordinated omission).
package loadgen
