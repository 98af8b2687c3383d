package main

// cloud validate: flag wiring and the findings table.

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

func validateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "validate",
		Usage: "check a deployment, its dependencies, AWS access or Pulumi access",
		Description: `Examples:
   cloud validate deployment D1BRV40 -e prod
   cloud validate dependencies D1BRV40
   cloud validate aws-access --profile prod
   cloud validate pulumi-access D1BRV40`,
		Subcommands: []*cli.Command{
			{
				Name:      "deployment",
				Usage:     "check the manifest, the graph and every stack's config against its program's template",
				ArgsUsage: "ID",
				Flags:     []cli.Flag{&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "only this environment"}},
				Action: func(c *cli.Context) error {
					a, as, err := e.start(c, "ID")
					if err != nil {
						return err
					}
					v, err := a.ValidateDeployment(c.Context, as[0], c.String("env"))
					if err != nil {
						return err
					}
					return e.printValidation(v, fmt.Sprintf("deployment %s is valid in %s", v.DeploymentID, strings.Join(v.Environments, ", ")))
				},
			},
			{
				Name:      "dependencies",
				Usage:     "build the dependency graph of every environment (cycles, unknown or disabled dependencies)",
				ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					a, as, err := e.start(c, "ID")
					if err != nil {
						return err
					}
					checks, err := a.ValidateDependencies(c.Context, as[0])
					if err != nil {
						return err
					}
					bad := false
					if err := e.emit(checks, func(w io.Writer) {
						for _, g := range checks {
							if g.Error != "" {
								bad = true
								fmt.Fprintf(w, "%s: %s\n", g.Environment, g.Error)
								continue
							}
							var layers []string
							for _, l := range g.Layers {
								layers = append(layers, strings.Join(l, " "))
							}
							fmt.Fprintf(w, "%s: ok, %d layers: %s\n", g.Environment, len(g.Layers), strings.Join(layers, " | "))
						}
					}); err != nil {
						return err
					}
					for _, g := range checks {
						bad = bad || g.Error != ""
					}
					if bad {
						return &exitError{code: 1, err: errSilent}
					}
					return nil
				},
			},
			{
				Name:  "aws-access",
				Usage: "resolve AWS credentials with the default chain and ask STS who they belong to",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "profile", Usage: "shared config profile", EnvVars: []string{"AWS_PROFILE"}},
					&cli.DurationFlag{Name: "timeout", Usage: "give up after", Value: 10 * time.Second},
				},
				Action: func(c *cli.Context) error {
					id, err := app.CheckAWSAccess(c.Context, c.String("profile"), c.Duration("timeout"))
					if err != nil {
						return err
					}
					return e.emit(id, func(w io.Writer) {
						row(w, "ACCOUNT", "ARN", "REGION")
						row(w, id.Account, id.ARN, orDash(id.Region))
					})
				},
			},
			{
				Name:      "pulumi-access",
				Usage:     "find the Pulumi CLI and check the state backend is reachable and writable",
				ArgsUsage: "[ID]",
				Action: func(c *cli.Context) error {
					if c.NArg() > 1 {
						return usageError("pulumi-access: want at most one deployment ID")
					}
					a, err := e.open(c.Context)
					if err != nil {
						return err
					}
					res, err := a.CheckPulumiAccess(c.Context, c.Args().First())
					if err != nil {
						return err
					}
					return e.emit(res, func(w io.Writer) {
						row(w, "PULUMI", "VERSION", "BACKEND", "WRITABLE")
						row(w, res.Path, res.Version, res.Backend, res.Writable)
					})
				},
			},
		},
	}
}
