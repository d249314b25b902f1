//go:build race

package targets_test

// raceEnabled: the race detector allows at most 8,128 live goroutines, and
// each served connection is one.
const raceEnabled = true
