package main

import (
	"strings"
	"testing"
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
