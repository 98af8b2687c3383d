package main

// cloud init: flags into options, options into an InitRequest.

import (
	"context"
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// initOptions are what `cloud init` runs with.
type initOptions struct {
	App func() (*app.App, error)
	// ID is the deployment's ID; "" has one generated.
	ID           string
	Organization string
	Project      string
	Domain       string
	Template     string
	Region       string
	// Accounts are the AWS account IDs by environment.
	Accounts map[string]string
	// FromFile is the manifest file the deployment is made from ("" none):
	// none of the fields above is then set.
	FromFile string
}

func initCommand(e *env, runF func(context.Context, *initOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create a deployment from a template or a manifest file",
		Description: `Creates a deployment with the environments dev, stage and prod and the stacks
of a deployment template, or from a manifest file. Prints the deployment ID.

Examples:
   cloud init --org acme --project shop --domain shop.example.com
   cloud init --from-file deployment-manifest.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "id", Usage: "deployment ID (D + 6 of [A-Z0-9]); generated when absent"},
			&cli.StringFlag{Name: "org", Usage: "organization"},
			&cli.StringFlag{Name: "project", Usage: "project"},
			&cli.StringFlag{Name: "domain", Usage: "domain of the deployment"},
			&cli.StringFlag{Name: "template", Usage: "deployment template", Value: "demo"},
			&cli.StringFlag{Name: "region", Usage: "region of every environment", Value: "us-east-1"},
			&cli.StringFlag{Name: "account-dev", Usage: "AWS account ID of dev"},
			&cli.StringFlag{Name: "account-stage", Usage: "AWS account ID of stage"},
			&cli.StringFlag{Name: "account-prod", Usage: "AWS account ID of prod"},
			&cli.StringFlag{Name: "from-file", Aliases: []string{"f"}, Usage: "create from this manifest file"},
		},
		Action: func(c *cli.Context) error {
			opts := &initOptions{App: e.lazyApp(c),
				ID: c.String("id"), Organization: c.String("org"), Project: c.String("project"),
				Domain: c.String("domain"), Template: c.String("template"), Region: c.String("region"),
				Accounts: map[string]string{"dev": c.String("account-dev"), "stage": c.String("account-stage"), "prod": c.String("account-prod")},
				FromFile: c.String("from-file"),
			}
			if opts.FromFile != "" {
				// The file says all of it: a flag beside it would be dropped.
				for _, name := range []string{"id", "org", "project", "domain", "template", "region", "account-dev", "account-stage", "account-prod"} {
					if c.IsSet(name) {
						return usageError("--%s cannot be combined with --from-file: the manifest file gives the deployment's %s (edit the file instead)", name, name)
					}
				}
			}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.initRun(c.Context, opts)
		},
	}
}

// initRun creates the deployment and prints its ID.
func (e *env) initRun(ctx context.Context, opts *initOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	req := app.InitRequest{
		ID: opts.ID, Organization: opts.Organization, Project: opts.Project,
		Domain: opts.Domain, Template: opts.Template, Region: opts.Region, Accounts: opts.Accounts,
	}
	if f := opts.FromFile; f != "" {
		if req.Data, err = app.ReadManifestFile(f); err != nil {
			return err
		}
		req.File = f
	}
	created, err := a.Init(ctx, req)
	if err != nil {
		return err
	}
	// The deployment's document, as REST's POST /deployments answers.
	d, err := client.NewLocal(a).Deployment(ctx, created.ID, "")
	if err != nil {
		return err
	}
	if err := e.emit(d, func(w io.Writer) { fmt.Fprintln(w, d.ID) }); err != nil {
		return err
	}
	e.status("created deployment %s (%s/%s); next: cloud deploy %s -e dev", d.ID, d.Organization, d.Project, d.ID)
	return nil
}
