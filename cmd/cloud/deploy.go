package main

// The operation commands (deploy, deploy-stack, preview, refresh, destroy, destroy-stack): flags into a RunRequest, live progress, the report.

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

func envFlag() cli.Flag {
	return &cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment", Value: "dev"}
}

func runFlags() []cli.Flag {
	return []cli.Flag{
		envFlag(),
		&cli.IntFlag{Name: "parallel", Aliases: []string{"p"}, Usage: "most stacks running at once", Value: 4},
		&cli.BoolFlag{Name: "fail-fast", Usage: "start no new stack after a failure"},
	}
}

func deployCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "deploy",
		Usage:     "deploy every enabled stack of a deployment to an environment",
		ArgsUsage: "ID",
		Description: `Runs the stacks in dependency order: each starts as soon as its dependencies
succeeded, up to --parallel at once. A stack whose resolved config, program and
upstream outputs are unchanged since its last deploy is skipped (--force runs it).
Dependents of a failed stack are skipped; independent stacks go on.

Examples:
   cloud deploy D1BRV40 -e dev
   cloud deploy D1BRV40 -e dev --resume
   cloud deploy D1BRV40 -e prod -f deployment-manifest.yaml --parallel 8`,
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "preview", Usage: "preview only: show what would change"},
			&cli.BoolFlag{Name: "force", Usage: "deploy stacks even when unchanged"},
			&cli.BoolFlag{Name: "resume", Usage: "re-run what failed, was skipped or interrupted in the last deploy, then continue downstream"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "apply this manifest as a new revision first"},
			&cli.BoolFlag{Name: "skip-validation", Usage: "do not check the config against the stack templates first"},
			requireLockFlag(),
		),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			kind := vocab.KindDeploy
			if c.Bool("preview") {
				kind = vocab.KindPreview
			}
			if srv := e.server(c); srv != "" {
				return e.remoteOperate(c, srv, app.RunRequest{DeploymentID: as[0], Kind: kind})
			}
			if f := c.String("file"); f != "" {
				a, err := e.open(c.Context)
				if err != nil {
					return err
				}
				data, err := app.ReadManifestFile(f)
				if err != nil {
					return err
				}
				rev, _, err := a.ApplyManifest(c.Context, as[0], f, data)
				if err != nil {
					return err
				}
				e.status("applied %s as revision %d", f, rev)
			}
			return e.operate(c, app.RunRequest{DeploymentID: as[0], Kind: kind,
				RunOptions: app.RunOptions{Force: c.Bool("force"), Resume: c.Bool("resume"), SkipValidation: c.Bool("skip-validation")}})
		},
	}
}

func deployStackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "deploy-stack",
		Usage: "deploy one stack (its dependencies must be deployed)",
		Description: `Deploys one stack. Its dependencies must already be deployed in that
environment, unless --with-dependencies deploys them first. --cascade then
redeploys, in graph order, the stacks downstream whose resolved inputs
changed because of new upstream outputs; the others are unchanged.

Examples:
   cloud deploy-stack D1BRV40 app -e dev
   cloud deploy-stack D1BRV40 network -e dev --cascade
   cloud deploy-stack D1BRV40 app -e dev --with-dependencies`,
		ArgsUsage: "ID STACK",
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "with-dependencies", Usage: "deploy its dependencies first"},
			&cli.BoolFlag{Name: "cascade", Usage: "then redeploy the dependents whose resolved inputs changed"},
			&cli.BoolFlag{Name: "force", Usage: "deploy even when unchanged"},
		),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID", "STACK")
			if err != nil {
				return err
			}
			return e.operate(c, app.RunRequest{DeploymentID: as[0], Kind: vocab.KindDeploy, Stacks: []string{as[1]},
				RunOptions: app.RunOptions{WithDependencies: c.Bool("with-dependencies"), Cascade: c.Bool("cascade"), Force: c.Bool("force")}})
		},
	}
}

func previewCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "preview",
		Usage: "run the Pulumi preview of every stack, with mock outputs for stacks not deployed",
		Description: `Runs the real Pulumi preview of every stack in graph order and shows the
planned resource changes per stack. Outputs of stacks not deployed yet are
mock outputs: typed stand-ins derived from the upstream program's declared
outputs, named in each stack's note. Changes nothing.

Examples:
   cloud preview D1BRV40 -e stage`,
		ArgsUsage: "ID",
		Flags:     runFlags(),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			return e.operate(c, app.RunRequest{DeploymentID: as[0], Kind: vocab.KindPreview})
		},
	}
}

func refreshCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "refresh",
		Usage:     "find drift: compare each deployed stack with its real resources",
		ArgsUsage: "ID",
		Description: `Runs a Pulumi refresh preview of every deployed stack (or of --stack) and
reports which stacks drifted and how: the resources changed or deleted
outside cloud. Nothing is changed; the drift is recorded on the stack, and the
next deploy refreshes that stack first and puts its resources back.

Examples:
   cloud refresh D1BRV40 -e prod
   cloud refresh D1BRV40 -e prod --stack site`,
		Flags: append(runFlags(),
			&cli.StringSliceFlag{Name: "stack", Usage: "only these stacks (repeatable)"}),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			return e.operate(c, app.RunRequest{DeploymentID: as[0], Kind: vocab.KindRefresh, Stacks: c.StringSlice("stack")})
		},
	}
}

func destroyCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "destroy",
		Usage: "destroy every stack of a deployment in an environment, dependents first",
		Description: `Destroys every stack of a deployment in one environment, dependents first.
Stacks never deployed there are skipped. Asks for confirmation unless --yes.

Examples:
   cloud destroy D1BRV40 -e dev --yes`,
		ArgsUsage: "ID",
		Flags:     append(runFlags(), requireLockFlag()),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			if err := e.confirm(fmt.Sprintf("Destroy every stack of %s in %s?", as[0], c.String("env"))); err != nil {
				return err
			}
			return e.operate(c, app.RunRequest{DeploymentID: as[0], Kind: vocab.KindDestroy})
		},
	}
}

func destroyStackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "destroy-stack",
		Usage: "destroy one stack (refused while deployed stacks depend on it)",
		Description: `Destroys one stack. Refused while deployed stacks depend on it, unless
--force. Asks for confirmation unless --yes.

Examples:
   cloud destroy-stack D1BRV40 monitoring -e dev --yes
   cloud destroy-stack D1BRV40 storage -e dev --force --yes`,
		ArgsUsage: "ID STACK",
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "force", Usage: "destroy even when deployed stacks depend on it"}),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID", "STACK")
			if err != nil {
				return err
			}
			if err := e.confirm(fmt.Sprintf("Destroy stack %s of %s in %s?", as[1], as[0], c.String("env"))); err != nil {
				return err
			}
			return e.operate(c, app.RunRequest{DeploymentID: as[0], Kind: vocab.KindDestroy, Stacks: []string{as[1]},
				RunOptions: app.RunOptions{Force: c.Bool("force")}})
		},
	}
}

// confirm asks before a destructive command unless --yes; with no terminal
// to ask on, it refuses rather than guess.
func (e *env) confirm(question string) error {
	if e.yes {
		return nil
	}
	if !e.io.TTY {
		return usageError("%s Refusing without --yes (no terminal to ask on)", question)
	}
	fmt.Fprintf(e.io.Err, "%s [y/N] ", question)
	line, _ := bufio.NewReader(e.io.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return usageError("cancelled")
}

// operate runs an operation with live progress and prints its summary.
func (e *env) operate(c *cli.Context, req app.RunRequest) error {
	if srv := e.server(c); srv != "" {
		return e.remoteOperate(c, srv, req)
	}
	a, err := e.open(c.Context)
	if err != nil {
		return err
	}
	req.Environment = c.String("env")
	req.Parallel = c.Int("parallel")
	req.FailFast = c.Bool("fail-fast")
	req.Command = c.Command.Name
	req.Flags = setFlags(c)
	if req.Parallel < 1 {
		return usageError("--parallel must be at least 1")
	}
	req.RequireLock = c.Bool("require-lock")
	return e.watch(c.Context, a, req.Kind, &req, func() (*app.Report, error) { return a.Run(c.Context, req) })
}

// watch runs an operation with live progress and prints its report. When
// there is a report, it has said what failed: the exit code is 1 without
// repeating the error.
func (e *env) watch(ctx context.Context, a *app.App, kind vocab.Kind, run *app.RunRequest, do func() (*app.Report, error)) error {
	p := newProgress(e, "Ctrl-C cancels")
	run.Observer = p.observe
	// Not quiet-able: running without the team lock is a risk the user
	// must see.
	run.Warn = func(msg string) { fmt.Fprintf(e.io.Err, "warning: %s\n", msg) }
	report, err := do()
	p.stop()
	if report == nil {
		return err
	}
	if perr := e.printLocalReport(ctx, a, report); perr != nil {
		return perr
	}
	if err != nil {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// printLocalReport prints the report of an operation run in this process
// as printReport does a server's: from the operation's document.
func (e *env) printLocalReport(ctx context.Context, a *app.App, r *app.Report) error {
	// Read even when the run was interrupted: its end is recorded.
	op, err := client.NewLocal(a).Operation(context.WithoutCancel(ctx), r.Operation.ID)
	if err != nil {
		return err
	}
	return e.printReport(op)
}

// setFlags are the flags the user set on command c, by their names (not
// aliases) with their values, as the operation records them: the global
// flags (the home, the output format) are not the operation's.
func setFlags(c *cli.Context) map[string]any {
	flags := map[string]any{}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.StringSliceFlag:
			flags[name] = c.StringSlice(name)
		default:
			flags[name] = c.Value(name)
		}
	}
	return flags
}
