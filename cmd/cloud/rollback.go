package main

// cloud rollback: flags, the confirmation and --list; the rollback is the core's.

import (
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

func rollbackCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "redeploy what an earlier successful operation deployed (--list shows the candidates)",
		ArgsUsage: "ID",
		Description: `The manifest revision the earlier operation ran becomes current again (as a new
revision), stacks deployed now that it did not have are destroyed (after
confirmation), and the deployment runs as an operation of kind rollback.

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
			envName := c.String("env")
			if c.Bool("list") {
				cl, err := e.client(c)
				if err != nil {
					return err
				}
				ops, err := cl.RollbackCandidates(c.Context, as[0], envName)
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
			if srv := e.server(c); srv != "" {
				return e.remoteRollback(c, srv, as[0])
			}
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			to := c.String("to")
			if to == "" {
				return usageError("rollback: give --to OPERATION (or --list to see the candidates)")
			}
			req := app.RollbackRequest{DeploymentID: as[0], Environment: envName, To: to,
				Confirm: func(stacks []string) bool {
					return e.confirm(fmt.Sprintf("Rolling back destroys %v, which the earlier revision does not have. Go on?", stacks)) == nil
				}}
			req.Run = app.RunRequest{Command: c.Command.Name,
				RunOptions: app.RunOptions{Parallel: c.Int("parallel"), FailFast: c.Bool("fail-fast"), RequireLock: c.Bool("require-lock")}}
			return e.watch(c.Context, a, vocab.KindRollback, &req.Run, func() (*app.Report, error) { return a.Rollback(c.Context, req) })
		},
	}
}
