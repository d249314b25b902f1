package harness

import (
	"github.com/commbench/commbench/pattern"
	"github.com/commbench/commbench/profiles"
)

// plannedRun is one pattern's run as the profile's plan lays it out: a
// pattern under a variant, with the variant's knobs applied.
type plannedRun struct {
	pattern pattern.Pattern
	variant profiles.Variant
	profile *profiles.Profile
}

// planRuns lays out the runs of o's profile for o.Patterns, built on
// profiles.Plan: each variant (or none) times each pattern it runs.
// oneVariant runs the profile's own knobs only (a run against targets:
// the services were started with theirs).
func planRuns(o RunOptions, oneVariant bool) []plannedRun {
	p := *o.Profile
	p.Patterns = o.Patterns
	pl := p.Plan()
	variants := pl.Variants
	if len(variants) == 0 || oneVariant {
		variants = []profiles.Variant{{}}
	}
	var out []plannedRun
	for _, v := range variants {
		for _, pt := range pl.Patterns {
			if v.Runs(pt) {
				out = append(out, plannedRun{pattern: pt, variant: v, profile: o.Profile.Apply(v)})
			}
		}
	}
	return out
}

// preflight refuses, before any load, a run that cannot be done as asked:
// faults this runner cannot fire, a shard without targets, and whatever a
// planned run's parts cannot serve (nginx missing, a chain the pattern has
// no form of).
func preflight(o RunOptions) error {
	if err := checkFaults(o); err != nil {
		return err
	}
	if err := checkShard(o); err != nil {
		return err
	}
	for _, pl := range planRuns(o, false) {
		for _, k := range partKinds {
			if k.check == nil {
				continue
			}
			if err := k.check(o, pl); err != nil {
				return err
			}
		}
	}
	return nil
}
