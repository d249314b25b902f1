// Command commbench benchmarks how microservices talk to each other: the same
// reaction→notification workflow over synchronous HTTP, Kafka and a hybrid,
// under an open-model load with faults. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/commbench/commbench/cmd/commbench/cli"
)

// Exit codes (cli). A regression found by the gate is 1; bad usage or input is 2.
const (
	exitOK       = cli.ExitOK
	exitFailure  = cli.ExitFailure
	exitUsage    = cli.ExitUsage
	exitSignaled = cli.ExitSignaled
	// exitInconclusive: the gate could not decide (a compared pattern was
	// machine- or generator-bound).
	exitInconclusive = cli.ExitInconclusive
)

// exitError carries an exit code and a hint for the user through errors.As.
type exitError = cli.ExitError

// usageErr marks err as a usage or input error (exit 2) with a hint.
func usageErr(err error, hint string) error { return cli.UsageErr(err, hint) }

type command struct {
	name    string
	summary string
	run     func(args []string) error
}

var commands []command

func register(c command) { commands = append(commands, c) }

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(os.Stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return report(c.run(args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "commbench: unknown command %q\n\n", args[0])
	usage(os.Stderr)
	return exitUsage
}

// report prints err the way a user should read it and returns the exit code.
func report(err error) int { return cli.Report(err) }

func usage(w *os.File) {
	fmt.Fprintln(w, "usage: commbench <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'commbench <command> -h' for a command's flags.")
}
