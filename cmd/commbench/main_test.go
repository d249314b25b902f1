package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the commbench binary the gate's tests built (34 MB in
// its own temporary folder; one was left per test run before).
func TestMain(m *testing.M) {
	code := m.Run()
	if gateBin != "" {
		os.RemoveAll(filepath.Dir(gateBin))
	}
	os.Exit(code)
}
