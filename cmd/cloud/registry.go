package main

// The stack registry commands (register-stack, update-stack, unregister-stack, list-stacks, validate-stack): options, run functions and printers.

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/urfave/cli/v2"
)

// registerStackOptions are what `cloud register-stack` runs with.
type registerStackOptions struct {
	App func() (*app.App, error)
	// Source is a stack program's NAME, a PATH to one, or a Pulumi
	// project's DIR.
	Source string
	// Name registers it under another name than the program's.
	Name string
	// Dependencies replace the program's default ones; nil keeps them.
	Dependencies *[]string
}

func registerStackCommand(e *env, runF func(context.Context, *registerStackOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "register-stack",
		Usage: "register a stack program or a Pulumi project directory: read its template (inputs, outputs, dependencies)",
		Description: `Reads a stack's template and registers it, as a new version when it
changed. NAME is looked up in the stacks directories and the built-in
examples; a PATH (anything with a slash) registers that binary; a DIR
holding a Pulumi.yaml registers the project as a project stack, run with
its own runtime and never written to (docs/projects.md). The stack is
registered under the program's name (a project's name) unless --name.
--dependencies replaces the program's default dependencies.

Examples:
   cloud register-stack network
   cloud register-stack ./bin/stacks/cache --dependencies network,security
   cloud register-stack ./infra/web --name web`,
		ArgsUsage: "NAME|PATH|DIR",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "register under this name instead of the program's (a project's name)"},
			&cli.StringFlag{Name: "dependencies", Usage: "comma-separated default dependencies, replacing the program's"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "NAME|PATH|DIR")
			if err != nil {
				return err
			}
			opts := &registerStackOptions{App: e.lazyApp(c), Source: as[0], Name: c.String("name"), Dependencies: listFlag(c, "dependencies")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.registerStackRun(c.Context, opts)
		},
	}
}

// registerStackRun registers a stack and says which version it is.
func (e *env) registerStackRun(ctx context.Context, opts *registerStackOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	deps := []string{}
	if opts.Dependencies != nil {
		deps = *opts.Dependencies
	}
	st, err := a.RegisterStack(ctx, opts.Source, opts.Name, deps, opts.Dependencies != nil)
	if err != nil {
		return err
	}
	e.status("registered stack %s (version %d) from %s", st.Name, st.Version, st.Source)
	return e.emitResult(func() (any, error) { return client.NewLocal(a).Documents().Stack(ctx, st.Name) })
}

// listFlag is a comma-separated flag's list when the flag is given (an
// empty value is no items), nil when it is not.
func listFlag(c *cli.Context, name string) *[]string {
	if !c.IsSet(name) {
		return nil
	}
	l := splitList(c.String(name))
	return &l
}

// updateStackOptions are what `cloud update-stack` runs with: a nil field
// is left as it is.
type updateStackOptions struct {
	App          func() (*app.App, error)
	Name         string
	Description  *string
	Dependencies *[]string
	Priority     *int
}

func updateStackCommand(e *env, runF func(context.Context, *updateStackOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "update-stack",
		Usage: "change a registered stack's description, default dependencies or priority",
		Description: `Changes what the registry adds to a stack's template; every change is a
new version in the stack's history. An empty --dependencies means none.

Examples:
   cloud update-stack database --dependencies network,security
   cloud update-stack app --description "public web service" --priority 10`,
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "description", Usage: "new description"},
			&cli.StringFlag{Name: "dependencies", Usage: "comma-separated default dependencies"},
			&cli.IntFlag{Name: "priority", Usage: "priority among stacks that could run at the same time"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "NAME")
			if err != nil {
				return err
			}
			opts := &updateStackOptions{App: e.lazyApp(c), Name: as[0], Dependencies: listFlag(c, "dependencies")}
			if c.IsSet("description") {
				d := c.String("description")
				opts.Description = &d
			}
			if c.IsSet("priority") {
				p := c.Int("priority")
				opts.Priority = &p
			}
			if opts.Description == nil && opts.Dependencies == nil && opts.Priority == nil {
				return usageError("update-stack: give --description, --dependencies or --priority")
			}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.updateStackRun(c.Context, opts)
		},
	}
}

// updateStackRun changes a registered stack.
func (e *env) updateStackRun(ctx context.Context, opts *updateStackOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	if err := a.UpdateStack(ctx, opts.Name, opts.Description, opts.Dependencies, opts.Priority); err != nil {
		return err
	}
	e.status("updated stack %s", opts.Name)
	return e.emitResult(func() (any, error) { return client.NewLocal(a).Documents().Stack(ctx, opts.Name) })
}

// unregisterStackOptions are what `cloud unregister-stack` runs with.
type unregisterStackOptions struct {
	App  func() (*app.App, error)
	Name string
	// Force unregisters even while deployments use the program.
	Force bool
}

func unregisterStackCommand(e *env, runF func(context.Context, *unregisterStackOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "unregister-stack",
		Usage: "remove a stack's registration (its history stays)",
		Description: `Removes a stack from the registry. It is refused while a deployment's
current manifest has a stack running this program, unless --force. Asks for
confirmation unless --yes.

Examples:
   cloud unregister-stack cache
   cloud unregister-stack cache --force --yes`,
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "unregister even while deployments use the program"},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "NAME")
			if err != nil {
				return err
			}
			opts := &unregisterStackOptions{App: e.lazyApp(c), Name: as[0], Force: c.Bool("force")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.unregisterStackRun(c.Context, opts)
		},
	}
}

// unregisterStackRun removes a stack's registration, once confirmed:
// asking comes before the store is opened, so a "no" touches nothing.
func (e *env) unregisterStackRun(ctx context.Context, opts *unregisterStackOptions) error {
	if err := e.confirm(fmt.Sprintf("Unregister stack %s?", opts.Name)); err != nil {
		return err
	}
	a, err := opts.App()
	if err != nil {
		return err
	}
	if err := a.UnregisterStack(ctx, opts.Name, opts.Force); err != nil {
		return err
	}
	e.status("unregistered stack %s", opts.Name)
	return nil
}

// listStacksOptions are what `cloud list-stacks` runs with.
type listStacksOptions struct {
	App func() (*app.App, error)
}

func listStacksCommand(e *env, runF func(context.Context, *listStacksOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "list-stacks",
		Usage: "list the registered stacks",
		Description: `Lists the registered stacks with their version, default dependencies,
declared inputs and outputs, and where the program is. JSON and YAML carry
the whole template.

Examples:
   cloud list-stacks
   cloud list-stacks -o json`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return usageError("list-stacks takes no arguments")
			}
			opts := &listStacksOptions{App: e.lazyApp(c)}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.listStacksRun(c.Context, opts)
		},
	}
}

// listStacksRun prints the registered stacks.
func (e *env) listStacksRun(ctx context.Context, opts *listStacksOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	stacks, err := client.NewLocal(a).Documents().Stacks(ctx, nil, nil)
	if err != nil {
		return err
	}
	return e.emit(stacks, func(w io.Writer) {
		row(w, "NAME", "VERSION", "DEPENDENCIES", "INPUTS", "OUTPUTS", "SOURCE")
		for _, s := range stacks.Items {
			var ins, outs []string
			for _, in := range s.Inputs {
				ins = append(ins, in.Name)
			}
			for _, out := range s.Outputs {
				outs = append(outs, out.Name)
			}
			row(w, s.Name, fmt.Sprint(s.Version), joinOrDash(s.Dependencies), joinOrDash(ins), joinOrDash(outs), s.Source)
		}
		if len(stacks.Items) == 0 {
			fmt.Fprintln(w, "(no stacks registered: cloud register-stack NAME)")
		}
	})
}

// validateStackOptions are what `cloud validate-stack` runs with: one
// stack's Name, or All.
type validateStackOptions struct {
	App  func() (*app.App, error)
	Name string
	All  bool
	// Strict makes warnings errors.
	Strict bool
}

func validateStackCommand(e *env, runF func(context.Context, *validateStackOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "validate-stack",
		Usage: "check that a stack program reads its declared inputs and exports its declared outputs",
		Description: `Runs the program of a registered stack (or of every one, --all) under
Pulumi's mocks, with sample inputs, and compares what it read and exported
with its template. Errors: an input read but not declared, a declared output
not exported, the program failing. Warnings: a declared input never read, an
output exported but not declared, a type or secret flag differing from the
declaration. --strict makes warnings errors. Exits 1 when a stack has errors.

Examples:
   cloud validate-stack database
   cloud validate-stack --all --strict`,
		ArgsUsage: "NAME | --all",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "validate every registered stack"},
			&cli.BoolFlag{Name: "strict", Usage: "treat warnings as errors"},
		},
		Action: func(c *cli.Context) error {
			all := c.Bool("all")
			if all == (c.NArg() == 1) || c.NArg() > 1 {
				return usageError("validate-stack: want NAME or --all")
			}
			opts := &validateStackOptions{App: e.lazyApp(c), Name: c.Args().First(), All: all, Strict: c.Bool("strict")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.validateStackRun(c.Context, opts)
		},
	}
}

// validateStackRun validates one stack or all and fails when one has
// errors.
func (e *env) validateStackRun(ctx context.Context, opts *validateStackOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	// The documents REST serves: one stack's, or the list of every one.
	docs := client.NewLocal(a).Documents()
	var vs []*model.StackValidation
	var doc any
	if opts.All {
		page, err := docs.ValidateStacks(ctx, opts.Strict)
		if err != nil {
			return err
		}
		vs, doc = page.Items, page
	} else {
		v, err := docs.Resolver().Query().ValidateStack(ctx, opts.Name, &opts.Strict)
		if err != nil {
			return err
		}
		vs, doc = []*model.StackValidation{v}, v
	}
	failed := false
	for _, v := range vs {
		failed = failed || !v.Ok
	}
	if err := e.emit(doc, func(w io.Writer) { e.printStackValidations(w, vs) }); err != nil {
		return err
	}
	if failed {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// printStackValidations prints each stack's findings, errors first, and a
// line for a stack with none, so every stack asked about is accounted for.
func (e *env) printStackValidations(w io.Writer, vs []*model.StackValidation) {
	for _, v := range vs {
		switch {
		case len(v.Errors) == 0 && len(v.Warnings) == 0:
			fmt.Fprintf(w, "%s\t%s\n", v.Stack, e.paint("green", "ok"))
		case len(v.Errors) == 0:
			fmt.Fprintf(w, "%s\t%s\n", v.Stack, e.paint("yellow", fmt.Sprintf("ok, %d warning(s)", len(v.Warnings))))
		default:
			fmt.Fprintf(w, "%s\t%s\n", v.Stack, e.paint("red", fmt.Sprintf("%d error(s), %d warning(s)", len(v.Errors), len(v.Warnings))))
		}
		for _, f := range v.Errors {
			fmt.Fprintf(w, "  %s\t%s\n", e.paint("red", "error"), f.Message)
		}
		for _, f := range v.Warnings {
			fmt.Fprintf(w, "  %s\t%s\n", e.paint("yellow", "warning"), f.Message)
		}
	}
	if len(vs) == 0 {
		fmt.Fprintln(w, "(no stacks registered)")
	}
}

// splitList reads a comma-separated flag value; an empty value is an empty
// list (meaning "none", not "unset").
func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func joinOrDash(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	return strings.Join(items, ",")
}
