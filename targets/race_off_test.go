//go:build !race

package targets_test

const raceEnabled = false
