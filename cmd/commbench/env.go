package main

import "github.com/commbench/commbench/cmd/commbench/cli"

// environ is what commbench takes from its environment (cli.Env): read
// once per command and passed down as values.
type environ = cli.Env

// envHint is the usage hint for an error of readEnv.
const envHint = cli.EnvHint

// readEnv reads the environment (cli.ReadEnv).
func readEnv() (environ, error) { return cli.ReadEnv() }

// parseEnv is readEnv reading through getenv.
func parseEnv(getenv func(string) string) (environ, error) { return cli.ParseEnv(getenv) }
