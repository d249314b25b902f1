// Command commbench benchmarks how microservices talk to each other: the same
// reaction→notification workflow over synchronous HTTP, Kafka and a hybrid,
// under an open-model load with faults. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
)

// Exit codes. A regression found by the gate is 1; bad usage or input is 2.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	// exitInconclusive: the gate could not decide (a compared pattern was
	// machine- or generator-bound).
	exitInconclusive = 3
	exitSignaled     = 130
)

// exitError carries an exit code and a hint for the user through errors.As.
type exitError struct {
	code int
	err  error
	hint string
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks err as a usage or input error (exit 2) with a hint.
func usageErr(err error, hint string) error { return &exitError{code: exitUsage, err: err, hint: hint} }

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
func report(err error) int {
	if err == nil || err == errHelp {
		return exitOK
	}
	code := exitFailure
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	fmt.Fprintf(os.Stderr, "commbench: %v\n", err)
	if ee != nil && ee.hint != "" {
		fmt.Fprintf(os.Stderr, "  hint: %s\n", ee.hint)
	}
	return code
}

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
