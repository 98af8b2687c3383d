package main

// The --require-lock flag of the commands that take the team lock.

import (
	"github.com/urfave/cli/v2"
)

// requireLockFlag is --require-lock of the commands that take the team lock.
func requireLockFlag() cli.Flag {
	return &cli.BoolFlag{Name: "require-lock", Usage: "fail, rather than warn and go on, when the team lock cannot be taken (sync unreachable)"}
}
