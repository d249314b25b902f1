package profiles

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SLO is the service-level objective a capacity search (commbench
// capacity) holds every step to: the profile's slo block, or --slo. A
// step meets it when every term holds.
type SLO struct {
	// APIP99: the API's p99, from the intended send time, at most this.
	// > 0. Default: 100ms.
	APIP99 Duration `yaml:"api_p99"`
	// Drops: dropped requests at most this fraction of those sent, in
	// [0, 1). Default: 0.001 (0.1%).
	Drops float64 `yaml:"drops"`
	// NotifyP99: time-to-notify's p99 at most this. > 0. Default: 5s.
	NotifyP99 Duration `yaml:"notify_p99"`
	// LagGrowth: the consumer lag must not grow: its least-squares slope
	// over the step's seconds, with its 95% interval, must include 0 or
	// lie below it, or be at most this fraction of the offered rate (a
	// backlog growing slower than that is the commits' noise). In [0, 1).
	// Default: 0.01.
	LagGrowth float64 `yaml:"lag_growth"`
}

// The defaults of [SLO].
const (
	DefaultSLOAPIP99    = Duration(100 * time.Millisecond)
	DefaultSLODrops     = 0.001
	DefaultSLONotifyP99 = Duration(5 * time.Second)
	DefaultSLOLagGrowth = 0.01
)

// DefaultSLO is the SLO of a profile without an slo block.
func DefaultSLO() SLO {
	return SLO{APIP99: DefaultSLOAPIP99, Drops: DefaultSLODrops, NotifyP99: DefaultSLONotifyP99, LagGrowth: DefaultSLOLagGrowth}
}

// String says the SLO as --slo takes it.
func (s SLO) String() string {
	return fmt.Sprintf("api_p99=%s,drops=%s%%,notify_p99=%s,lag_growth=%s",
		s.APIP99, strconv.FormatFloat(100*s.Drops, 'f', -1, 64), s.NotifyP99, strconv.FormatFloat(s.LagGrowth, 'f', -1, 64))
}

// sloFields are the slo block's fields, as --slo names them too.
var sloFields = []string{"api_p99", "drops", "notify_p99", "lag_growth"}

// Override reads --slo's "name=value,..." over s: api_p99=150ms,
// drops=0.5% (or 0.005), notify_p99=10s, lag_growth=0.02. The error names
// the field and what it takes.
func (s SLO) Override(spec string) (SLO, error) {
	for _, kv := range strings.Split(spec, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, val, ok := strings.Cut(kv, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || val == "" {
			return s, fmt.Errorf("slo: %q: want name=value, e.g. api_p99=150ms", kv)
		}
		var err error
		switch name {
		case "api_p99":
			s.APIP99, err = sloDuration(name, val)
		case "notify_p99":
			s.NotifyP99, err = sloDuration(name, val)
		case "drops":
			s.Drops, err = sloFraction(name, val, true)
		case "lag_growth":
			s.LagGrowth, err = sloFraction(name, val, false)
		default:
			hint := ""
			if near := suggest(name, sloFields); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", near)
			}
			return s, fmt.Errorf("slo: unknown field %q%s; the fields are %s", name, hint, strings.Join(sloFields, ", "))
		}
		if err != nil {
			return s, err
		}
	}
	var l errorList
	l.slo(s, path{"slo"})
	return s, l.err("", nil)
}

func sloDuration(name, val string) (Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("slo: %s %q: want a duration above 0 with a unit, like 100ms or 5s", name, val)
	}
	return Duration(d), nil
}

func sloFraction(name, val string, pct bool) (float64, error) {
	scale := 1.0
	if pct {
		if v, ok := strings.CutSuffix(val, "%"); ok {
			val, scale = v, 0.01
		}
	}
	f, err := strconv.ParseFloat(val, 64)
	if err != nil || math.IsNaN(f) {
		hint := "a fraction like 0.01"
		if pct {
			hint = "a fraction like 0.001 or a percentage like 0.1%"
		}
		return 0, fmt.Errorf("slo: %s %q: want %s", name, val, hint)
	}
	return f * scale, nil
}

// slo checks an SLO's values.
func (l *errorList) slo(s SLO, at path) {
	l.positive(at.add("api_p99"), s.APIP99)
	l.positive(at.add("notify_p99"), s.NotifyP99)
	for _, f := range []struct {
		name string
		v    float64
	}{{"drops", s.Drops}, {"lag_growth", s.LagGrowth}} {
		if !(f.v >= 0 && f.v < 1) {
			l.addf(at.add(f.name), "must be a fraction in [0, 1) (0.001 is 0.1%%), got %g", f.v)
		}
	}
}
