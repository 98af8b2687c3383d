package main

// The deployment template commands: options, flag wiring, run functions and printers.

import (
	"context"
	"fmt"
	"io"

	"github.com/charmbracelet/x/ansi"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/urfave/cli/v2"
)

// listTemplatesOptions are what `cloud list-templates` runs with.
type listTemplatesOptions struct {
	App func() (*app.App, error)
}

func listTemplatesCommand(e *env, runF func(context.Context, *listTemplatesOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "list-templates",
		Usage: "list the deployment templates init can start from",
		Description: `The table counts each template's stacks and cuts its description to fit a
terminal; show-template NAME prints the whole template, -o json every field.

Examples:
   cloud list-templates
   cloud list-templates -o json`,
		Action: func(c *cli.Context) error {
			opts := &listTemplatesOptions{App: e.lazyApp(c)}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.listTemplatesRun(c.Context, opts)
		},
	}
}

// listTemplatesRun prints the deployment templates.
func (e *env) listTemplatesRun(ctx context.Context, opts *listTemplatesOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	ts, err := client.NewLocal(a).Documents().Templates(ctx, nil, nil)
	if err != nil {
		return err
	}
	// A template's stacks are counted, not named, and its description
	// cut to a line's worth: the row fits a terminal, and show-template
	// tells the rest.
	return e.emit(ts, func(w io.Writer) {
		row(w, "TEMPLATE", "BUILT IN", "STACKS", "DESCRIPTION")
		for _, t := range ts.Items {
			row(w, t.Name, t.Builtin, len(t.Stacks), ansi.Truncate(t.Description, descriptionWidth, "…"))
		}
	})
}

// descriptionWidth is the most of a description a table row shows.
const descriptionWidth = 60

// templateOptions are what `cloud show-template`, `cloud
// validate-template` and `cloud delete-template` run with: a template's
// name.
type templateOptions struct {
	App  func() (*app.App, error)
	Name string
}

// templateAction is the Action of a command taking a template's NAME.
func (e *env) templateAction(runF, run func(context.Context, *templateOptions) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		as, err := args(c, "NAME")
		if err != nil {
			return err
		}
		opts := &templateOptions{App: e.lazyApp(c), Name: as[0]}
		if runF != nil {
			return runF(c.Context, opts)
		}
		return run(c.Context, opts)
	}
}

func showTemplateCommand(e *env, runF func(context.Context, *templateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "show-template",
		Usage:     "print a deployment template (YAML)",
		ArgsUsage: "NAME",
		Description: `Examples:
   cloud show-template demo > my-template.yaml`,
		Action: e.templateAction(runF, e.showTemplateRun),
	}
}

// showTemplateRun prints a template's YAML.
func (e *env) showTemplateRun(ctx context.Context, opts *templateOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	t, err := client.NewLocal(a).Documents().Template(ctx, opts.Name)
	if err != nil {
		return err
	}
	return e.emit(t, func(w io.Writer) { fmt.Fprint(w, t.Body) })
}

// createTemplateOptions are what `cloud create-template` runs with.
type createTemplateOptions struct {
	App         func() (*app.App, error)
	Name        string
	Description string
	// FromDeployment or FromTemplate is what the stacks are copied from.
	FromDeployment string
	FromTemplate   string
}

func createTemplateCommand(e *env, runF func(context.Context, *createTemplateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "create-template",
		Usage:     "create a deployment template from a deployment or another template",
		ArgsUsage: "NAME",
		Description: `The new template holds the stacks — enabled flags, dependencies, config and
per-environment overrides — of the deployment's current manifest or of the
other template. It is checked like a manifest before it is stored.

Examples:
   cloud create-template shop --from-deployment D1BRV40 --description "our shop"
   cloud create-template small --from-template demo`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from-deployment", Usage: "copy the stacks of this deployment"},
			&cli.StringFlag{Name: "from-template", Usage: "copy this template"},
			&cli.StringFlag{Name: "description", Usage: "what the template is for"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "NAME")
			if err != nil {
				return err
			}
			opts := &createTemplateOptions{App: e.lazyApp(c), Name: as[0], Description: c.String("description"),
				FromDeployment: c.String("from-deployment"), FromTemplate: c.String("from-template")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.createTemplateRun(c.Context, opts)
		},
	}
}

// createTemplateRun creates a template from a deployment or a template.
func (e *env) createTemplateRun(ctx context.Context, opts *createTemplateOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	t, err := a.CreateTemplate(ctx, app.CreateTemplateRequest{Name: opts.Name, Description: opts.Description,
		FromDeployment: opts.FromDeployment, FromTemplate: opts.FromTemplate})
	if err != nil {
		return err
	}
	e.status("created template %s", t.Name)
	return e.emitResult(func() (any, error) { return client.NewLocal(a).Documents().Template(ctx, t.Name) })
}

// updateTemplateOptions are what `cloud update-template` runs with.
type updateTemplateOptions struct {
	App  func() (*app.App, error)
	Name string
	// File is the YAML merged into the template.
	File string
}

func updateTemplateCommand(e *env, runF func(context.Context, *updateTemplateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "update-template",
		Usage:     "merge a YAML file (description, stacks) into a template",
		ArgsUsage: "NAME",
		Description: `The file's description replaces the template's; its stacks merge over the
template's key by key (maps merge, other values replace). Built-in templates
are read-only: copy one with create-template first.

Examples:
   cloud update-template shop --file patch.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "YAML to merge", Required: true},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "NAME")
			if err != nil {
				return err
			}
			opts := &updateTemplateOptions{App: e.lazyApp(c), Name: as[0], File: c.String("file")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.updateTemplateRun(c.Context, opts)
		},
	}
}

// updateTemplateRun merges a YAML file into a template.
func (e *env) updateTemplateRun(ctx context.Context, opts *updateTemplateOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	data, err := app.ReadManifestFile(opts.File)
	if err != nil {
		return err
	}
	if _, err := a.UpdateTemplate(ctx, opts.Name, opts.File, data); err != nil {
		return err
	}
	e.status("updated template %s", opts.Name)
	return e.emitResult(func() (any, error) { return client.NewLocal(a).Documents().Template(ctx, opts.Name) })
}

func validateTemplateCommand(e *env, runF func(context.Context, *templateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "validate-template",
		Usage:     "check a template: its graph and every stack's config against its program",
		ArgsUsage: "NAME",
		Description: `Reports unknown stack programs, cycles, dependencies on disabled stacks,
config keys a program does not declare, values of the wrong type, and
placeholders naming outputs a program does not declare. Exit code 1 when it
finds an error.

Examples:
   cloud validate-template demo`,
		Action: e.templateAction(runF, e.validateTemplateRun),
	}
}

// validateTemplateRun checks a template and prints what it finds.
func (e *env) validateTemplateRun(ctx context.Context, opts *templateOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	v, err := client.NewLocal(a).Documents().ValidateTemplate(ctx, opts.Name)
	if err != nil {
		return err
	}
	return e.printValidation(v, fmt.Sprintf("template %s is valid", opts.Name))
}

// printValidation prints findings (or ok) and fails when any is an error.
func (e *env) printValidation(v *model.Validation, ok string) error {
	if err := e.emit(v, func(w io.Writer) {
		for _, f := range v.Findings {
			fmt.Fprintln(w, app.Finding{Severity: f.Severity, Environment: f.Environment, Stack: f.Stack, Field: f.Field, Message: f.Message})
		}
		if len(v.Findings) == 0 {
			fmt.Fprintln(w, ok)
		}
	}); err != nil {
		return err
	}
	if !v.Ok {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}
