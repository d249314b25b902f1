package harness

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/trace"
	"time"

	"github.com/commbench/commbench/loadgen"
	"github.com/commbench/commbench/results"
)

// Ramp defaults (commbench calibrate --ramp).
const (
	DefaultRampMaxRate  = 20000
	DefaultRampDuration = 40 * time.Second
	// RampAtMaxFrac: the CPU per request "at the maximum" is taken over
	// the seconds offered at least this fraction of the maximum rate.
	RampAtMaxFrac = 0.9
	// RampMaxWorkers bounds the requests in flight: with the endpoint
	// answering after 50 ms, 20,000 rps is 1,000 in flight (Little's law),
	// so this leaves four times the room. With 16,384, a stall at 15,750
	// rps (a surge run with its broker shared the 2 cores) opened 14,500
	// connections within a second and left 18,000 sockets in TIME-WAIT.
	RampMaxWorkers = CalibrateMaxWorkers
)

// RampOptions configure [CalibrateRamp]. Zero fields take the defaults.
type RampOptions struct {
	Target        string        // base URL of a null endpoint (ServeNull) on loopback
	MaxRate       float64       // the rate at the ramp's end; DefaultRampMaxRate
	Duration      time.Duration // DefaultRampDuration
	EndpointDelay time.Duration // how long the endpoint waits before it answers, for the record
	Client        loadgen.Client
	FirstID       uint64
	// Trace, if set, is a file to record a Go execution trace of the
	// attack to (runtime/trace): what the pacer waited for, goroutine by
	// goroutine.
	Trace string
	// Progress, if set, is called with each second as it is measured.
	Progress func(results.RampSecond)
}

// CalibrateRamp sends a schedule rising linearly from 0 to o.MaxRate over
// o.Duration to the null endpoint at o.Target and measures each second:
// the rate offered, sent and achieved, the late sends and the send lag, the
// generator's CPU (this process's: the endpoint is another), its workers
// and its connections.
func CalibrateRamp(ctx context.Context, o RampOptions) (*results.Ramp, error) {
	if err := loadgen.CheckTarget(o.Target, false); err != nil {
		return nil, err
	}
	client, err := loadgen.ParseClient(string(o.Client))
	if err != nil {
		return nil, err
	}
	maxRate := cmp.Or(o.MaxRate, DefaultRampMaxRate)
	d := cmp.Or(o.Duration, DefaultRampDuration)
	pacer, err := loadgen.NewStagePacer(loadgen.Stage{For: d, From: 0, To: maxRate})
	if err != nil {
		return nil, err
	}
	r := &results.Ramp{
		Tool: "commbench", Client: string(client), MaxRate: maxRate, DurationS: d.Seconds(),
		EndpointDelayMs: float64(o.EndpointDelay) / float64(time.Millisecond),
		At:              time.Now().UTC(), GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
	rec := loadgen.NewRecorder(loadgen.RecorderOptions{Due: pacer.Due})
	if o.Trace != "" {
		stop, err := StartTrace(o.Trace)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		done <- loadgen.Attack(ctx, loadgen.AttackOptions{
			Target: o.Target, Pacer: pacer, KeepAlive: true,
			MaxWorkers: RampMaxWorkers, FirstID: cmp.Or(o.FirstID, 1),
			Slack: time.Second, Client: client,
		}, rec)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	cpu0, prev := processCPU(), start
	meter := newHostMeter()
	record := func(now time.Time) {
		s := rec.Tick(now)
		cpu := processCPU()
		sec := rampSecond(pacer, start, prev, now, s, cpu-cpu0)
		_, sec.StealCores = meter.sample()
		r.Seconds = append(r.Seconds, sec)
		if o.Progress != nil {
			o.Progress(r.Seconds[len(r.Seconds)-1])
		}
		cpu0, prev = cpu, now
	}
	for {
		select {
		case now := <-tick.C:
			record(now)
		case err := <-done:
			if err != nil {
				return r, err
			}
			// The last answers came within this second: wait for its tick
			// (so the window is a whole second like the others) and record it.
			record(<-tick.C)
			SummarizeRamp(r)
			return r, nil
		}
	}
}

// rampSecond is the window (from, to] of a ramp that began at start: s
// from the recorder's Tick at to, cpu the generator's CPU time in it.
func rampSecond(p loadgen.StagePacer, start, from, to time.Time, s loadgen.Second, cpu time.Duration) results.RampSecond {
	w := to.Sub(from).Seconds()
	if w <= 0 {
		return results.RampSecond{T: to.Sub(start).Seconds()}
	}
	due := float64(p.Hits(to.Sub(start)) - p.Hits(from.Sub(start)))
	return results.RampSecond{
		T:            math.Round(to.Sub(start).Seconds()*1000) / 1000,
		OfferedRPS:   due / w,
		SentRPS:      float64(s.Sent) / w,
		AchievedRPS:  float64(s.Accepted) / w,
		LateSends:    s.Late,
		SendLagP50Ms: s.SendLagP50, SendLagP99Ms: s.SendLagP99, SendLagMaxMs: s.SendLagMax,
		CPUCores: cpu.Seconds() / w,
		Workers:  s.Workers, Conns: s.Conns,
		LateByCause: lateByCause(s.LateBy),
	}
}

// SummarizeRamp sets r's HeldRPS and CPUUsPerReqAtMax from its seconds.
func SummarizeRamp(r *results.Ramp) {
	r.HeldRPS, r.CPUUsPerReqAtMax = 0, 0
	slack := rampSlack(r)
	for _, s := range r.Seconds {
		if s.OfferedRPS <= 0 {
			continue // the slack after the schedule: nothing was due
		}
		if !rampOnTime(s, slack) {
			break
		}
		r.HeldRPS = max(r.HeldRPS, s.OfferedRPS)
	}
	r.LateSeconds = 0
	var cpu, sent float64
	for _, s := range r.Seconds {
		if float64(s.LateSends) > CalibrateLateFrac*max(s.SentRPS, 1) {
			r.LateSeconds++
		}
		if s.OfferedRPS >= RampAtMaxFrac*r.MaxRate*(1-1e-3) { // a second's mean rate may round just below
			cpu += s.CPUCores // each window about a second: cores × 1 s
			sent += s.SentRPS
		}
	}
	if sent > 0 {
		r.CPUUsPerReqAtMax = cpu / sent * 1e6
	}
}

// rampOnTime is calibrate's rule for a step (CeilingRule) applied to one
// second: at least 99% of the offered rate achieved, at most 1% of the
// sends late. Achieved counts answers by when they came, so a second of a
// rising ramp is short of its offered rate by the rise over the endpoint's
// delay (50 ms at 500 rps per second: 25 rps): slack allows that much.
func rampOnTime(s results.RampSecond, slack float64) bool {
	late := float64(s.LateSends) <= CalibrateLateFrac*max(s.SentRPS, 1)
	return late && s.AchievedRPS >= CalibrateAchievedFrac*s.OfferedRPS-slack
}

// rampSlack is the achieved rate a second of r may fall short of its
// offered rate by (rampOnTime): the ramp's rise over the endpoint's delay,
// plus one request.
func rampSlack(r *results.Ramp) float64 {
	if r.DurationS <= 0 {
		return 1
	}
	return r.MaxRate/r.DurationS*r.EndpointDelayMs/1000 + 1
}

// StartTrace starts a runtime/trace into the file path; stop ends it and
// closes the file. scripts/pacer-trace.py reads what the pacer waited
// for out of it.
func StartTrace(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("trace %s: %w", path, err)
	}
	return func() { trace.Stop(); f.Close() }, nil
}
