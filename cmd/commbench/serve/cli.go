package serve

import (
	"flag"
	"net"

	"github.com/commbench/commbench/cmd/commbench/cli"
)

// The command-line conventions of package main, from cli, under the names
// serve.go has always used.

type brokersFlag = cli.BrokersFlag

const envHint = cli.EnvHint

func readEnv() (cli.Env, error)                        { return cli.ReadEnv() }
func usageErr(err error, hint string) error            { return cli.UsageErr(err, hint) }
func parseFlags(fs *flag.FlagSet, args []string) error { return cli.ParseFlags(fs, args) }

// Listen opens addr, explaining the usual failure as a usage error naming
// the flag --flagName: for other commands' servers (calibrate's).
func Listen(addr, flagName string) (net.Listener, error) { return listen(addr, flagName) }
