package main

// cloud delete and cloud delete-template: confirmation and wiring; the deletes are the core's.

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// The doors of the core's deletes (app.DeleteDeployment, app.DeleteTemplate):
// GraphQL's deleteDeployment and deleteTemplate, REST's DELETE
// /deployments/{id} and /templates/{name}.

func deleteCommand(e *env) *cli.Command {
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
			q := fmt.Sprintf("Delete deployment %s?", as[0])
			if c.Bool("force") {
				q = fmt.Sprintf("Delete deployment %s even if stacks are deployed? Their resources would be orphaned.", as[0])
			}
			if err := e.confirm(q); err != nil {
				return err
			}
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			if _, err := a.DeleteDeployment(c.Context, as[0], c.Bool("force")); err != nil {
				return err
			}
			e.status("deleted deployment %s", as[0])
			return nil
		},
	}
}

func deleteTemplateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "delete-template",
		Usage:     "delete a deployment template (built-in ones stay)",
		ArgsUsage: "NAME",
		Description: `Deletes a deployment template. Deployments created from it keep their
manifests. Built-in templates cannot be deleted. Asks for confirmation
unless --yes.

Examples:
   cloud delete-template shop --yes`,
		Action: func(c *cli.Context) error {
			as, err := args(c, "NAME")
			if err != nil {
				return err
			}
			if err := e.confirm(fmt.Sprintf("Delete template %s?", as[0])); err != nil {
				return err
			}
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			if err := a.DeleteTemplate(c.Context, as[0]); err != nil {
				return err
			}
			e.status("deleted template %s", as[0])
			return nil
		},
	}
}
