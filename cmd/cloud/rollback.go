package main

// cloud rollback: flags into options, --list, and the run through the client seam (operateRun).

import (
	"context"
	"io"

	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

// rollbackOptions are what cloud rollback runs with: the operation's, or
// List to show the candidates instead.
type rollbackOptions struct {
	operateOptions
	List bool
}

func rollbackCommand(e *env, runF func(context.Context, *rollbackOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "redeploy what an earlier successful operation deployed (--list shows the candidates)",
		ArgsUsage: "ID",
		Description: `The manifest revision the earlier operation ran becomes current again (as a new
revision), stacks deployed now that it did not have are destroyed (after
confirmation; with --server, --yes is the confirmation), and the deployment
runs as an operation of kind rollback.

Examples:
   cloud rollback D1BRV40 -e prod --list
   cloud rollback D1BRV40 -e prod --to op-01a2146547e0-781f0d`,
		Flags: append(runFlags(),
			&cli.BoolFlag{Name: "list", Usage: "list the operations you can roll back to"},
			&cli.StringFlag{Name: "to", Usage: "the operation to roll back to"},
			requireLockFlag(),
		),
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			req, err := operateRequest(c, vocab.KindRollback, as[0])
			if err != nil {
				return err
			}
			opts := &rollbackOptions{operateOptions: operateOptions{Client: e.lazyClient(c), Request: req}, List: c.Bool("list")}
			opts.Request.To, opts.Request.DestroyAdded = c.String("to"), e.yes
			switch {
			case opts.List && opts.Request.To != "":
				return usageError("rollback: --list and --to do not go together")
			case !opts.List && opts.Request.To == "":
				return usageError("rollback: give --to OPERATION (or --list to see the candidates)")
			}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.rollbackRun(c.Context, opts)
		},
	}
}

// rollbackRun lists the candidates, or runs the rollback.
func (e *env) rollbackRun(ctx context.Context, opts *rollbackOptions) error {
	if !opts.List {
		return e.operateRun(ctx, &opts.operateOptions)
	}
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	ops, err := cl.RollbackCandidates(ctx, opts.Request.DeploymentID, opts.Request.Environment)
	if err != nil {
		return err
	}
	return e.emit(ops, func(w io.Writer) {
		row(w, "OPERATION", "KIND", "REVISION", "FINISHED", "BY", "SUMMARY")
		for _, op := range ops.Items {
			finished := "-"
			if op.FinishedAt != nil {
				finished = human.DateTime(*op.FinishedAt)
			}
			row(w, op.ID, op.Kind, op.Revision, finished, op.Actor, summaryText(op.Summary))
		}
	})
}
