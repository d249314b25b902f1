package pairrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/commbench/commbench/profiles"
)

// warmUpFor is how long the warm-up run loads each Kafka pattern.
const warmUpFor = 15 * time.Second

// warmUp runs the head build once through the profile's Kafka patterns
// (warmUpFor each at the profile's highest rate) before the first compared
// run, and compares nothing from it. A freshly started broker is a JVM that
// has compiled nothing yet: on a 2-core machine the first run after it
// started had seconds where the generator could not keep its schedule (its
// send lag marked them bound, and the gate said inconclusive), and a run
// that meets a cold broker is slower than the next, which biases the base,
// always first. A failed warm-up is logged and returned as a note for the
// report (the bias is back); the compared runs go on and speak for
// themselves.
func warmUp(ctx context.Context, pl plan, p *profiles.Profile) string {
	var pats []string
	for _, pt := range p.Patterns {
		if pt.UsesKafka() {
			pats = append(pats, string(pt))
		}
	}
	if len(pats) == 0 || ctx.Err() != nil {
		return ""
	}
	peak := 0.0
	for _, s := range p.Stages {
		peak = max(peak, s.Rate, s.To)
	}
	data, err := os.ReadFile(pl.headProfile)
	if err == nil {
		data, err = warmUpProfile(data, warmUpFor, peak)
	}
	file := filepath.Join(pl.out, "profile-warmup.yaml")
	if err == nil {
		err = os.WriteFile(file, data, 0o644)
	}
	if err != nil {
		pl.logf("no warm-up run (the compared runs go on): %v", err)
		return fmt.Sprintf("no warm-up run (%v): the first compared run met a cold broker", err)
	}
	wp := pl
	wp.patterns = strings.Join(pats, ",")
	// One folder per warm-up: a resumed self-test warms up again.
	dir := filepath.Join(pl.out, "warmup")
	for i := 2; i < 1000 && isDir(dir); i++ {
		dir = filepath.Join(pl.out, fmt.Sprintf("warmup-%d", i))
	}
	pl.logf("warm-up run, not compared: %s at %g rps for %s each (%s)", wp.patterns, peak, warmUpFor, dir)
	t0 := time.Now()
	if _, err := runOne(ctx, pl.headExe, file, dir, wp); err != nil {
		pl.logf("warm-up run failed after %s (the compared runs go on): %v", time.Since(t0).Round(time.Second), err)
		return fmt.Sprintf("the warm-up run failed (%v): the first compared run may have met a cold broker", err)
	}
	pl.logf("warm-up run done in %s", time.Since(t0).Round(time.Second))
	return ""
}

// warmUpProfile is the profile data with one constant stage of d at rate
// in place of its stages, and without faults and variants (the warm-up
// loads the broker; it tests nothing).
func warmUpProfile(data []byte, d time.Duration, rate float64) ([]byte, error) {
	if d <= 0 || !(rate > 0) {
		return nil, errors.New("the profile has no positive rate to warm up with")
	}
	for _, key := range []string{"faults", "variants"} {
		var err error
		if data, err = dropProfileKey(data, key); err != nil {
			return nil, err
		}
	}
	doc, err := parseMapping(data)
	if err != nil {
		return nil, err
	}
	var stages yaml.Node
	if err := yaml.Unmarshal([]byte(fmt.Sprintf("[{for: %s, rate: %g}]", d, rate)), &stages); err != nil {
		return nil, err
	}
	m := doc.Content[0]
	if v := mappingValue(m, "stages"); v != nil {
		*v = *stages.Content[0]
	} else {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "stages"}, stages.Content[0])
	}
	return yaml.Marshal(doc)
}
