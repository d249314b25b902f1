// Package targets holds the services under test, one package each:
// reaction/, relay/ (the hops in the middle of a chain), notification/
// (with provider/ and ledger/, its parts), and kafkagroup/, the consumer
// loop the notification service and the async relays share. What they
// share beside the wire contract (wire/) is in svc/.
//
// This package itself holds no code: its tests run the services together,
// over loopback, as a run does.
package targets
