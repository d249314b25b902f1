package main

import "github.com/commbench/commbench/cmd/commbench/serve"

// 'commbench serve' lives in its own package, cmd/commbench/serve, so that
// a test's binary can run the services with a pattern of its own.
func init() {
	register(command{name: "serve", summary: "run a service: serve reaction|relay|notification", run: serve.Run})
}
