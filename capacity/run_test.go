package capacity

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// fakePatterns: sync's API breaks above 380 rps a replica, async's lag
// grows above 425 a replica and its API breaks above 3000 (the machine
// binds from 6000); capacities scale by the USL with σ = 0.1.
func fakePatterns(ctx context.Context, req StepRequest) (results.CapacityStep, error) {
	if err := ctx.Err(); err != nil {
		return results.CapacityStep{}, err
	}
	scale := Predict(&results.USL{Lambda: 1, Sigma: 0.1}, req.Replicas)
	f := &fake{knee: 380 * scale}
	if req.Pattern != pattern.Sync {
		f = &fake{knee: 3000, lagAbove: 425 * scale, bound: 6000}
	}
	st, err := f.measure(ctx, req.RPS)
	st.Replicas, st.CPUSecondsPerMillion = req.Replicas, 100
	return st, err
}

func testOptions(t *testing.T) Options {
	p, err := profiles.Lookup("../profiles", "surge")
	if err != nil {
		t.Fatal(err)
	}
	return Options{Profile: p, Patterns: []pattern.Pattern{pattern.Sync, pattern.Async}, OutRoot: filepath.Join(t.TempDir(), "runs"), StepFunc: fakePatterns}
}

func TestRun(t *testing.T) {
	o := testOptions(t)
	o.Scales, o.PeakRPS, o.PeakFor = []int{1, 2, 4}, 1000, time.Minute
	res, dir, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	read, err := results.Read(dir)
	if err != nil {
		t.Fatalf("reading the results.json it wrote: %v", err)
	}
	if latest, _ := os.Readlink(filepath.Join(filepath.Dir(o.OutRoot), "latest")); filepath.Base(latest) != filepath.Base(dir) {
		t.Errorf("latest points at %q, want the run folder %s", latest, dir)
	}
	sync, async := read.Capacity["sync"], read.Capacity["async"]
	if sync == nil || async == nil || read.SLO == nil || read.SLO.APIP99Ms != 100 {
		t.Fatalf("capacity %v, slo %v", read.Capacity, read.SLO)
	}
	if sync.RPS < 361 || sync.RPS > 380 || sync.Limit != results.LimitSLO {
		t.Errorf("sync: %g (%s), want within 5%% under 380", sync.RPS, sync.Limit)
	}
	if async.RPS < 404 || async.RPS > 425 {
		t.Errorf("async: %g, want within 5%% under 425 (the lag)", async.RPS)
	}
	if async.API.RPS < 2850 || async.API.RPS > 3000 {
		t.Errorf("async API: %+v, want within 5%% under 3000", async.API)
	}
	if len(sync.Scale) != 3 || sync.USL == nil || sync.Prediction == nil || sync.Peak == nil {
		t.Fatalf("sync scale %v usl %v prediction %v peak %v", sync.Scale, sync.USL, sync.Prediction, sync.Peak)
	}
	// The fake scales by the USL with σ = 0.1 exactly; the fit to the
	// found capacities (within 5%) gets near it.
	if sync.USL.Sigma < 0 || sync.USL.Sigma > 0.2 || sync.Prediction.Miss {
		t.Errorf("sync usl %+v, prediction %+v", sync.USL, sync.Prediction)
	}
	if async.Peak == nil || async.Peak.Backlog <= 0 {
		t.Errorf("async peak %+v: want a backlog", async.Peak)
	}
	for _, st := range append(sync.Steps, async.Steps...) {
		if st.Verdict == "" {
			t.Errorf("step %+v: no verdict", st)
		}
	}
	if len(res.Capacity["sync"].Steps) != len(sync.Steps) {
		t.Errorf("returned and written steps differ")
	}
}

func TestRunInterrupted(t *testing.T) {
	o := testOptions(t)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	o.StepFunc = func(c context.Context, req StepRequest) (results.CapacityStep, error) {
		if n++; n == 4 {
			cancel()
		}
		return fakePatterns(c, req)
	}
	res, dir, err := Run(ctx, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want ErrInterrupted", err)
	}
	read, rerr := results.Read(dir)
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !read.Run.Partial || len(read.Capacity["sync"].Steps) != 3 || read.Capacity["sync"].Limit != results.LimitInterrupted {
		t.Errorf("partial %v, steps %d, limit %q: want the 3 steps done kept", read.Run.Partial, len(read.Capacity["sync"].Steps), read.Capacity["sync"].Limit)
	}
	if _, ok := res.Capacity["async"]; ok {
		t.Error("async was searched after the interrupt")
	}
}

func TestRunMeasuresABoundStepAgain(t *testing.T) {
	// async's first step at 200 rps is bound (steal): the search asks for
	// it again, and the engine measures it again rather than answering
	// from its cache.
	o := testOptions(t)
	o.Patterns = []pattern.Pattern{pattern.Async}
	calls := map[float64]int{}
	o.StepFunc = func(ctx context.Context, req StepRequest) (results.CapacityStep, error) {
		calls[req.RPS]++
		st, err := fakePatterns(ctx, req)
		if req.RPS == 200 && calls[200] == 1 {
			st.Validity = results.ValidityMachineBound
		}
		return st, err
	}
	res, _, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if calls[200] < 2 {
		t.Errorf("200 rps measured %d times, want again after the bound one", calls[200])
	}
	if c := res.Capacity["async"]; c == nil || c.Limit == results.LimitMachine {
		t.Errorf("async: %+v, want the search past the one bound step", c)
	}
}

func TestStepProfile(t *testing.T) {
	p, err := profiles.Lookup("../profiles", "surge")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := StepProfile(p, StepRequest{Pattern: pattern.Async, Replicas: 4, RPS: 250}, StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Stages) != 1 || sp.Stages[0].Rate != 250 || sp.Stages[0].For.Std() != 40*time.Second {
		t.Errorf("stages %+v: want 250 rps for 40 s (10,000 requests)", sp.Stages)
	}
	if len(sp.Faults) != 0 || sp.Services.Notification.Replicas != 4 || sp.Services.Kafka.Partitions < 16 {
		t.Errorf("faults %v, replicas %d, partitions %d: want none, 4, at least 16", sp.Faults, sp.Services.Notification.Replicas, sp.Services.Kafka.Partitions)
	}
	if len(p.Faults) == 0 || p.Stages[0].Rate == 250 {
		t.Error("the search's profile was changed")
	}
}
