package harness

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
	"github.com/commbench/commbench/targets/wire"
	"github.com/commbench/commbench/validity"
)

// Calibration defaults: the whole calibration takes about a minute at most.
const (
	DefaultCalibrateMaxRate = 64000
	DefaultCalibrateStep    = 3 * time.Second
	DefaultCalibrateBudget  = 60 * time.Second
	CalibrateStartRate      = 1000
	CalibrateFloorRate      = 1000
	CalibrateCPURate        = 5000 // the rate at which the generator's CPU per request is measured
	CalibrateAchievedFrac   = 0.99 // a rate passes when at least this fraction of it is achieved
	// CalibrateLateFrac: and when at most this fraction of its sends left
	// more than loadgen.DefaultLateTolerance late, the rule that marks a
	// run's second generator-bound (validity.DefaultLateFraction). Without
	// it a step 92% late (64,000 rps on 2 cores, p50 95 ms) passed: the
	// sends caught up before the step's cut, so 99.98% was achieved.
	CalibrateLateFrac        = validity.DefaultLateFraction
	calibrateBisectPrecision = 0.05 // stop bisecting when the gap is below 5% of the ceiling
	calibratePause           = 250 * time.Millisecond
	// CalibrateMaxWorkers bounds the requests in flight, as the profiles'
	// default attack.max_workers does in a run: unbounded, a step far past
	// the ceiling opened a connection per request in flight until the
	// endpoint ran out of file descriptors (20,000) at 32,000 rps.
	CalibrateMaxWorkers = 4096
)

// CalibrateOptions configure [Calibrate]. Zero fields take the defaults.
type CalibrateOptions struct {
	Target       string         // base URL of a null endpoint (ServeNull) on loopback
	MaxRate      float64        // the highest rate tried; DefaultCalibrateMaxRate
	StepDuration time.Duration  // how long each rate is held, the floor's too; DefaultCalibrateStep
	Budget       time.Duration  // no step starts that would end after it; DefaultCalibrateBudget
	Endpoint     string         // how the null endpoint runs, for the record ("child process")
	Client       loadgen.Client // the generator's HTTP client; "" is loadgen's default
	// Progress, if set, is called after each step.
	Progress func(CalibrationStep)
}

// CalibrationStep is one rate held for StepDuration.
type CalibrationStep struct {
	Phase       string  `json:"phase"` // "floor", "double" or "bisect"
	RateRPS     float64 `json:"rate_rps"`
	AchievedRPS float64 `json:"achieved_rps"` // accepted answers to hits sent within the step, per second
	Sent        int64   `json:"sent"`
	Accepted    int64   `json:"accepted"`
	Late        int64   `json:"late"` // sent more than loadgen.DefaultLateTolerance after their time
	Drops       int64   `json:"drops"`
	P50Ms       float64 `json:"p50_ms"` // from the intended send time
	P99Ms       float64 `json:"p99_ms"`
	// CPUUsPerReq is this process's CPU time (user + system, every thread)
	// while the step ran, per request sent, in µs: the generator's cost,
	// the null endpoint being another process.
	CPUUsPerReq float64 `json:"cpu_us_per_request"`
	Pass        bool    `json:"pass"` // achieved >= 99% of the rate, and late <= 1% of sent
	// Verdict says it in words: "ok", "late > 1%" or "below 99%".
	Verdict string `json:"verdict"`
}

// CalibrationRun is what calibrate writes: the Calibration that runs record,
// and how it was found.
type CalibrationRun struct {
	results.Calibration
	Capped     bool    `json:"capped"` // the ceiling is the highest rate tried: the real one is higher
	MaxRate    float64 `json:"max_rate"`
	StepS      float64 `json:"step_s"`
	Endpoint   string  `json:"endpoint"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	Client     string  `json:"client"`
	// CeilingRule is the rule a step passed by (CeilingRule); a file
	// without it was saved under the older, achieved-only rule.
	CeilingRule string `json:"ceiling_rule"`
	// The embedded Calibration's CPURate and CPUUsPerReq are the
	// generator's CPU per request at CalibrateCPURate (or MaxRate if
	// lower), from the "cpu" step.
	Steps []CalibrationStep `json:"steps"`
}

// Calibrate measures the generator's own floor and ceiling against the null
// endpoint at o.Target: the corrected p50 and p99 at 1,000 rps, then the
// rate doubled from there until a rate fails (less than 99% of it achieved,
// or more than 1% of its sends late) or MaxRate passes, then bisected
// between the last rate that passed and the first that failed. The ceiling
// is the highest rate that passed.
//
// A rate's achieved rate counts the hits that were both sent within the
// step's schedule and accepted: like the Vegeta CLI, a step stops at its
// duration and never sends the hits it fell behind on.
func Calibrate(ctx context.Context, o CalibrateOptions) (*CalibrationRun, error) {
	if err := loadgen.CheckTarget(o.Target, false); err != nil {
		return nil, err
	}
	maxRate := cmp.Or(o.MaxRate, DefaultCalibrateMaxRate)
	step := cmp.Or(o.StepDuration, DefaultCalibrateStep)
	budget := cmp.Or(o.Budget, DefaultCalibrateBudget)
	began := time.Now()
	client, err := loadgen.ParseClient(string(o.Client))
	if err != nil {
		return nil, err
	}
	c := &CalibrationRun{MaxRate: maxRate, StepS: step.Seconds(), Endpoint: o.Endpoint, GOMAXPROCS: runtime.GOMAXPROCS(0), Client: string(client), CeilingRule: CeilingRule}
	c.At = began.UTC()
	c.Build, c.Machine, c.BudgetS = BuildID(), MachineID(), budget.Seconds()
	var firstID uint64 = 1
	fits := func() bool { return time.Since(began)+step+calibratePause <= budget }

	hold := func(phase string, rate float64) (CalibrationStep, error) {
		st, err := holdRate(ctx, holdOptions{target: o.Target, rate: rate, d: step, firstID: firstID, client: client})
		firstID += uint64(rate*step.Seconds()) + 1
		st.Phase = phase
		if err == nil {
			c.Steps = append(c.Steps, st)
			if o.Progress != nil {
				o.Progress(st)
			}
		}
		return st, err
	}

	floor, err := hold("floor", CalibrateFloorRate)
	if err != nil {
		return nil, err
	}
	c.FloorRPS = CalibrateFloorRate
	c.FloorMs.P50, c.FloorMs.P99 = floor.P50Ms, floor.P99Ms
	c.CPURate = min(CalibrateCPURate, maxRate)
	if c.CPUUsPerReq, err = cpuStep(hold, c.CPURate); err != nil {
		return nil, err
	}

	// Double until a rate fails, then bisect. The floor is the first
	// doubling step.
	pass, fail := 0.0, 0.0
	if floor.Pass {
		pass = CalibrateFloorRate
	} else {
		fail = CalibrateFloorRate
	}
	for rate := min(2*pass, maxRate); pass > 0 && pass < maxRate && fits(); rate = min(2*rate, maxRate) {
		st, err := hold("double", rate)
		if err != nil {
			return nil, err
		}
		if !st.Pass {
			fail = rate
			break
		}
		pass = rate
	}
	c.Capped = pass >= maxRate
	for fail > 0 && fail-pass > calibrateBisectPrecision*max(pass, CalibrateStartRate) && fits() {
		rate := float64(int((pass+fail)/2/100) * 100) // round hundreds read better
		if rate <= pass {
			break
		}
		st, err := hold("bisect", rate)
		if err != nil {
			return nil, err
		}
		if st.Pass {
			pass = rate
		} else {
			fail = rate
		}
	}
	c.CeilingRPS = pass
	return c, nil
}

// cpuStep holds rate with hold and returns the generator's CPU per request.
func cpuStep(hold func(string, float64) (CalibrationStep, error), rate float64) (float64, error) {
	st, err := hold("cpu", rate)
	return st.CPUUsPerReq, err
}

// holdOptions are one step of a calibration.
type holdOptions struct {
	target  string
	rate    float64
	d       time.Duration
	firstID uint64
	client  loadgen.Client
}

// holdRate sends rate hits per second for d and measures what came back,
// and what this process's CPU time grew by meanwhile.
func holdRate(ctx context.Context, h holdOptions) (CalibrationStep, error) {
	st := CalibrationStep{RateRPS: h.rate}
	pacer, err := loadgen.NewStagePacer(loadgen.Stage{For: h.d, From: h.rate, To: h.rate})
	if err != nil {
		return st, err
	}
	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due})
	cpu0 := processCPU()
	err = loadgen.Attack(ctx, loadgen.AttackOptions{
		Target:     h.target,
		Pacer:      pacer,
		KeepAlive:  true, // the rest as the Vegeta CLI's defaults
		MaxWorkers: CalibrateMaxWorkers,
		FirstID:    h.firstID,
		// Cut the step one interval after its last hit is due, as the Vegeta
		// CLI does (its pacer sends hit n at (n-1)/rate, ours at n/rate):
		// hits fallen behind further are never sent.
		Slack:  time.Duration(float64(time.Second) / h.rate),
		Client: h.client,
	}, rec)
	cpu := processCPU() - cpu0
	if err != nil {
		return st, err
	}
	t := rec.Totals()
	api, _ := rec.Histograms()
	st.Sent, st.Accepted, st.Late, st.Drops = t.Requests, t.Accepted, t.Late, t.Drops.Total
	st.AchievedRPS = float64(t.Accepted) / h.d.Seconds()
	st.P50Ms, st.P99Ms = ms(api.ValueAtQuantile(50)), ms(api.ValueAtQuantile(99))
	if t.Requests > 0 {
		st.CPUUsPerReq = float64(cpu.Microseconds()) / float64(t.Requests)
	}
	achieved := float64(t.Accepted) >= CalibrateAchievedFrac*float64(pacer.Total())
	onTime := float64(t.Late) <= CalibrateLateFrac*float64(t.Requests)
	st.Pass = achieved && onTime
	switch {
	case st.Pass:
		st.Verdict = "ok"
	case !onTime:
		st.Verdict = "late > 1%"
	default:
		st.Verdict = "below 99%"
	}
	time.Sleep(calibratePause) // let the last connections close
	return st, ctx.Err()
}

// processCPU returns this process's CPU time so far, user and system, all
// threads; 0 where getrusage(2) fails.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ServeNull serves a null reaction endpoint on ln until ctx is done: every
// request is answered 202 with no body, without reading more than fasthttp
// must, after delay (0: at once). It is what calibrate measures the
// generator against; a delay keeps rate × delay requests in flight, as a
// slow service does.
func ServeNull(ctx context.Context, ln net.Listener, delay time.Duration) error {
	s := &fasthttp.Server{
		Handler: func(c *fasthttp.RequestCtx) {
			if delay > 0 {
				time.Sleep(delay)
			}
			c.SetStatusCode(fasthttp.StatusAccepted)
		},
		Name:                          "commbench-null",
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		MaxRequestBodySize:            wire.MaxBodyBytes,
		ReadTimeout:                   time.Minute,
		IdleTimeout:                   time.Minute,
	}
	stop := context.AfterFunc(ctx, func() { _ = s.Shutdown() })
	defer stop()
	if err := s.Serve(patientListener{ln}); err != nil {
		return err
	}
	return nil
}

// patientListener retries Accept when the process is out of file
// descriptors (EMFILE, ENFILE) instead of failing: fasthttp's Serve takes
// any error but a timeout as permanent and returns, so a load that opened
// more connections than the endpoint may hold killed it for the rest of
// the sitting. The connections beyond wait in the listen backlog (or time
// out at the client) until some close. It stops when the listener closes.
type patientListener struct{ net.Listener }

func (l patientListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		return c, err
	}
}

// ErrNoCalibration is returned by LatestCalibration on a machine never
// calibrated; it wraps fs.ErrNotExist.
var ErrNoCalibration = fmt.Errorf("no calibration: run 'commbench calibrate' once on this machine: %w", fs.ErrNotExist)

// CachePath returns the file calibrate writes: calibration.json in the
// cache folder dir ("" means broker.DefaultCacheDir(); cmd passes
// $COMMBENCH_CACHE).
func CachePath(dir string) string {
	if dir == "" {
		dir = broker.DefaultCacheDir()
	}
	return filepath.Join(dir, "calibration.json")
}

// Save writes c to CachePath(dir), atomically, and returns the path.
func (c *CalibrationRun) Save(dir string) (string, error) {
	path := CachePath(dir)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("calibration: %w", err)
	}
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("calibration: %w", err)
	}
	return path, os.Rename(tmp, path)
}

// LatestCalibration reads the calibration last saved in the cache folder
// dir. It returns ErrNoCalibration when there is none.
func LatestCalibration(dir string) (*results.Calibration, error) {
	path := CachePath(dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoCalibration
	}
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	var c struct {
		results.Calibration
		CeilingRule string `json:"ceiling_rule"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w; run 'commbench calibrate' again", path, err)
	}
	if c.CeilingRule != CeilingRule {
		// Its ceiling may be a rate the generator served seconds late.
		return nil, fmt.Errorf("%s was saved under an older ceiling rule (achieved only); run 'commbench calibrate' again", path)
	}
	return &c.Calibration, nil
}

// CeilingRule says how a calibration step passes, as saved with it.
const CeilingRule = "achieved>=99%,late<=1%"
