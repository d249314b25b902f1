package capacity

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/commbench/commbench/broker"
	"github.com/commbench/commbench/harness"
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
	"github.com/commbench/commbench/results"
)

// realSteps runs steps with the harness, on one broker for the whole
// search (each step its own topics and fresh services).
type realSteps struct {
	e      *engine
	broker *broker.Broker // nil when no pattern uses Kafka
	stop   bool           // the search started it
}

// upReal readies the broker, when a pattern needs one.
func upReal(ctx context.Context, e *engine) (*realSteps, error) {
	r := &realSteps{e: e, broker: e.o.Harness.Existing}
	if r.broker != nil || !slices.ContainsFunc(e.o.Patterns, pattern.Pattern.UsesKafka) {
		return r, nil
	}
	bo := e.o.Harness.Broker
	p := e.o.Profile
	bo.Partitions = partitions(p, slices.Max(e.o.Scales))
	if bo.Exe == "" {
		bo.Exe = e.o.Harness.Exe
	}
	if bo.Log == nil {
		bo.Log = logLines(e.o.Logf)
	}
	b, err := broker.Up(ctx, bo)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	r.broker, r.stop = b, true
	return r, nil
}

func (r *realSteps) close() {
	if r.stop {
		if err := r.broker.Stop(context.Background()); err != nil {
			r.e.o.Logf("stopping the broker: %v", err)
		}
	}
}

// partitions is the topic's partitions at n replicas: the profile's, or
// more, so that every consumer of the group has one.
func partitions(p *profiles.Profile, n int) int {
	return max(p.Services.Kafka.Partitions, n*p.Services.Notification.Consumers)
}

// StepProfile is the profile one step runs: the search's profile with one
// steady stage at req.RPS for length, no faults and no variants, the
// notification side at req.Replicas.
func StepProfile(p *profiles.Profile, req StepRequest, so StepOptions) (*profiles.Profile, error) {
	so = so.withDefaults()
	sp := *p
	sp.Name = fmt.Sprintf("%s-%s-x%d-%.0f", p.Name, req.Pattern, req.Replicas, req.RPS)
	sp.Description = fmt.Sprintf("capacity step: %s at %.0f rps, %d replica(s)", req.Pattern, req.RPS, req.Replicas)
	sp.Patterns = []pattern.Pattern{req.Pattern}
	sp.Stages = []profiles.Stage{{For: profiles.Duration(so.Length(req.RPS)), Rate: req.RPS, To: req.RPS}}
	sp.Warmup = profiles.Warmup{For: profiles.Duration(so.Warmup), Rate: min(p.Warmup.Rate, req.RPS)}
	sp.Faults, sp.Variants = nil, nil
	sp.Drain.Timeout = profiles.Duration(so.Drain)
	n := sp.Services.Notification
	n.Replicas, n.Balancer = req.Replicas, profiles.BalancerNone
	if req.Scaled || req.Replicas > 1 {
		n.Balancer = profiles.BalancerNginx
	}
	sp.Services.Notification = n
	sp.Services.Kafka.Partitions = partitions(p, req.Replicas)
	if err := sp.Validate(); err != nil {
		return nil, fmt.Errorf("the step's profile: %w", err)
	}
	return &sp, nil
}

// step runs one step: a whole harness run of one pattern at one steady
// rate, in its own folder under the search's steps/.
func (r *realSteps) step(ctx context.Context, req StepRequest) (results.CapacityStep, error) {
	e := r.e
	sp, err := StepProfile(e.o.Profile, req, e.o.Step)
	if err != nil {
		return results.CapacityStep{}, err
	}
	ho := e.o.Harness
	ho.Profile, ho.ProfileFile, ho.Patterns = sp, e.o.ProfileFile, sp.Patterns
	ho.ProfileYAML, _ = yaml.Marshal(sp)
	ho.OutRoot, ho.NoLatest, ho.Existing = filepath.Join(e.dir, "steps"), true, r.broker
	ho.Progress, ho.Repeat = nil, 1
	label := fmt.Sprintf("%s ×%d %.0f rps", req.Pattern, req.Replicas, req.RPS)
	ho.Logf = func(format string, args ...any) {
		// The harness's warnings only: the search prints a line a step.
		if msg := fmt.Sprintf(format, args...); strings.HasPrefix(msg, "WARNING") {
			e.o.Logf("%s: %s", label, msg)
		}
	}
	res, dir, err := harness.Run(ctx, ho)
	if err != nil {
		if ctx.Err() != nil {
			return results.CapacityStep{}, ctx.Err()
		}
		return results.CapacityStep{}, err
	}
	if res == nil || len(res.Order) == 0 {
		return results.CapacityStep{}, fmt.Errorf("the step's run measured nothing")
	}
	st := StepOf(res.Patterns[res.Order[0]], req.RPS, req.Replicas)
	st.Dir, _ = filepath.Rel(e.dir, dir)
	e.adopt(res)
	return st, nil
}

// adopt records, from a step's run, what the search's results say of the
// machine, the broker and the calibration.
func (e *engine) adopt(step *results.Results) {
	run := &e.res.Run
	if run.Machine.CPUs == 0 {
		run.Machine, run.Host, run.Validity = step.Run.Machine, step.Run.Host, step.Run.Validity
	}
	if run.Broker.Kind == "" {
		run.Broker = step.Run.Broker
	}
	if run.Calibration == nil {
		run.Calibration = step.Run.Calibration
	}
	for _, w := range step.Run.Warnings {
		if strings.HasPrefix(w, "Kafka was ") && !slices.Contains(run.Warnings, w) {
			run.Warnings = append(run.Warnings, w)
		}
	}
}

// logLines adapts Logf to an io.Writer, a line per Write.
type logLines func(format string, args ...any)

func (l logLines) Write(b []byte) (int, error) {
	l("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
