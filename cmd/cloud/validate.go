package main

// cloud validate and its subcommands: options, run functions and the findings tables.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// validateCommand groups the checks. It has no action of its own, so it
// takes no runF: each subcommand has its own.
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
			validateDeploymentCommand(e, nil),
			validateDependenciesCommand(e, nil),
			validateAWSAccessCommand(e, nil),
			validatePulumiAccessCommand(e, nil),
		},
	}
}

// validateDeploymentOptions are what `cloud validate deployment` runs with.
type validateDeploymentOptions struct {
	App func() (*app.App, error)
	ID  string
	// Env is the one environment checked; "" checks every one.
	Env string
}

func validateDeploymentCommand(e *env, runF func(context.Context, *validateDeploymentOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "deployment",
		Usage:     "check the manifest, the graph and every stack's config against its program's template",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "only this environment"}},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &validateDeploymentOptions{App: e.lazyApp(c), ID: as[0], Env: c.String("env")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.validateDeploymentRun(c.Context, opts)
		},
	}
}

// validateDeploymentRun checks a deployment and prints what it finds.
func (e *env) validateDeploymentRun(ctx context.Context, opts *validateDeploymentOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	var only *string
	if opts.Env != "" {
		only = &opts.Env
	}
	v, err := client.NewLocal(a).Documents().ValidateDeployment(ctx, opts.ID, only)
	if err != nil {
		return err
	}
	return e.printValidation(v, fmt.Sprintf("deployment %s is valid in %s", v.Subject, strings.Join(v.Environments, ", ")))
}

// validateDependenciesOptions are what `cloud validate dependencies` runs
// with.
type validateDependenciesOptions struct {
	App func() (*app.App, error)
	ID  string
}

func validateDependenciesCommand(e *env, runF func(context.Context, *validateDependenciesOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "dependencies",
		Usage:     "build the dependency graph of every environment (cycles, unknown or disabled dependencies)",
		ArgsUsage: "ID",
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			opts := &validateDependenciesOptions{App: e.lazyApp(c), ID: as[0]}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.validateDependenciesRun(c.Context, opts)
		},
	}
}

// validateDependenciesRun prints each environment's layers, or why its
// graph cannot be built, and fails when one cannot.
func (e *env) validateDependenciesRun(ctx context.Context, opts *validateDependenciesOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	checks, err := client.NewLocal(a).Documents().Dependencies(ctx, opts.ID)
	if err != nil {
		return err
	}
	if err := e.emit(checks, func(w io.Writer) {
		for _, g := range checks.Items {
			if g.Error != "" {
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
	// Decided here, not in the printer: -o json and yaml never call it.
	for _, g := range checks.Items {
		if g.Error != "" {
			return &exitError{code: 1, err: errSilent}
		}
	}
	return nil
}

// validateAWSAccessOptions are what `cloud validate aws-access` runs with.
type validateAWSAccessOptions struct {
	// Check asks STS who the credentials are (app.CheckAWSAccess); tests
	// answer without AWS.
	Check   func(ctx context.Context, profile string, timeout time.Duration) (*app.AWSIdentity, error)
	Profile string
	Timeout time.Duration
}

func validateAWSAccessCommand(e *env, runF func(context.Context, *validateAWSAccessOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "aws-access",
		Usage: "resolve AWS credentials with the default chain and ask STS who they belong to",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "profile", Usage: "shared config profile", EnvVars: []string{"AWS_PROFILE"}},
			&cli.DurationFlag{Name: "timeout", Usage: "give up after", Value: 10 * time.Second},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			opts := &validateAWSAccessOptions{Check: app.CheckAWSAccess, Profile: c.String("profile"), Timeout: c.Duration("timeout")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.validateAWSAccessRun(c.Context, opts)
		},
	}
}

// validateAWSAccessRun prints whose the AWS credentials are.
func (e *env) validateAWSAccessRun(ctx context.Context, opts *validateAWSAccessOptions) error {
	id, err := opts.Check(ctx, opts.Profile, opts.Timeout)
	if err != nil {
		return err
	}
	return e.emit(id, func(w io.Writer) {
		row(w, "ACCOUNT", "ARN", "REGION")
		row(w, id.Account, id.ARN, orDash(id.Region))
	})
}

// validatePulumiAccessOptions are what `cloud validate pulumi-access` runs
// with.
type validatePulumiAccessOptions struct {
	App func() (*app.App, error)
	// ID is the deployment whose state backend is checked; "" checks the
	// home's.
	ID string
}

func validatePulumiAccessCommand(e *env, runF func(context.Context, *validatePulumiAccessOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "pulumi-access",
		Usage:     "find the Pulumi CLI and check the state backend is reachable and writable",
		ArgsUsage: "[ID]",
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError("pulumi-access: want at most one deployment ID")
			}
			opts := &validatePulumiAccessOptions{App: e.lazyApp(c), ID: c.Args().First()}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.validatePulumiAccessRun(c.Context, opts)
		},
	}
}

// validatePulumiAccessRun prints the Pulumi CLI found and whether the
// state backend can be written.
func (e *env) validatePulumiAccessRun(ctx context.Context, opts *validatePulumiAccessOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	res, err := a.CheckPulumiAccess(ctx, opts.ID)
	if err != nil {
		return err
	}
	return e.emit(res, func(w io.Writer) {
		row(w, "PULUMI", "VERSION", "BACKEND", "WRITABLE")
		row(w, res.Path, res.Version, res.Backend, res.Writable)
	})
}
