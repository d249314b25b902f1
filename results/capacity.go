package results

// CapacitySLO is the service-level objective a capacity run checked every
// step against (commbench capacity; profiles.SLO), as results.json
// carries it for the report to print.
type CapacitySLO struct {
	APIP99Ms    float64 `json:"api_p99_ms"`    // the API's p99 (from the intended send time) at most this
	Drops       float64 `json:"drops"`         // dropped requests at most this fraction of those sent
	NotifyP99Ms float64 `json:"notify_p99_ms"` // time-to-notify's p99 at most this
	// LagGrowth: the consumer lag is "growing" when its slope's 95%
	// interval lies above 0 and the slope is above this fraction of the
	// offered rate (a backlog that grows slower than this is the commits'
	// noise).
	LagGrowth float64 `json:"lag_growth"`
	// StepS, StepRequests and WarmupS: each step held its rate for
	// max(StepS, StepRequests/rate) seconds after a warm-up of WarmupS.
	StepS        float64 `json:"step_s"`
	StepRequests int64   `json:"step_requests"`
	WarmupS      float64 `json:"warmup_s"`
}

// Capacity limits: why a search stopped.
const (
	LimitSLO         = "slo"         // a step broke the SLO; RPS is the capacity
	LimitMachine     = "machine"     // a step was machine- or generator-bound: no capacity, MachineLimitRPS says where
	LimitMaxRate     = "max-rate"    // every step up to the highest rate allowed held
	LimitBudget      = "budget"      // the time budget ran out before the search ended
	LimitInterrupted = "interrupted" // Ctrl-C: the steps done are kept
	LimitFailed      = "failed"      // a step could not be run (the error is in DecidedBy)
)

// Capacity is one pattern's capacity under the SLO: capacity.<pattern> in
// results.json.
type Capacity struct {
	// RPS is the highest offered rate whose step held the whole SLO, found
	// to within the run's precision; 0 unless Limit is "slo".
	RPS float64 `json:"rps"`
	// DecidedBy is the SLO term that broke first at the lowest failing
	// rate ("api_p99 183 ms > 100 ms", "lag slope +312/s"), or, without a
	// capacity, why the search stopped ("the machine is the limit at 1600
	// rps").
	DecidedBy string `json:"decided_by"`
	Limit     string `json:"limit"` // LimitSLO, LimitMachine, ...
	// LowerRPS is the highest rate that held the SLO (the capacity is at
	// least this), UpperRPS the lowest that broke it (0: none did).
	LowerRPS float64 `json:"lower_rps"`
	UpperRPS float64 `json:"upper_rps"`
	// MachineLimitRPS is the rate of the bound step that ended the search
	// (Limit "machine"); 0 otherwise.
	MachineLimitRPS float64 `json:"machine_limit_rps,omitempty"`
	// API is the same search with the API's terms alone (api_p99 and
	// drops): what the callers get, whatever the backlog does. Async's
	// exceeds its whole-SLO capacity; sync's is the same.
	API CapacityBound `json:"api"`
	// CPUSecondsPerMillion is the system under test's CPU-seconds per
	// million accepted reactions in the step at the capacity (LowerRPS).
	CPUSecondsPerMillion float64 `json:"cpu_s_per_million"`
	// Steps are every step measured, in the order they ran, at every scale.
	Steps []CapacityStep `json:"steps"`
	// Scale is the capacity at each scale searched (--scale): replicas
	// (sync) or notification processes of the consumer group (async) → rps.
	Scale map[string]float64 `json:"scale,omitempty"`
	// USL is the Universal Scalability Law fitted to Scale; Prediction the
	// largest scale's capacity predicted from the two smallest.
	USL        *USL        `json:"usl,omitempty"`
	Prediction *Prediction `json:"prediction,omitempty"`
	// Peak is what it takes to serve --peak.
	Peak *PeakPlan `json:"peak,omitempty"`
}

// CapacityBound is a search's outcome on a subset of the SLO's terms.
type CapacityBound struct {
	RPS       float64 `json:"rps"` // 0 unless Limit is "slo"
	LowerRPS  float64 `json:"lower_rps"`
	UpperRPS  float64 `json:"upper_rps"`
	Limit     string  `json:"limit"`
	DecidedBy string  `json:"decided_by"`
}

// CapacityStep is one steady rate held and judged against the SLO.
type CapacityStep struct {
	RPS         float64 `json:"rps"` // offered
	Replicas    int     `json:"replicas"`
	DurationS   float64 `json:"duration_s"`
	Requests    int64   `json:"requests"`
	APIP50Ms    float64 `json:"api_p50_ms"`
	APIP99Ms    float64 `json:"api_p99_ms"`
	Drops       float64 `json:"drops"` // fraction of the requests sent
	NotifyP50Ms float64 `json:"notify_p50_ms"`
	NotifyP99Ms float64 `json:"notify_p99_ms"`
	// LagSlope is the consumer lag's least-squares slope over the step's
	// seconds, messages a second, with its 95% interval; 0 where there is
	// no lag (sync).
	LagSlope   float64 `json:"lag_slope"`
	LagSlopeLo float64 `json:"lag_slope_lo"`
	LagSlopeHi float64 `json:"lag_slope_hi"`
	// Validity is the step's verdict as every run's: "ok",
	// "machine-bound" or "generator-bound".
	Validity string `json:"validity"`
	// Verdict: "pass", "fail" (Broke says which terms) or "bound" (neither).
	Verdict string   `json:"verdict"`
	Broke   []string `json:"broke,omitempty"`
	// CPUSecondsPerMillion: the system under test's CPU per million
	// accepted reactions in this step.
	CPUSecondsPerMillion float64 `json:"cpu_s_per_million"`
	// Dir is the step's own run folder, relative to the capacity run's:
	// its results.json and HdrHistogram logs.
	Dir string `json:"dir,omitempty"`
}

// Step verdicts.
const (
	StepPass  = "pass"
	StepFail  = "fail"
	StepBound = "bound"
)

// USL is the Universal Scalability Law C(N) = λN / (1 + σ(N−1) + κN(N−1))
// fitted to a pattern's capacities by scale.
type USL struct {
	Lambda float64 `json:"lambda"` // rps of one replica
	Sigma  float64 `json:"sigma"`  // contention
	Kappa  float64 `json:"kappa"`  // coherency (crosstalk)
	Points int     `json:"points"` // scales it was fitted to
}

// At is the law's capacity at n replicas.
func (u *USL) At(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// Prediction is the largest scale's capacity predicted from the smaller
// scales' fit, against what was measured.
type Prediction struct {
	Replicas     int     `json:"replicas"`
	FromScales   []int   `json:"from_scales"`
	PredictedRPS float64 `json:"predicted_rps"`
	MeasuredRPS  float64 `json:"measured_rps"`
	Error        float64 `json:"error"` // (predicted − measured) / measured
	Miss         bool    `json:"miss"`  // |Error| > 20%
}

// PeakPlan is what a pattern needs to serve a peak rate within the SLO.
type PeakPlan struct {
	PeakRPS float64 `json:"peak_rps"`
	ForS    float64 `json:"for_s"`
	// Replicas is the fewest replicas (consumers' processes) whose fitted
	// capacity is at least PeakRPS; 0 when the fit never gets there.
	Replicas int `json:"replicas"`
	// Extrapolated: Replicas is beyond the largest scale measured, by
	// ExtrapolatedBy times.
	Extrapolated   bool    `json:"extrapolated"`
	ExtrapolatedBy float64 `json:"extrapolated_by,omitempty"`
	// CPUSecondsPerMillion at the capacity step of the nearest measured scale.
	CPUSecondsPerMillion float64 `json:"cpu_s_per_million"`
	// Backlog and DrainS (async): what a surge of PeakRPS for ForS leaves
	// at the measured scale of one, and how long it takes to drain at its
	// capacity.
	Backlog float64 `json:"backlog,omitempty"`
	DrainS  float64 `json:"drain_s,omitempty"`
	Note    string  `json:"note"`
}
