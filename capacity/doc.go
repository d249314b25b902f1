// Package capacity finds each pattern's capacity under an SLO: the highest
// steady rate at which the API's p99, the drops, time-to-notify and the
// consumer lag all stay within it. It searches adaptively (double the
// rate until a step breaks the SLO, then bisect), judges every step on
// the same validity rules as every run (a bound step ends the search: the
// machine is the limit, never a capacity), fits the Universal Scalability
// Law to the capacities at several scales and plans for a peak.
//
// [Search] is the search alone, over any function from a rate to a step;
// [Run] drives it with real runs (package harness), one steady rate per
// step, and writes one run folder. commbench capacity parses the flags
// and calls Run.
package capacity
