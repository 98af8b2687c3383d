package main

// The hidden runner commands the core starts for kit stacks and Pulumi projects.

import (
	"os"

	"github.com/cloudplatform/cloud/stacks/examples"
	"github.com/cloudplatform/cloud/stacks/kit"
	"github.com/urfave/cli/v2"
)

// stackRunnerCommand runs a built-in example stack as a runner: cloud
// re-executes itself with it, so the demo needs no other binary.
func stackRunnerCommand() *cli.Command {
	return &cli.Command{
		Name:      "stack-runner",
		Hidden:    true,
		Usage:     "run a built-in stack program (runner protocol)",
		ArgsUsage: "NAME describe|run",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("stack-runner NAME describe|run")
			}
			s, ok := examples.All()[c.Args().Get(0)]
			if !ok {
				return usageError("no built-in stack %q (have: %v)", c.Args().Get(0), examples.Names())
			}
			// c.Context ends on SIGTERM, SIGINT or SIGHUP (main's handler): a cancel
			// that comes while the runner starts up must stop the run too.
			code := kit.ServeContext(c.Context, s, c.Args().Slice()[1:], os.Stdin, os.Stdout, os.Stderr)
			if code != 0 {
				return &exitError{code: code, err: errSilent}
			}
			return nil
		},
	}
}

// projectRunnerCommand runs an existing Pulumi project directory as a
// runner (see kit.ServeProject): project stacks are run by cloud itself.
func projectRunnerCommand() *cli.Command {
	return &cli.Command{
		Name:      "project-runner",
		Hidden:    true,
		Usage:     "run a Pulumi project directory as a stack program (runner protocol)",
		ArgsUsage: "DIR describe|validate|run",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("project-runner DIR describe|validate|run")
			}
			code := kit.ServeProject(c.Context, c.Args().Get(0), c.Args().Slice()[1:], nil, os.Stdin, os.Stdout, os.Stderr)
			if code != 0 {
				return &exitError{code: code, err: errSilent}
			}
			return nil
		},
	}
}
