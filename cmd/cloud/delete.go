package main

// cloud delete and cloud delete-template: options, confirmation and wiring; the deletes are the core's.

import (
	"context"
	"fmt"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

// The doors of the core's deletes (app.DeleteDeployment, app.DeleteTemplate):
// GraphQL's deleteDeployment and deleteTemplate, REST's DELETE
// /deployments/{id} and /templates/{name}.

// deleteOptions are what `cloud delete` runs with.
type deleteOptions struct {
	App func() (*app.App, error)
	ID  string
	// Force deletes even while stacks are deployed.
	Force bool
}

func deleteCommand(e *env, runF func(context.Context, *deleteOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a deployment's record (its history stays); destroy its stacks first",
		ArgsUsage: "ID",
		Description: `Deletes a deployment: its environments, stacks, states and outputs go; its
manifest revisions, operations and events stay as history. It is refused
while any stack of any environment is deployed, unless --force: the
resources would be orphaned, so run cloud destroy first. Asks for
confirmation unless --yes.

Examples:
   cloud destroy D1BRV40 -e dev && cloud delete D1BRV40
   cloud delete D1BRV40 --force --yes`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "delete even while stacks are deployed (their resources are orphaned)"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &deleteOptions{App: e.lazyApp(c), ID: as[0], Force: c.Bool("force")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.deleteRun(c.Context, opts)
		},
	}
}

// deleteRun deletes a deployment's record, once confirmed.
func (e *env) deleteRun(ctx context.Context, opts *deleteOptions) error {
	q := fmt.Sprintf("Delete deployment %s?", opts.ID)
	if opts.Force {
		q = fmt.Sprintf("Delete deployment %s even if stacks are deployed? Their resources would be orphaned.", opts.ID)
	}
	if err := e.confirm(q); err != nil {
		return err
	}
	a, err := opts.App()
	if err != nil {
		return err
	}
	if _, err := a.DeleteDeployment(ctx, opts.ID, opts.Force); err != nil {
		return err
	}
	e.status("deleted deployment %s", opts.ID)
	return nil
}

func deleteTemplateCommand(e *env, runF func(context.Context, *templateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "delete-template",
		Usage:     "delete a deployment template (built-in ones stay)",
		ArgsUsage: "NAME",
		Description: `Deletes a deployment template. Deployments created from it keep their
manifests. Built-in templates cannot be deleted. Asks for confirmation
unless --yes.

Examples:
   cloud delete-template shop --yes`,
		Action: e.templateAction(runF, e.deleteTemplateRun),
	}
}

// deleteTemplateRun deletes a template, once confirmed.
func (e *env) deleteTemplateRun(ctx context.Context, opts *templateOptions) error {
	if err := e.confirm(fmt.Sprintf("Delete template %s?", opts.Name)); err != nil {
		return err
	}
	a, err := opts.App()
	if err != nil {
		return err
	}
	if err := a.DeleteTemplate(ctx, opts.Name); err != nil {
		return err
	}
	e.status("deleted template %s", opts.Name)
	return nil
}
