package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseFlags parses args with fs and turns flag errors into usage errors
// (exit 2) that name the command. -h prints the flags and returns errHelp.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(nil)
		fs.Usage()
		return errHelp
	}
	if err != nil {
		return usageErr(fmt.Errorf("%s: %w", fs.Name(), err), "run 'commbench "+fs.Name()+" -h' for its flags")
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0)), "run 'commbench "+fs.Name()+" -h' for its flags")
	}
	return nil
}

// errHelp ends a command quietly after -h.
var errHelp = &exitError{code: exitOK, err: errors.New("help")}

// parseInterspersed is parseFlags for commands that take arguments: flags
// may come before, between or after them. It returns the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(nil)
			fs.Usage()
			return nil, errHelp
		}
		if err != nil {
			return nil, usageErr(fmt.Errorf("%s: %w", fs.Name(), err), "run 'commbench "+fs.Name()+" -h' for its flags")
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
