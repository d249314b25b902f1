// Package cli is commbench's command-line conventions, shared by package
// main and by the subcommands that live in packages of their own
// (cmd/commbench/serve): exit codes, usage errors and their hints, flag
// parsing, and the environment, read once per command and passed down as
// values. Like the rest of cmd/, it is the only place flags are parsed and
// the environment is read.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/commbench/commbench/broker"
)

// Exit codes. A regression found by the gate is 1; bad usage or input is 2.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2
	ExitSignaled = 130
	// ExitInconclusive: the gate could not decide (a compared pattern was
	// machine- or generator-bound).
	ExitInconclusive = 3
)

// ExitError carries an exit code and a hint for the user through errors.As.
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageErr marks err as a usage or input error (exit 2) with a hint.
func UsageErr(err error, hint string) error { return &ExitError{Code: ExitUsage, Err: err, Hint: hint} }

// ErrHelp ends a command quietly after -h.
var ErrHelp = &ExitError{Code: ExitOK, Err: errors.New("help")}

// Report prints err the way a user should read it, on stderr, and returns
// the exit code.
func Report(err error) int {
	if err == nil || err == ErrHelp {
		return ExitOK
	}
	code := ExitFailure
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
	}
	fmt.Fprintf(os.Stderr, "commbench: %v\n", err)
	if ee != nil && ee.Hint != "" {
		fmt.Fprintf(os.Stderr, "  hint: %s\n", ee.Hint)
	}
	return code
}

// ParseFlags parses args with fs and turns flag errors into usage errors
// (exit 2) that name the command. -h prints the flags and returns ErrHelp.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(nil)
		fs.Usage()
		return ErrHelp
	}
	if err != nil {
		return UsageErr(fmt.Errorf("%s: %w", fs.Name(), err), "run 'commbench "+fs.Name()+" -h' for its flags")
	}
	if fs.NArg() > 0 {
		return UsageErr(fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)), "run 'commbench "+fs.Name()+" -h' for its flags")
	}
	return nil
}

// ParseInterspersed is ParseFlags for commands that take arguments: flags
// may come before, between or after them. It returns the arguments.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(nil)
			fs.Usage()
			return nil, ErrHelp
		}
		if err != nil {
			return nil, UsageErr(fmt.Errorf("%s: %w", fs.Name(), err), "run 'commbench "+fs.Name()+" -h' for its flags")
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// BrokersFlag is a comma-separated list of host:port, checked as
// KAFKA_BROKERS is (broker.ParseAddrs); its default is Env.Brokers.
type BrokersFlag []string

func (b *BrokersFlag) String() string { return strings.Join(*b, ",") }
func (b *BrokersFlag) Set(s string) error {
	addrs, err := broker.ParseAddrs(s)
	if err != nil {
		return err
	}
	*b = addrs
	return nil
}
