package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/results"
)

// TestRunCalibrateFlag: --calibrate takes auto or off, off by default (the
// tests' runs do not calibrate; ./bench.sh passes auto).
func TestRunCalibrateFlag(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    bool
		wantErr string
	}{
		{[]string{"--profile", "surge", "--profiles", "../../profiles"}, false, ""},
		{[]string{"--profile", "surge", "--profiles", "../../profiles", "--calibrate", "auto"}, true, ""},
		{[]string{"--profile", "surge", "--profiles", "../../profiles", "--calibrate", "off"}, false, ""},
		{[]string{"--profile", "surge", "--profiles", "../../profiles", "--calibrate", "yes"}, false, `--calibrate "yes"`},
	} {
		rf, err := parseRunFlags(tc.args)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: got %v, want an error with %q", tc.args, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case rf.calibrate != tc.want:
			t.Errorf("%v: calibrate %v, want %v", tc.args, rf.calibrate, tc.want)
		}
	}
}

// TestCalibrateRampFlags: the ramp's flags are checked before anything
// starts.
func TestCalibrateRampFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ramp", "--ramp-duration", "1s"}, "--ramp-duration 1s is too short"},
		{[]string{"--ramp", "--endpoint-delay", "-1ms"}, "--endpoint-delay -1ms"},
		{[]string{"--ramp", "--max-rate", "10"}, "--max-rate 10 is below"},
	} {
		err := cmdCalibrate(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestRunCalibrationReuses: a fresh saved calibration (this build, this
// machine, just now) is returned, marked reused, and nothing is started.
func TestRunCalibrationReuses(t *testing.T) {
	dir := t.TempDir()
	c := &harness.CalibrationRun{}
	c.At, c.Build, c.Machine, c.CeilingRPS, c.CPUUsPerReq = time.Now().UTC(), harness.BuildID(), harness.MachineID(), 12000, 30
	c.CeilingRule = harness.CeilingRule
	if _, err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	var said []string
	got := runCalibration(context.Background(), dir, func(f string, a ...any) { said = append(said, fmt.Sprintf(f, a...)) })
	if got == nil || !got.Reused || got.CeilingRPS != 12000 || got.CPUUsPerReq != 30 {
		t.Fatalf("got %+v, want the saved calibration, reused", got)
	}
	if len(said) != 1 || !strings.Contains(said[0], "reused") {
		t.Errorf("said %q, want one line saying it was reused", said)
	}
}

// TestReportRamps: report --ramp draws saved ramps into the first's .html.
func TestReportRamps(t *testing.T) {
	dir := t.TempDir()
	r := results.Ramp{Tool: "commbench", MaxRate: 1000, DurationS: 2, CPUUsPerReqAtMax: 40,
		Seconds: []results.RampSecond{{T: 1, OfferedRPS: 250}, {T: 2, OfferedRPS: 750}}}
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	if err := writeJSON(a, r); err != nil {
		t.Fatal(err)
	}
	r.Tool, r.CPUUsPerReqAtMax = "other", 80
	if err := writeJSON(b, r); err != nil {
		t.Fatal(err)
	}
	if err := cmdReport([]string{"--ramp", a, b}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "a.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "0.50× (40.0 / 80.0 µs)") {
		t.Error("the page lacks the ratio of CPU per request")
	}
	if err := cmdReport([]string{"--ramp", filepath.Join(dir, "missing.json")}); err == nil {
		t.Error("a missing ramp: no error")
	}
}
