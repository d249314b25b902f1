package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// SchemaVersion is the version of results.json. Fields may be added within
// a version; a field is never renamed or removed without a new version.
const SchemaVersion = 1

// Results is a run folder's results.json: the run, and per pattern a summary
// and per-second series. It is documented in docs/results.md.
type Results struct {
	Schema   int                 `json:"schema"`
	Run      RunInfo             `json:"run"`
	Order    []string            `json:"order"` // patterns in the order they first ran
	Patterns map[string]*Pattern `json:"patterns"`
	// Claims are the classic claims about sync and async communication,
	// each checked against this run's numbers (package claims fills them
	// in; empty when no one has evaluated them yet).
	Claims []Claim `json:"claims"`
	// Capacity is a capacity run's outcome (commbench capacity), by
	// pattern; SLO what its steps were checked against. Absent from
	// other runs. Patterns is then empty: each step's own results.json is
	// in its folder (capacity.<pattern>.steps[].dir).
	Capacity map[string]*Capacity `json:"capacity,omitempty"`
	SLO      *CapacitySLO         `json:"capacity_slo,omitempty"`
}

// Claim is one classic statement about sync vs async communication and
// what this run says about it.
type Claim struct {
	ID       string `json:"id"`       // stable, e.g. "sync-blocks-caller"
	Claim    string `json:"claim"`    // the statement as people make it
	Verdict  string `json:"verdict"`  // "holds", "does not hold", "mixed", "not exercised" or "inconclusive"
	Evidence string `json:"evidence"` // one or two sentences with the numbers
	// Numbers are the figures the verdict rests on, by name with its unit
	// (e.g. "sync_api_p99_ms").
	Numbers map[string]float64 `json:"numbers,omitempty"`
}

// RunInfo describes the run as a whole.
type RunInfo struct {
	ID            string        `json:"id"` // the run folder's name
	Profile       string        `json:"profile"`
	Description   string        `json:"description"`
	ProfileFile   string        `json:"profile_file"`
	ProfileYAML   string        `json:"profile_yaml"` // the profile as it ran
	Started       time.Time     `json:"started"`
	Finished      time.Time     `json:"finished"`
	Partial       bool          `json:"partial"`
	PartialReason string        `json:"partial_reason,omitempty"`
	Repeat        int           `json:"repeat"`
	Machine       Machine       `json:"machine"`
	Broker        BrokerInfo    `json:"broker"`
	Calibration   *Calibration  `json:"calibration"` // nil: never calibrated on this machine
	Faults        []FaultWindow `json:"faults"`      // the profile's faults, in seconds from the attack's start
	Warnings      []string      `json:"warnings"`
	Version       string        `json:"commbench_version"`
	// Host is the machine's size as the validity verdicts saw it.
	Host HostInfo `json:"host"`
	// Validity is the thresholds the run judged its seconds with (the
	// profile's validity section, with the defaults filled in).
	Validity ValidityThresholds `json:"validity"`
}

// HostInfo is what the validity verdicts know of the host.
type HostInfo struct {
	Cores int `json:"cores"` // logical CPUs the run could use
	// CPUMeasured is false where /proc/stat could not be read: then
	// series.host_cpu_cores is -1 and no second is machine-bound.
	CPUMeasured bool `json:"cpu_measured"`
	// SUTNice is the niceness the system under test ran at (services,
	// nginx, the local broker), the generator at 0, so that the kernel
	// runs the generator first when both want a CPU, as a load generator
	// on a machine of its own would be; 0: not lowered.
	SUTNice int `json:"sut_nice"`
}

// ValidityThresholds say when a second is bound and when a pattern is not
// ok (package validity; docs/results.md).
type ValidityThresholds struct {
	HostBusy      float64 `json:"host_busy"`      // fraction of the cores: at or above it a second is machine-bound
	LateByMs      float64 `json:"late_by_ms"`     // a send later than this after its intended time is late
	LateFraction  float64 `json:"late_fraction"`  // above this fraction of late sends a second is generator-bound
	BoundFraction float64 `json:"bound_fraction"` // above this fraction of bound attack seconds a pattern is not ok
}

// Validity verdicts, as in Summary.Validity and Series.Bound.
const (
	ValidityOK             = "ok"
	ValidityMachineBound   = "machine-bound"
	ValidityGeneratorBound = "generator-bound"
)

// Machine is where the run ran.
type Machine struct {
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	MemoryBytes uint64 `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	Java        string `json:"java,omitempty"`
}

// BrokerInfo is the Kafka the run used.
type BrokerInfo struct {
	Kind       string   `json:"kind"`    // local, embedded or external
	Version    string   `json:"version"` // Apache Kafka's version, or "kfake" for embedded
	Label      string   `json:"label"`   // how reports name it; says "not Apache Kafka" for embedded
	Addrs      []string `json:"addrs"`
	Partitions int      `json:"partitions"`
}

// Calibration is the harness's own ceiling and floor against a null
// endpoint on this machine (commbench calibrate).
type Calibration struct {
	At         time.Time `json:"at"`
	CeilingRPS float64   `json:"ceiling_rps"` // highest rate with >= 99% achieved and <= 1% of sends late
	FloorMs    struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"floor_ms"` // latency at FloorRPS
	FloorRPS float64 `json:"floor_rps"`
	// CPURate and CPUUsPerReq: the generator's own CPU time (user +
	// system) per request sent at CPURate, in µs; 0 in a file saved before
	// it was recorded.
	CPURate     float64 `json:"cpu_rate_rps"`
	CPUUsPerReq float64 `json:"cpu_us_per_request"`
	// Build and Machine say what it measured: the executable (its vcs
	// revision and a hash of its bytes) and the machine (host name,
	// machine id, CPUs); a run uses a calibration of its own build and
	// machine only. "" in a file saved before they were recorded.
	Build   string `json:"build,omitempty"`
	Machine string `json:"machine,omitempty"`
	// BudgetS is how long the calibration could take, in seconds: the
	// short one a run starts itself takes at most 30.
	BudgetS float64 `json:"budget_s,omitempty"`
	// Reused: the run found this calibration fresh and did not calibrate
	// again; false when it ran it first (or it came from commbench
	// calibrate before the run).
	Reused bool `json:"reused,omitempty"`
}

// Ramp is a calibration ramp (commbench calibrate --ramp): the generator
// against a null endpoint at a rate rising linearly from 0 to MaxRate over
// DurationS, second by second.
type Ramp struct {
	Tool            string       `json:"tool"` // "commbench" or "vegeta CLI v12.13.0"
	Client          string       `json:"client,omitempty"`
	MaxRate         float64      `json:"max_rate"`
	DurationS       float64      `json:"duration_s"`
	EndpointDelayMs float64      `json:"endpoint_delay_ms"` // how long the null endpoint waits before it answers
	At              time.Time    `json:"at"`
	Seconds         []RampSecond `json:"ramp"`
	// HeldRPS is the highest rate offered in a second which, and every
	// second before which, was on time: at least 99% of the offered rate
	// achieved and at most 1% of the sends over 1 ms late.
	HeldRPS float64 `json:"held_rps"`
	// LateSeconds counts the seconds with more than 1% of their sends over
	// 1 ms late, wherever they fell.
	LateSeconds int `json:"late_seconds"`
	// CPUUsPerReqAtMax is the generator's CPU time per request sent over
	// the seconds offered at least 90% of MaxRate, in µs.
	CPUUsPerReqAtMax float64 `json:"cpu_us_per_request_at_max"`
	GOMAXPROCS       int     `json:"gomaxprocs,omitempty"`
}

// RampSecond is one second of a Ramp. T is the second's end, in seconds
// from the ramp's start; the counts are the window's.
type RampSecond struct {
	T            float64 `json:"t"`
	OfferedRPS   float64 `json:"offered_rps"`  // the schedule's hits due in the window
	SentRPS      float64 `json:"sent_rps"`     // hits sent in the window
	AchievedRPS  float64 `json:"achieved_rps"` // accepted answers in the window
	LateSends    int64   `json:"late_sends"`   // recorded in the window, sent over 1 ms late
	SendLagP50Ms float64 `json:"send_lag_p50_ms"`
	SendLagP99Ms float64 `json:"send_lag_p99_ms"`
	SendLagMaxMs float64 `json:"send_lag_max_ms"`
	CPUCores     float64 `json:"cpu_cores"` // the generator's CPU time over the window's length
	Workers      int64   `json:"workers"`
	Conns        int64   `json:"conns"`
	// LateByCause counts LateSends by the cause the generator measured
	// (gc, go-scheduler, os-run-queue, dial, unknown).
	LateByCause map[string]int64 `json:"late_by_cause,omitempty"`
	// StealCores is the host's steal time over the window (the hypervisor
	// ran another guest on our CPUs); -1 when not measured.
	StealCores float64 `json:"steal_cores"`
}

// FaultWindow is one fault as it was fired.
type FaultWindow struct {
	Target string  `json:"target"`
	Kind   string  `json:"kind"`
	StartS float64 `json:"start_s"` // seconds from the attack's start
	EndS   float64 `json:"end_s"`
	Detail string  `json:"detail,omitempty"`
	Error  string  `json:"error,omitempty"` // it could not be fired
}

// Pattern is one pattern's results; with --repeat, its runs merged.
type Pattern struct {
	Summary Summary `json:"summary"`
	Series  Series  `json:"series"`
	// Histograms are the whole run's histograms in the HdrHistogram V2
	// compressed encoding (base64), values in microseconds: what the
	// report's percentile spectra are drawn from.
	Histograms struct {
		API            string `json:"api"` // from the intended send time
		APIUncorrected string `json:"api_uncorrected"`
		Notify         string `json:"notify"`
		// Hops are the hop histograms of the traced first deliveries
		// (Summary.Hops).
		Hops Hops[string] `json:"hops"`
	} `json:"histograms"`
	Runs   int           `json:"runs"`
	Faults []FaultWindow `json:"faults,omitempty"` // as fired in this pattern's attack
}

// Summary is one pattern's numbers.
type Summary struct {
	Requests int64 `json:"requests"` // sent
	Accepted int64 `json:"accepted"` // answered 201 or 202
	// WarmupAccepted is what the warmup before the attack had accepted:
	// not in the numbers, but in the topic (an outside count of the
	// reactions topic is Accepted plus this).
	WarmupAccepted int64   `json:"warmup_accepted,omitempty"`
	AcceptedSync   int64   `json:"accepted_sync"`
	AcceptedAsync  int64   `json:"accepted_async"`
	OfferedRPS     float64 `json:"offered_rps"`  // what the schedule asked for, over the attack
	AchievedRPS    float64 `json:"achieved_rps"` // what the generator sent, over the attack
	GoodputRPS     float64 `json:"goodput_rps"`  // accepted per second, over the attack
	LateSends      int64   `json:"late_sends"`   // sent more than run.validity.late_by_ms after their intended time
	// LateByCause counts LateSends by the cause the generator measured
	// (as series.bound_cause names them).
	LateByCause map[string]int64 `json:"late_by_cause,omitempty"`
	// Saturated: the generator fell behind: achieved below 99% of offered,
	// or more than run.validity.late_fraction of the sends were late.
	Saturated bool `json:"saturated"`
	// SendLag is how late the generator sent, actual minus intended send
	// time, over the attack, in milliseconds.
	SendLag LagPercentiles `json:"send_lag_ms"`

	// Validity is "ok", "machine-bound" or "generator-bound": whether the
	// pattern, or the machine that measured it, set these numbers. Not ok
	// when more than run.validity.bound_fraction of the attack seconds were
	// bound (series.bound); ValidityReason says why in a sentence. BoundS
	// counts the bound attack seconds, MachineBoundS and GeneratorBoundS
	// split them by cause.
	Validity        string `json:"validity"`
	ValidityReason  string `json:"validity_reason,omitempty"`
	BoundS          int    `json:"bound_s"`
	MachineBoundS   int    `json:"machine_bound_s"`
	GeneratorBoundS int    `json:"generator_bound_s"`
	// SampleGaps counts the seconds whose ledger interval could not be
	// read (the per-second notify series has a hole there; the summary's
	// time-to-notify comes from the whole-run histogram and has none).
	SampleGaps int `json:"sample_gaps"`
	// Clamped counts API latencies outside the histograms' range, NoID
	// accepted answers without a usable reaction id, LedgerClamped the
	// ledger's time-to-notify values outside its range: each is a number
	// the run could not record as measured.
	Clamped       int64 `json:"clamped"`
	NoID          int64 `json:"no_id"`
	LedgerClamped int64 `json:"ledger_clamped"`

	API            Percentiles `json:"api_ms"` // from the intended send time (corrected for coordinated omission)
	APIUncorrected Percentiles `json:"api_uncorrected_ms"`
	Notify         Percentiles `json:"notify_ms"` // time-to-notify: delivered_at - sent_at
	// Hops split time-to-notify into the hops a reaction takes, from the
	// stamps it carries (traceparent and hop stamps in HTTP and Kafka
	// headers); Traced is how many first deliveries they hold.
	Hops   Hops[HopPercentiles] `json:"hops_ms"`
	Traced int64                `json:"traced"`

	Drops Drops `json:"drops"`

	Delivered int64 `json:"delivered"` // distinct ids in the ledger
	Lost      int64 `json:"lost"`      // accepted, never delivered (nor dead-lettered)
	// LostUnknown: the final ledger read failed, so lost (and delivered,
	// duplicated, dead-lettered) are not known; the pattern is not ok.
	LostUnknown bool `json:"lost_unknown"`
	// NeverNotified is accepted reactions whose author was never notified:
	// lost plus dead-lettered. Time-to-notify counts only the delivered.
	NeverNotified int64 `json:"never_notified"`
	Duplicated    int64 `json:"duplicated"`    // delivered to the provider more than once
	Deduplicated  int64 `json:"deduplicated"`  // redeliveries the notification service skipped
	DeadLettered  int64 `json:"dead_lettered"` // accepted, given up on after the retries
	Indeterminate int64 `json:"indeterminate"` // the client gave up (timeout); the server may have accepted it
	// DeliveredUnaccepted is delivered ids the generator did not see
	// accepted: an indeterminate request that went through, or a sync call
	// that delivered and then failed the response.
	DeliveredUnaccepted int64 `json:"delivered_unaccepted"`

	DrainS  float64 `json:"drain_s"` // from the attack's end until lag 0 and all accepted delivered
	Drained bool    `json:"drained"` // false: the drain timeout passed first
	PeakLag int64   `json:"peak_lag"`

	// CPUSecondsPer1k is CPU-seconds per 1,000 accepted reactions, by
	// process ("reaction", "notification", "broker", "generator") and in
	// "total", over the attack and the drain. "total" is the system under
	// test: every process but the generator, which is reported apart.
	CPUSecondsPer1k map[string]float64 `json:"cpu_s_per_1k"`
	// CPUNotMeasured names the processes of the system under test whose
	// CPU this run could not read (an external broker): "total" leaves
	// them out, and they are not 0.
	CPUNotMeasured []string           `json:"cpu_not_measured,omitempty"`
	PeakRSSMB      map[string]float64 `json:"peak_rss_mb"`

	// Replicas is how many notification processes ran (scale-out), and
	// Balancer what the reaction service called them through: "nginx"
	// (its worker's CPU is "lb") or "none". Their ledgers are merged for
	// the reconciliation; their CPU is "notification", "notification-2", ...
	Replicas int    `json:"replicas,omitempty"`
	Balancer string `json:"balancer,omitempty"`
	// ReplicaDelivered is how many distinct ids each replica's ledger
	// delivered, in replica order: how evenly the work was spread.
	ReplicaDelivered []int64 `json:"replica_delivered,omitempty"`
	// Groups are the consumer groups on the topic besides the notification
	// service's (fan-out, async and hybrid), each reconciled against its
	// own ledger; their CPU is "group-<name>". Empty without fan-out.
	Groups []GroupSummary `json:"groups,omitempty"`

	// ChainDepth is how many services a reaction crossed (services.chain):
	// A the reaction service, relays B, C, … and the notification service
	// last; 0 for the plain workflow (A and the notification service).
	// ChainBreaker says whether every sync hop had a circuit breaker.
	ChainDepth   int  `json:"chain_depth,omitempty"`
	ChainBreaker bool `json:"chain_breaker,omitempty"`
	// Chain is each hop's calls, errors and latency, A first, over the
	// attack and the drain. Empty without a chain.
	Chain []HopSummary `json:"chain,omitempty"`
}

// HopSummary is one service of a chain. A's numbers are the load
// generator's (its requests, drops and API latency); each later hop's are
// what it measured itself: the calls it handled (sync: HTTP requests from
// the hop before; async: messages it consumed, each attempt of the last
// hop counted) and how long each took, everything downstream of it included.
type HopSummary struct {
	Name     string      `json:"name"`    // "A", "B", …
	Service  string      `json:"service"` // reaction, relay or notification
	Calls    int64       `json:"calls"`
	Errors   int64       `json:"errors"`   // calls that failed, rejected ones included
	Rejected int64       `json:"rejected"` // failed fast by an open circuit breaker
	Opened   int64       `json:"breaker_opened"`
	Latency  Percentiles `json:"latency_ms"`
	// PeakLag is, async, the peak lag of the consumer group reading into
	// this hop (B's is the reactions topic's).
	PeakLag int64 `json:"peak_lag,omitempty"`
}

// GroupSummary is one more consumer group reading the reactions topic.
type GroupSummary struct {
	Name       string      `json:"name"`
	Delivered  int64       `json:"delivered"` // accepted reactions this group's ledger delivered
	Lost       int64       `json:"lost"`      // accepted, never delivered by this group (nor dead-lettered)
	Duplicated int64       `json:"duplicated"`
	PeakLag    int64       `json:"peak_lag"`
	Notify     Percentiles `json:"notify_ms"` // time-to-notify in this group
}

// Percentiles of a latency, in milliseconds.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// Hops holds one T per hop of a reaction's way to delivery, in the order
// it takes them (HopNames):
//
//   - API: sent_at → t_api_in, the network and queueing into the reaction service
//   - Handoff: t_api_in → t_handoff, validation and the store (hybrid's
//     fallback: the failed sync try too), until the sync call is sent or the
//     Kafka produce begins
//   - Queue: t_handoff → t_notif_in, the wire (sync), or produce, ack, time
//     in Kafka and fetch (async)
//   - Processing: t_notif_in → t_provider_start, dedup, retries with their
//     backoff, waiting for a provider slot
//   - Provider: t_provider_start → delivered, the successful provider call
type Hops[T any] struct {
	API        T `json:"api"`
	Handoff    T `json:"handoff"`
	Queue      T `json:"queue"`
	Processing T `json:"processing"`
	Provider   T `json:"provider"`
}

// HopNames name the hops in Hops.All's order, as in results.json
// (hops_ms.api, …). They are the ledger's hop names too; a test in harness
// checks that the two agree.
var HopNames = [5]string{"api", "handoff", "queue", "processing", "provider"}

// All returns the hops in order, to fill or read in a loop.
func (h *Hops[T]) All() [5]*T {
	return [5]*T{&h.API, &h.Handoff, &h.Queue, &h.Processing, &h.Provider}
}

// HopPercentiles are one hop's latency, in milliseconds.
type HopPercentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Drops are requests that were not accepted, by class.
type Drops struct {
	Total   int64 `json:"total"`
	Timeout int64 `json:"timeout"`  // the client's timeout: no answer in time
	Refused int64 `json:"refused"`  // connection refused
	Reset   int64 `json:"reset"`    // connection reset or closed mid-request
	HTTP429 int64 `json:"http_429"` // rate limited
	HTTP503 int64 `json:"http_503"` // overloaded or unavailable
	HTTP5xx int64 `json:"http_5xx"` // other 5xx: 500, 502, 504
	Other   int64 `json:"other"`    // anything else: 4xx, other errors
}

// Series are per-second samples over the attack and the drain; index i is
// the second [i, i+1) from the attack's start.
type Series struct {
	T          []float64 `json:"t"`            // seconds from the attack's start, at the end of each second
	AttackEndS float64   `json:"attack_end_s"` // where the drain begins

	OfferedRPS  []float64 `json:"offered_rps"`
	AchievedRPS []float64 `json:"achieved_rps"`
	AcceptedRPS []float64 `json:"accepted_rps"`
	PathSync    []int64   `json:"path_sync"` // accepted per second by path (hybrid's split)
	PathAsync   []int64   `json:"path_async"`

	APIP50 []float64 `json:"api_p50_ms"` // per second, corrected
	APIP99 []float64 `json:"api_p99_ms"`
	APIMax []float64 `json:"api_max_ms"`

	NotifyP50 []float64 `json:"notify_p50_ms"` // deliveries in that second
	NotifyP99 []float64 `json:"notify_p99_ms"`
	Delivered []int64   `json:"delivered"` // cumulative

	Lag []int64 `json:"lag"` // broker-side, total over partitions; -1 where it could not be read
	// LagByGroup is the lag of each consumer group by name, with fan-out
	// (the notification service's group under "notification").
	LagByGroup map[string][]int64 `json:"lag_by_group,omitempty"`

	Drops map[string][]int64 `json:"drops"` // by class, as in Drops

	// Chain is each chain hop's second by second, by hop name ("A", "B",
	// …), as in Summary.Chain. Empty without a chain.
	Chain map[string]*HopSeries `json:"chain,omitempty"`

	CPU   map[string][]float64 `json:"cpu_cores"` // cores used in that second, by process
	RSSMB map[string][]float64 `json:"rss_mb"`

	// HostCPU is the host's busy cores in that second, every process
	// counted (steal too); -1 where it was not measured.
	HostCPU []float64 `json:"host_cpu_cores"`
	// StealCPU is, of HostCPU, the cores the hypervisor gave other guests
	// (steal time) in that second; -1 where not measured.
	StealCPU []float64 `json:"steal_cpu_cores,omitempty"`
	// SendLagP50, SendLagP99 and SendLagMax are the generator's send lag
	// (actual minus intended send time) in that second, in milliseconds;
	// LateSends counts the sends later than run.validity.late_by_ms.
	SendLagP50 []float64 `json:"send_lag_p50_ms"`
	SendLagP99 []float64 `json:"send_lag_p99_ms"`
	SendLagMax []float64 `json:"send_lag_max_ms"`
	LateSends  []int64   `json:"late_sends"`
	// Bound is each second's validity: "" (ok), "machine-bound" or
	// "generator-bound", from HostCPU and LateSends.
	Bound []string `json:"bound"`
	// BoundCause is each bound second's cause as measured, "" where the
	// second is ok: "host-busy" (the host's CPU at the busy threshold),
	// "steal" (the hypervisor took at least 20 ms of the second's CPU and
	// the generator's own measures do not explain its late sends:
	// machine-bound), or the cause of most of its late sends:
	// "os-run-queue" (the
	// generator's pacing thread waited for a CPU the OS gave another:
	// machine-bound, not the generator's doing), "gc", "go-scheduler",
	// "dial" or "unknown". BoundEvidence is the figure that shows it, in
	// words.
	BoundCause    []string `json:"bound_cause,omitempty"`
	BoundEvidence []string `json:"bound_evidence,omitempty"`
}

// LagPercentiles are a send lag's percentiles, in milliseconds.
type LagPercentiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Write writes r as dir/results.json, atomically.
func (r *Results) Write(dir string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ".results.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "results.json"))
}

// ErrSchema is returned by Read for a file of another schema.
var ErrSchema = errors.New("results.json schema")

// Read reads dir/results.json (or the file dir names).
func Read(path string) (*Results, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	if fi, err := os.Stat(path); err == nil && fi.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d a results.json may have", path, fi.Size(), MaxFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a results.json: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: %w %d, this commbench reads %d", path, ErrSchema, r.Schema, SchemaVersion)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// DropClasses are the keys of Series.Drops, in the order reports show them.
var DropClasses = []string{"timeout", "refused", "reset", "http_429", "http_503", "http_5xx", "other"}

// Keys returns the pattern keys: in the order they ran, then any others by
// name.
func (r *Results) Keys() []string {
	var out []string
	for _, k := range r.Order {
		if _, ok := r.Patterns[k]; ok && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range r.Patterns {
		if !slices.Contains(out, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// HopSeries is one chain hop per second.
type HopSeries struct {
	Calls  []int64   `json:"calls"`  // finished in that second
	Errors []int64   `json:"errors"` // failed in that second, rejected ones included
	P99    []float64 `json:"p99_ms"` // of the calls finished in that second; 0 for none
	// Lag is, async, the lag of the consumer group reading into this hop;
	// -1 where it could not be read.
	Lag []int64 `json:"lag,omitempty"`
	// Breaker is the hop's circuit breaker state at each sample ("closed",
	// "open", "half-open"; "" where it could not be read); empty without
	// one.
	Breaker []string `json:"breaker,omitempty"`
}
