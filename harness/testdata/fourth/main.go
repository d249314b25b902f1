// Command fourth is commbench's services with a fake fourth pattern,
// "direct" (package direct), registered: a harness test builds it and runs
// it as RunOptions.Exe. It takes the arguments the harness passes
// ("serve reaction|notification ..."), and at its end prints its counters
// on stdout, which the harness keeps in the service's log:
//
//	FOURTH sent=N received=M notification=<GET /v1/stats, as JSON>
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/commbench/commbench/cmd/commbench/serve"
	"github.com/commbench/commbench/harness/testdata/fourth/direct"
)

func main() {
	if err := direct.Register(); err != nil {
		fmt.Fprintln(os.Stderr, "fourth:", err)
		os.Exit(1)
	}
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: fourth serve reaction|notification [flags]")
		os.Exit(2)
	}
	code := serve.Main(os.Args[2:])
	stats := []byte("null")
	if svc := direct.Service.Load(); svc != nil {
		stats, _ = json.Marshal(svc.Stats())
	}
	fmt.Printf("FOURTH sent=%d received=%d notification=%s\n", direct.Sent.Load(), direct.Received.Load(), stats)
	os.Exit(code)
}
