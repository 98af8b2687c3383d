package main

// enable-environment, disable-environment, list-environments: options, flag wiring, run functions and printers.

import (
	"context"
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// setEnvironmentOptions are what `cloud enable-environment` and `cloud
// disable-environment` run with.
type setEnvironmentOptions struct {
	App func() (*app.App, error)
	// Command is the command's name, recorded with a destroy.
	Command string
	ID      string
	Env     string
	Enabled bool
	// Stacks are the only stacks set (none: the environment).
	Stacks []string
	// Destroy destroys what is deployed first, Parallel stacks at once.
	Destroy  bool
	Parallel int
}

func enableEnvironmentCommand(e *env, runF func(context.Context, *setEnvironmentOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "enable-environment",
		Usage:     "enable an environment (or some stacks in it) so deploy accepts it",
		ArgsUsage: "ID ENV",
		Description: `Sets environments.ENV.enabled (or, with --stacks, stacks.NAME.environments.ENV.enabled)
in the manifest, as a new revision. A stack disabled everywhere
(stacks.NAME.enabled: false, as in the default template) is enabled in ENV
only: its own flag goes on and the other environments get an override
keeping it off.

Examples:
   cloud enable-environment D1BRV40 prod
   cloud enable-environment D1BRV40 dev --stacks monitoring`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "stacks", Usage: "only these stacks (comma separated)"},
		},
		Action: func(c *cli.Context) error { return e.setEnvironment(c, true, runF) },
	}
}

func disableEnvironmentCommand(e *env, runF func(context.Context, *setEnvironmentOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "disable-environment",
		Usage:     "disable an environment (or some stacks in it); --destroy destroys what is deployed there first",
		ArgsUsage: "ID ENV",
		Description: `Examples:
   cloud disable-environment D1BRV40 stage
   cloud disable-environment D1BRV40 stage --destroy --yes
   cloud disable-environment D1BRV40 dev --stacks monitoring`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "stacks", Usage: "only these stacks (comma separated)"},
			&cli.BoolFlag{Name: "destroy", Usage: "destroy what is deployed there first"},
			&cli.IntFlag{Name: "parallel", Aliases: []string{"p"}, Usage: "most stacks destroyed at once", Value: 4},
		},
		Action: func(c *cli.Context) error { return e.setEnvironment(c, false, runF) },
	}
}

// setEnvironment parses the arguments of enable-environment (enabled)
// or disable-environment into options and runs them.
func (e *env) setEnvironment(c *cli.Context, enabled bool, runF func(context.Context, *setEnvironmentOptions) error) error {
	as, err := args(c, "ID", "ENV")
	if err != nil {
		return err
	}
	opts := &setEnvironmentOptions{App: e.lazyApp(c), Command: c.Command.Name, ID: as[0], Env: as[1], Enabled: enabled,
		Stacks: c.StringSlice("stacks"), Destroy: c.Bool("destroy"), Parallel: c.Int("parallel")}
	if runF != nil {
		return runF(c.Context, opts)
	}
	return e.setEnvironmentRun(c.Context, opts)
}

// setEnvironmentRun enables or disables an environment (or stacks in
// it), destroying first with Destroy.
func (e *env) setEnvironmentRun(ctx context.Context, opts *setEnvironmentOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	req := app.SetEnvironmentRequest{DeploymentID: opts.ID, Environment: opts.Env, Enabled: opts.Enabled,
		Stacks: opts.Stacks, Destroy: opts.Destroy}
	var p *progress
	if req.Destroy {
		if err := e.confirm(fmt.Sprintf("Destroy what is deployed in %s of %s, then disable it?", opts.Env, opts.ID)); err != nil {
			return err
		}
		p = newProgress(e, "Ctrl-C cancels")
		req.Run = app.RunRequest{RunOptions: app.RunOptions{Parallel: opts.Parallel}, Command: opts.Command,
			RunHooks: app.RunHooks{Observer: p.observe}}
	}
	report, rev, err := a.SetEnvironment(ctx, req)
	if p != nil {
		p.stop()
	}
	if report != nil {
		// Read even when the run was interrupted: its end is recorded.
		op, perr := client.NewLocal(a).Operation(context.WithoutCancel(ctx), report.Operation.ID)
		if perr == nil {
			perr = e.printReport(op, p.order(op.ID))
		}
		if perr != nil {
			return perr
		}
	}
	if err != nil {
		if report != nil {
			e.status("%s left enabled: the destroy did not succeed", opts.Env)
			return &exitError{code: 1, err: errSilent}
		}
		return err
	}
	what := "environment " + opts.Env
	if len(req.Stacks) > 0 {
		what = fmt.Sprintf("stacks %v in %s", req.Stacks, opts.Env)
	}
	state := "disabled"
	if opts.Enabled {
		state = "enabled"
	}
	e.status("%s %s (revision %d)", what, state, rev)
	return nil
}

// listEnvironmentsOptions are what `cloud list-environments` runs with.
type listEnvironmentsOptions struct {
	App func() (*app.App, error)
	ID  string
}

func listEnvironmentsCommand(e *env, runF func(context.Context, *listEnvironmentsOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "list-environments",
		Usage: "list a deployment's environments with region, account, enabled and stack counts",
		Description: `Lists a deployment's environments: enabled, region, account, status, and
how many of their enabled stacks are deployed, failed (or interrupted) and
not deployed.

Examples:
   cloud list-environments D1BRV40
   cloud list-environments D1BRV40 -o json`,
		ArgsUsage: "ID",
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &listEnvironmentsOptions{App: e.lazyApp(c), ID: as[0]}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.listEnvironmentsRun(c.Context, opts)
		},
	}
}

// listEnvironmentsRun prints a deployment's environments.
func (e *env) listEnvironmentsRun(ctx context.Context, opts *listEnvironmentsOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	envs, err := client.NewLocal(a).Documents().Environments(ctx, opts.ID)
	if err != nil {
		return err
	}
	return e.emit(envs, func(w io.Writer) {
		row(w, "ENVIRONMENT", "ENABLED", "REGION", "ACCOUNT", "STATUS", "DEPLOYED", "FAILED", "NOT DEPLOYED")
		for _, s := range envs.Items {
			row(w, s.Name, s.Enabled, orDash(s.Region), orDash(s.AccountID), e.cell(statusColor(s.Status), string(s.Status)),
				s.Deployed, s.Failed, s.NotDeployed)
		}
	})
}
