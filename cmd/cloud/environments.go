package main

// enable-environment, disable-environment, list-environments: flag wiring and printers.

import (
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

func enableEnvironmentCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error { return e.setEnvironment(c, true) },
	}
}

func disableEnvironmentCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error { return e.setEnvironment(c, false) },
	}
}

func (e *env) setEnvironment(c *cli.Context, enabled bool) error {
	a, as, err := e.start(c, "ID", "ENV")
	if err != nil {
		return err
	}
	req := app.SetEnvironmentRequest{DeploymentID: as[0], Environment: as[1], Enabled: enabled,
		Stacks: c.StringSlice("stacks"), Destroy: c.Bool("destroy")}
	var p *progress
	if req.Destroy {
		if err := e.confirm(fmt.Sprintf("Destroy what is deployed in %s of %s, then disable it?", as[1], as[0])); err != nil {
			return err
		}
		p = newProgress(e, "Ctrl-C cancels")
		req.Run = app.RunRequest{RunOptions: app.RunOptions{Parallel: c.Int("parallel")}, Command: c.Command.Name,
			RunHooks: app.RunHooks{Observer: p.observe}}
	}
	report, rev, err := a.SetEnvironment(c.Context, req)
	if p != nil {
		p.stop()
	}
	if report != nil {
		if perr := e.printLocalReport(c.Context, a, report); perr != nil {
			return perr
		}
	}
	if err != nil {
		if report != nil {
			e.status("%s left enabled: the destroy did not succeed", as[1])
			return &exitError{code: 1, err: errSilent}
		}
		return err
	}
	what := "environment " + as[1]
	if len(req.Stacks) > 0 {
		what = fmt.Sprintf("stacks %v in %s", req.Stacks, as[1])
	}
	state := "disabled"
	if enabled {
		state = "enabled"
	}
	e.status("%s %s (revision %d)", what, state, rev)
	return nil
}

func listEnvironmentsCommand(e *env) *cli.Command {
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
			a, as, err := e.start(c, "ID")
			if err != nil {
				return err
			}
			envs, err := a.ListEnvironments(c.Context, as[0])
			if err != nil {
				return err
			}
			return e.emit(envs, func(w io.Writer) {
				row(w, "ENVIRONMENT", "ENABLED", "REGION", "ACCOUNT", "STATUS", "DEPLOYED", "FAILED", "NOT DEPLOYED")
				for _, s := range envs {
					row(w, s.Name, s.Enabled, orDash(s.Region), orDash(s.AccountID), e.cell(statusColor(s.Status), string(s.Status)),
						s.Deployed, s.Failed, s.NotDeployed)
				}
			})
		},
	}
}
