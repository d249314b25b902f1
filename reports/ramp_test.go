package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/commbench/commbench/results"
)

func TestWriteRamp(t *testing.T) {
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	ramp := func(tool string, cpu, held float64) results.Ramp {
		r := results.Ramp{Tool: tool, MaxRate: 20000, DurationS: 40, EndpointDelayMs: 50, At: at, HeldRPS: held, CPUUsPerReqAtMax: cpu}
		for i := 1; i <= 40; i++ {
			rate := (float64(i) - 0.5) * 500
			r.Seconds = append(r.Seconds, results.RampSecond{T: float64(i), OfferedRPS: rate, AchievedRPS: rate, SentRPS: rate, CPUCores: rate * cpu / 1e6, Workers: 12, Conns: 10})
		}
		return r
	}
	var buf bytes.Buffer
	if err := WriteRamp(&buf, []results.Ramp{ramp("commbench", 30, 19750), ramp("vegeta CLI v12.13.0", 90, 9750)}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"calibration ramp 0 → 20,000 rps",
		`id="ramp-rate"`, `id="ramp-lag"`, `id="ramp-cpu"`, `id="ramp-workers"`,
		"19,750 rps (every second to there", "9,750 rps (every second to there", // what each held
		"CPU per request, commbench / vegeta CLI v12.13.0", "0.33× (30.0 / 90.0 µs)", // the ratio line
		"vegeta CLI v12.13.0 offered", "commbench achieved", // a line per tool and measure
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the ramp page lacks %q", want)
		}
	}
	if strings.Contains(page, "<h2>Summary</h2>") {
		t.Error("the ramp page has a run's summary table")
	}
	if err := WriteRamp(&buf, nil); err == nil {
		t.Error("no ramp: no error")
	}
}
