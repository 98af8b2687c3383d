package main

// The deployment template commands: flag wiring and printers.

import (
	"fmt"
	"io"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/urfave/cli/v2"
)

func listTemplatesCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "list-templates",
		Usage: "list the deployment templates init can start from",
		Description: `Examples:
   cloud list-templates
   cloud list-templates -o json`,
		Action: func(c *cli.Context) error {
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			ts, err := a.Templates(c.Context)
			if err != nil {
				return err
			}
			return e.emit(ts, func(w io.Writer) {
				row(w, "TEMPLATE", "BUILT IN", "STACKS", "DESCRIPTION")
				for _, t := range ts {
					row(w, t.Name, t.Builtin, strings.Join(t.Stacks, ","), t.Description)
				}
			})
		},
	}
}

func showTemplateCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "show-template",
		Usage:     "print a deployment template (YAML)",
		ArgsUsage: "NAME",
		Description: `Examples:
   cloud show-template demo > my-template.yaml`,
		Action: func(c *cli.Context) error {
			a, as, err := e.start(c, "NAME")
			if err != nil {
				return err
			}
			t, err := a.Template(c.Context, as[0])
			if err != nil {
				return err
			}
			return e.emit(t, func(w io.Writer) { fmt.Fprint(w, t.Body) })
		},
	}
}

func createTemplateCommand(e *env) *cli.Command {
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
			a, as, err := e.start(c, "NAME")
			if err != nil {
				return err
			}
			t, err := a.CreateTemplate(c.Context, app.CreateTemplateRequest{Name: as[0], Description: c.String("description"),
				FromDeployment: c.String("from-deployment"), FromTemplate: c.String("from-template")})
			if err != nil {
				return err
			}
			e.status("created template %s", t.Name)
			return nil
		},
	}
}

func updateTemplateCommand(e *env) *cli.Command {
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
			a, as, err := e.start(c, "NAME")
			if err != nil {
				return err
			}
			data, err := app.ReadManifestFile(c.String("file"))
			if err != nil {
				return err
			}
			if _, err := a.UpdateTemplate(c.Context, as[0], c.String("file"), data); err != nil {
				return err
			}
			e.status("updated template %s", as[0])
			return nil
		},
	}
}

func validateTemplateCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error {
			a, as, err := e.start(c, "NAME")
			if err != nil {
				return err
			}
			v, err := a.ValidateTemplate(c.Context, as[0])
			if err != nil {
				return err
			}
			return e.printValidation(v, fmt.Sprintf("template %s is valid", as[0]))
		},
	}
}

// printValidation prints findings (or ok) and fails when any is an error.
func (e *env) printValidation(v *app.Validation, ok string) error {
	if err := e.emit(v, func(w io.Writer) {
		for _, f := range v.Findings {
			fmt.Fprintln(w, f.String())
		}
		if len(v.Findings) == 0 {
			fmt.Fprintln(w, ok)
		}
	}); err != nil {
		return err
	}
	if v.Errors() > 0 {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}
