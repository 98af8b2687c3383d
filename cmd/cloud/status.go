package main

// cloud status and cloud list: options, run functions and their tables.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"
	"github.com/urfave/cli/v2"
)

// statusOptions are what `cloud status` runs with.
type statusOptions struct {
	Client func() (client.Client, error)
	ID     string
	// Env is the environment shown; "" shows every one.
	Env string
}

func statusCommand(e *env, runF func(context.Context, *statusOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show a deployment and every stack in an environment",
		Description: `Shows a deployment and every stack in one environment: status (with the
reason for skipped and failed stacks), layer, resource count, dependencies,
and the last operation.

Examples:
   cloud status D1BRV40 -e dev
   cloud status D1BRV40 --all-environments -o json`,
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment (default: dev)"},
			&cli.BoolFlag{Name: "all-environments", Aliases: []string{"a"}, Usage: "every environment"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			env := c.String("env")
			if c.Bool("all-environments") {
				if env != "" {
					return usageError("--env and --all-environments exclude each other")
				}
			} else if env == "" {
				env = "dev"
			}
			opts := &statusOptions{Client: e.lazyClient(c), ID: as[0], Env: env}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.statusRun(c.Context, opts)
		},
	}
}

// statusRun prints a deployment's status document.
func (e *env) statusRun(ctx context.Context, opts *statusOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	d, err := cl.Deployment(ctx, opts.ID, opts.Env)
	if err != nil {
		return err
	}
	return e.emit(d, func(w io.Writer) { e.printStatus(w, d) })
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// listOptions are what `cloud list` runs with.
type listOptions struct {
	Client func() (client.Client, error)
	// All includes the deployments destroyed everywhere.
	All bool
}

func listCommand(e *env, runF func(context.Context, *listOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list deployments with their status",
		Description: `Lists deployments with their organization, project and status per
environment. A deployment destroyed in every environment is shown with --all.

Examples:
   cloud list
   cloud list --all -o yaml`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "include destroyed deployments"},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			opts := &listOptions{Client: e.lazyClient(c), All: c.Bool("all")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.listRun(c.Context, opts)
		},
	}
}

// listRun prints the list of deployments.
func (e *env) listRun(ctx context.Context, opts *listOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	list, err := cl.Deployments(ctx, opts.All)
	if err != nil {
		return err
	}
	return e.emit(list, func(w io.Writer) {
		row(w, "ID", "ORGANIZATION", "PROJECT", "STATUS", "ENVIRONMENTS", "LAST ACTIVITY")
		for _, d := range list.Items {
			// In the manifest's order, as the document lists them.
			var envs []string
			for _, env := range d.Environments {
				envs = append(envs, env.Name+":"+string(env.Status))
			}
			row(w, d.ID, d.Organization, d.Project, e.cell(statusColor(string(d.Status)), string(d.Status)),
				strings.Join(envs, " "), human.DateTime(lastActivity(d)))
		}
	})
}

// lastActivity is when anything last happened to a deployment: its
// manifest changed, or an operation of one of its environments started or
// ended.
func lastActivity(d *model.Deployment) time.Time {
	last := d.UpdatedAt
	for _, env := range d.Environments {
		if op := env.LastOperation; op != nil {
			if op.StartedAt.After(last) {
				last = op.StartedAt
			}
			if op.FinishedAt != nil && op.FinishedAt.After(last) {
				last = *op.FinishedAt
			}
		}
	}
	return last
}

// printStatus writes a deployment's status as `cloud status` shows it.
func (e *env) printStatus(w io.Writer, d *model.Deployment) {
	fmt.Fprintf(w, "Deployment %s  %s/%s  domain %s  revision %d\n", d.ID, d.Organization, d.Project, orDash(d.Domain), d.Revision)
	for _, es := range d.Environments {
		enabled := "enabled"
		if !es.Enabled {
			enabled = "disabled"
		}
		fmt.Fprintf(w, "\nEnvironment %s  %s  %s  region %s  account %s\n", es.Name, e.paint(statusColor(string(es.Status)), string(es.Status)),
			enabled, orDash(es.Region), orDash(es.AccountID))
		if op := es.LastOperation; op != nil {
			fmt.Fprintf(w, "Last operation  %s %s  %s  %s  by %s\n", op.Kind, op.ID, e.paint(statusColor(string(op.Status)), string(op.Status)), human.DateTime(op.StartedAt), op.Actor)
		}
		row(w, "LAYER", "STACK", "STATUS", "RESOURCES", "DEPENDS ON", "NOTE")
		for _, s := range es.Stacks {
			status := string(s.Status)
			if !s.Enabled {
				status = "disabled"
			}
			row(w, s.Layer, s.Name, e.cell(statusColor(status), status), s.ResourceCount, orDash(strings.Join(s.Dependencies, ",")), s.Reason)
		}
	}
}
