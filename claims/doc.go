// Package claims checks the classic claims about synchronous and
// asynchronous communication ("sync blocks the caller", "the broker is a
// single point of failure", ...) against one run's results.json, and says
// for each whether this run shows it holding, not holding, mixed, or does
// not exercise it at all; or that it is inconclusive, when the machine, not
// the pattern, may have set the numbers the rule read (bound seconds
// without which the verdict would differ, a pattern that is not ok) or the
// run was partial.
//
// Every rule uses only what results.json holds (summaries, per-second
// series, fault windows, the profile as it ran) and is written down beside
// its code, so that a verdict can be checked by hand from the same file.
package claims
