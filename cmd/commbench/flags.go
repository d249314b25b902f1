package main

import (
	"flag"

	"github.com/commbench/commbench/cmd/commbench/cli"
)

// parseFlags parses args with fs and turns flag errors into usage errors
// (exit 2) that name the command. -h prints the flags and returns errHelp.
func parseFlags(fs *flag.FlagSet, args []string) error { return cli.ParseFlags(fs, args) }

// errHelp ends a command quietly after -h.
var errHelp = cli.ErrHelp

// parseInterspersed is parseFlags for commands that take arguments: flags
// may come before, between or after them. It returns the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	return cli.ParseInterspersed(fs, args)
}

// brokersFlag is a comma-separated list of host:port (cli.BrokersFlag).
type brokersFlag = cli.BrokersFlag
