package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/commbench/commbench/results"
)

// The short calibration a run starts itself when no fresh one is saved
// (commbench run --calibrate auto): the steps of [Calibrate], each held
// 2 s, within 25 s, so that with the null endpoint's start and the pauses
// it takes at most 30 s.
const (
	ShortCalibrateStep   = 2 * time.Second
	ShortCalibrateBudget = 25 * time.Second
	// CalibrationMaxAge: a calibration older than this is not fresh.
	CalibrationMaxAge = 24 * time.Hour
)

// BuildID names the running executable: its vcs revision (with
// "+modified" for a dirty tree) when the build recorded one, and the
// first 12 bytes of the SHA-256 of its file, so that two builds of one
// dirty tree differ too. "unknown" when the file cannot be read.
var BuildID = sync.OnceValue(func() string {
	var rev string
	if bi, ok := debug.ReadBuildInfo(); ok {
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && dirty {
			rev += "+modified"
		}
	}
	sum := "unknown"
	if exe, err := os.Executable(); err == nil {
		if f, err := os.Open(exe); err == nil {
			h := sha256.New()
			if _, err := io.Copy(h, f); err == nil {
				sum = hex.EncodeToString(h.Sum(nil)[:12])
			}
			f.Close()
		}
	}
	if rev == "" {
		return "sha256:" + sum
	}
	return rev + " sha256:" + sum
})

// MachineID names this machine as it booted: its host name,
// /etc/machine-id and the kernel's boot id (where there are), its CPUs and
// CPU model. The boot id is there because machines cloned from one image
// share their host name and machine id: a fresh machine, or this one
// rebooted, calibrates again.
var MachineID = sync.OnceValue(func() string {
	host, _ := os.Hostname()
	id, _ := os.ReadFile("/etc/machine-id")
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	m := machine()
	return fmt.Sprintf("%s %s boot %s %d×%s", host, strings.TrimSpace(string(id)), strings.TrimSpace(string(boot)), runtime.NumCPU(), m.CPUModel)
})

// CalibrationStale says why the calibration c is not fresh for a run of
// this build on this machine at now: another build, another machine, or
// older than CalibrationMaxAge. "" means it is fresh.
func CalibrationStale(c *results.Calibration, now time.Time) string {
	switch {
	case c.Build == "":
		return "it does not say which build it measured"
	case c.Build != BuildID():
		return "it measured another build (" + c.Build + ")"
	case c.Machine != MachineID():
		return "it measured another machine"
	case now.Sub(c.At) > CalibrationMaxAge:
		return fmt.Sprintf("it is %s old (fresh: under a day)", now.Sub(c.At).Round(time.Minute))
	case c.At.After(now.Add(time.Minute)):
		return "it is dated in the future"
	}
	return ""
}

// ErrStaleCalibration is returned by FreshCalibration when the saved
// calibration is not fresh.
var ErrStaleCalibration = errors.New("not fresh")

// FreshCalibration returns the calibration saved in the cache folder dir
// when it is fresh (CalibrationStale), ErrNoCalibration when there is none,
// and an error wrapping ErrStaleCalibration, saying why, when it is stale.
func FreshCalibration(dir string, now time.Time) (*results.Calibration, error) {
	c, err := LatestCalibration(dir)
	if err != nil {
		return nil, err
	}
	if why := CalibrationStale(c, now); why != "" {
		return nil, fmt.Errorf("%w: %s", ErrStaleCalibration, why)
	}
	return c, nil
}
