package main

// The operation commands (deploy, deploy-stack, preview, refresh, destroy, destroy-stack): flags into a client.Request, live progress, the report.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

func envFlag() cli.Flag {
	return &cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment", Value: "dev"}
}

func runFlags() []cli.Flag {
	return []cli.Flag{
		envFlag(),
		&cli.IntFlag{Name: "parallel", Aliases: []string{"p"}, Usage: "most stacks running at once", Value: 4},
		&cli.BoolFlag{Name: "fail-fast", Usage: "start no new stack after a failure"},
	}
}

// operateOptions are what an operation command (deploy, deploy-stack,
// preview, refresh, destroy, destroy-stack, rollback) runs with.
type operateOptions struct {
	Client  func() (client.Client, error)
	Request client.Request
	// ManifestFile is stored as a new revision first (deploy --file).
	ManifestFile string
	// Confirm asks first (destroy, destroy-stack), saying what goes.
	Confirm bool
}

// operateRequest reads the flags every operation command has into a
// request of kind for deployment id.
func operateRequest(c *cli.Context, kind vocab.Kind, id string) (client.Request, error) {
	r := client.Request{DeploymentID: id, Environment: c.String("env"), Kind: kind,
		FailFast: c.Bool("fail-fast"), Command: c.Command.Name, Flags: setFlags(c)}
	if c.IsSet("parallel") {
		r.Parallel = c.Int("parallel")
		if r.Parallel < 1 || r.Parallel > app.MaxParallel {
			return r, usageError("--parallel must be between 1 and %d, not %d", app.MaxParallel, r.Parallel)
		}
	}
	if hasFlag(c.Command.Flags, "require-lock") {
		r.RequireLock = c.Bool("require-lock")
	}
	return r, nil
}

// operateAction is the Action of an operation command: its arguments
// into options (through build, which adds what the command has of its
// own), then runF or the run.
func (e *env) operateAction(kind vocab.Kind, names []string, runF func(context.Context, *operateOptions) error,
	build func(c *cli.Context, as []string, o *operateOptions) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		as, err := args(c, names...)
		if err != nil {
			return err
		}
		req, err := operateRequest(c, kind, as[0])
		if err != nil {
			return err
		}
		opts := &operateOptions{Client: e.lazyClient(c), Request: req}
		if build != nil {
			if err := build(c, as, opts); err != nil {
				return err
			}
		}
		if runF != nil {
			return runF(c.Context, opts)
		}
		return e.operateRun(c.Context, opts)
	}
}

func deployCommand(e *env, runF func(context.Context, *operateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "deploy",
		Usage:     "deploy every enabled stack of a deployment to an environment",
		ArgsUsage: "ID",
		Description: `Runs the stacks in dependency order: each starts as soon as its dependencies
succeeded, up to --parallel at once. A stack whose resolved config, program and
upstream outputs are unchanged since its last deploy is skipped (--force runs it).
Dependents of a failed stack are skipped; independent stacks go on.

The report's CHANGES counts what the engine did to every resource, Pulumi's own
stack resource among them (as pulumi up counts); RESOURCES counts the stack's
resources after the run, without it: a first deploy of 5 resources is +6, 5.

Examples:
   cloud deploy D1BRV40 -e dev
   cloud deploy D1BRV40 -e dev --resume
   cloud deploy D1BRV40 -e prod -f deployment-manifest.yaml --parallel 8`,
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "preview", Usage: "preview only: show what would change"},
			&cli.BoolFlag{Name: "force", Usage: "deploy stacks even when unchanged"},
			&cli.BoolFlag{Name: "resume", Usage: "re-run what failed, was skipped or interrupted in the last deploy, then continue downstream"},
			&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: "apply this manifest as a new revision first"},
			&cli.BoolFlag{Name: "skip-validation", Usage: "do not check the config against the stack templates first"},
			requireLockFlag(),
		),
		Action: e.operateAction(vocab.KindDeploy, []string{"ID"}, runF, func(c *cli.Context, _ []string, o *operateOptions) error {
			if c.Bool("preview") {
				o.Request.Kind = vocab.KindPreview
			}
			o.Request.Force, o.Request.Resume, o.Request.SkipValidation = c.Bool("force"), c.Bool("resume"), c.Bool("skip-validation")
			o.ManifestFile = c.String("file")
			return nil
		}),
	}
}

func deployStackCommand(e *env, runF func(context.Context, *operateOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "deploy-stack",
		Usage: "deploy one stack (its dependencies must be deployed)",
		Description: `Deploys one stack. Its dependencies must already be deployed in that
environment, unless --with-dependencies deploys them first. --cascade then
redeploys, in graph order, the stacks downstream whose resolved inputs
changed because of new upstream outputs; the others are unchanged.

Examples:
   cloud deploy-stack D1BRV40 app -e dev
   cloud deploy-stack D1BRV40 network -e dev --cascade
   cloud deploy-stack D1BRV40 app -e dev --with-dependencies`,
		ArgsUsage: "ID STACK",
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "with-dependencies", Usage: "deploy its dependencies first"},
			&cli.BoolFlag{Name: "cascade", Usage: "then redeploy the dependents whose resolved inputs changed"},
			&cli.BoolFlag{Name: "force", Usage: "deploy even when unchanged"},
		),
		Action: e.operateAction(vocab.KindDeploy, []string{"ID", "STACK"}, runF, func(c *cli.Context, as []string, o *operateOptions) error {
			o.Request.Stack = as[1]
			o.Request.WithDependencies, o.Request.Cascade, o.Request.Force = c.Bool("with-dependencies"), c.Bool("cascade"), c.Bool("force")
			return nil
		}),
	}
}

func previewCommand(e *env, runF func(context.Context, *operateOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "preview",
		Usage: "run the Pulumi preview of every stack, with mock outputs for stacks not deployed",
		Description: `Runs the real Pulumi preview of every stack in graph order and shows the
planned resource changes per stack. Outputs of stacks not deployed yet are
mock outputs: typed stand-ins derived from the upstream program's declared
outputs, named in each stack's note. Changes nothing.

Examples:
   cloud preview D1BRV40 -e stage`,
		ArgsUsage: "ID",
		Flags:     runFlags(),
		Action:    e.operateAction(vocab.KindPreview, []string{"ID"}, runF, nil),
	}
}

func refreshCommand(e *env, runF func(context.Context, *operateOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "refresh",
		Usage:     "find drift: compare each deployed stack with its real resources",
		ArgsUsage: "ID",
		Description: `Runs a Pulumi refresh preview of every deployed stack (or of --stack) and
reports which stacks drifted and how: the resources changed or deleted
outside cloud. Nothing is changed; the drift is recorded on the stack, and the
next deploy refreshes that stack first and puts its resources back.

Examples:
   cloud refresh D1BRV40 -e prod
   cloud refresh D1BRV40 -e prod --stack site`,
		Flags: append(runFlags(),
			&cli.StringSliceFlag{Name: "stack", Usage: "only these stacks (repeatable)"}),
		Action: e.operateAction(vocab.KindRefresh, []string{"ID"}, runF, func(c *cli.Context, _ []string, o *operateOptions) error {
			o.Request.Stacks = c.StringSlice("stack")
			return nil
		}),
	}
}

func destroyCommand(e *env, runF func(context.Context, *operateOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "destroy",
		Usage: "destroy every stack of a deployment in an environment, dependents first",
		Description: `Destroys every stack of a deployment in one environment, dependents first.
Stacks never deployed there are skipped. Asks for confirmation, saying how
many stacks and resources go, unless --yes.

Examples:
   cloud destroy D1BRV40 -e dev --yes`,
		ArgsUsage: "ID",
		Flags:     append(runFlags(), requireLockFlag()),
		Action: e.operateAction(vocab.KindDestroy, []string{"ID"}, runF, func(c *cli.Context, _ []string, o *operateOptions) error {
			o.Confirm = true
			return nil
		}),
	}
}

func destroyStackCommand(e *env, runF func(context.Context, *operateOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "destroy-stack",
		Usage: "destroy one stack (refused while deployed stacks depend on it)",
		Description: `Destroys one stack. Refused while deployed stacks depend on it, unless
--force. Asks for confirmation unless --yes.

Examples:
   cloud destroy-stack D1BRV40 monitoring -e dev --yes
   cloud destroy-stack D1BRV40 storage -e dev --force --yes`,
		ArgsUsage: "ID STACK",
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "force", Usage: "destroy even when deployed stacks depend on it"}),
		Action: e.operateAction(vocab.KindDestroy, []string{"ID", "STACK"}, runF, func(c *cli.Context, as []string, o *operateOptions) error {
			o.Request.Stack, o.Request.Force, o.Confirm = as[1], c.Bool("force"), true
			return nil
		}),
	}
}

// operateRun runs an operation through the client with live progress,
// then prints its report. When there is a report it has said what failed:
// the exit code is 1 without repeating the error.
func (e *env) operateRun(ctx context.Context, opts *operateOptions) error {
	r := opts.Request
	if opts.ManifestFile != "" {
		data, err := app.ReadManifestFile(opts.ManifestFile)
		if err != nil {
			return err
		}
		r.Manifest = &client.Manifest{Path: opts.ManifestFile, Data: data}
	}
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	if opts.Confirm {
		q, err := destroyQuestion(ctx, cl, r)
		if err != nil {
			return err
		}
		if err := e.confirm(q); err != nil {
			return err
		}
	}
	hint := "Ctrl-C cancels"
	if cl.Detached() {
		hint = "on " + cl.Where() + "; Ctrl-C stops following, not the operation"
	}
	p := newProgress(e, hint)
	op, err := cl.Operate(ctx, r, client.Watch{
		Applied: func(ch client.ManifestChange) {
			if ch.Changed {
				e.status("applied %s as revision %d", opts.ManifestFile, ch.Revision)
			} else {
				e.status("%s is revision %d already", opts.ManifestFile, ch.Revision)
			}
		},
		Started: func(op *model.Operation) {
			e.status("%s %s started on %s (%s of %s)", op.Kind, op.ID, cl.Where(), op.Environment, op.DeploymentID)
		},
		Event: p.apply,
		// Not quiet-able: running without the team lock is a risk the
		// user must see.
		Warn: func(msg string) { fmt.Fprintf(e.io.Err, "warning: %s\n", msg) },
		Confirm: func(stacks []string) bool {
			return e.confirm(fmt.Sprintf("Rolling back destroys %s, which the earlier revision does not have. Go on?", strings.Join(stacks, ", "))) == nil
		},
		Connection: e.connectionStatus(cl, ""),
	})
	p.stop()
	var sf *client.StoppedFollowing
	switch {
	case errors.As(err, &sf):
		return &exitError{code: 1, err: fmt.Errorf("%w (cancel it with: cloud --server %s cancel %s)", err, sf.Where, sf.Operation.ID)}
	case op == nil && err != nil && !e.yes && r.Kind == vocab.KindRollback && strings.Contains(err.Error(), "would destroy"):
		return usageError("%v\nrun it again with --yes to destroy them", err)
	case op == nil:
		return err
	}
	if perr := e.printReport(op, p.order(op.ID)); perr != nil {
		return perr
	}
	if err != nil {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// destroyQuestion asks before a destroy, saying what it destroys: how
// many stacks hold how many resources in that environment now.
func destroyQuestion(ctx context.Context, cl client.Client, r client.Request) (string, error) {
	d, err := cl.Deployment(ctx, r.DeploymentID, r.Environment)
	if err != nil {
		return "", err
	}
	stacks, resources := 0, 0
	for _, env := range d.Environments {
		for _, s := range env.Stacks {
			if r.Stack != "" && s.Name != r.Stack {
				continue
			}
			if s.ResourceCount > 0 {
				stacks++
				resources += s.ResourceCount
			}
		}
	}
	if r.Stack != "" {
		return fmt.Sprintf("Destroy stack %s of %s in %s (%s)?", r.Stack, r.DeploymentID, r.Environment,
			human.Plural(resources, "resource")), nil
	}
	return fmt.Sprintf("Destroy every stack of %s in %s (%s holding %s)?", r.DeploymentID, r.Environment,
		human.Plural(stacks, "deployed stack"), human.Plural(resources, "resource")), nil
}

// confirm asks before a destructive command unless --yes; with no terminal
// to ask on, it refuses rather than guess.
func (e *env) confirm(question string) error {
	if e.yes {
		return nil
	}
	if !e.io.TTY {
		return usageError("%s Refusing without --yes (no terminal to ask on)", question)
	}
	fmt.Fprintf(e.io.Err, "%s [y/N] ", question)
	line, _ := bufio.NewReader(e.io.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return usageError("cancelled")
}

// setFlags are the flags the user set on command c, by their names (not
// aliases) with their values, as the operation records them: the global
// flags (the home, the output format) are not the operation's.
func setFlags(c *cli.Context) map[string]any {
	flags := map[string]any{}
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if !c.IsSet(name) {
			continue
		}
		switch f.(type) {
		case *cli.StringSliceFlag:
			flags[name] = c.StringSlice(name)
		default:
			flags[name] = c.Value(name)
		}
	}
	return flags
}
