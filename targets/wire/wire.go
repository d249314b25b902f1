// Package wire is the contract between the load generator and the services
// under test: the reaction and its JSON encoding, the HTTP paths and
// headers, the trace context and hop stamps, and the JSON the services
// answer about themselves (the ledger's snapshot and intervals, a hop's
// interval), with the id ranges and the id set both sides reconcile with.
//
// Both sides import it and nothing else of each other. It holds no server
// or client: those live with the services (package targets) and the load
// generator.
package wire

// HTTP paths and headers shared by the services and the load generator.
const (
	PathReactions   = "/v1/reactions"
	PathNotify      = "/v1/notify"
	PathHealth      = "/healthz"
	PathStats       = "/v1/stats"
	PathLedger      = "/v1/ledger"
	PathLedgerReset = "/v1/ledger/reset"
	// PathLedgerInterval answers the counts and the time-to-notify
	// histogram since the previous call: the load generator's per-second
	// sample.
	PathLedgerInterval = "/v1/ledger/interval"
	PathProvider       = "/admin/provider"

	// HeaderPath says which way a reaction reached the notification service:
	// "sync" (HTTP) or "async" (Kafka). Hybrid answers with either.
	HeaderPath = "X-Commbench-Path"
	// HeaderID echoes the reaction's id in the reaction service's answer, so
	// that the load generator can reconcile what it saw accepted.
	HeaderID = "X-Commbench-Id"
	// HeaderDuplicate is set by the notification service when it had already
	// delivered the reaction and skipped the provider.
	HeaderDuplicate = "X-Commbench-Duplicate"
)

// MaxBodyBytes is the largest reaction body the services accept; larger
// bodies get 413.
const MaxBodyBytes = 4 << 10

// PathHopInterval answers a hop's HopInterval and starts a new interval.
const PathHopInterval = "/v1/hop/interval"
