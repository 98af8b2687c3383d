package main

import (
	"github.com/urfave/cli/v2"
)

func cancelCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "cancel",
		Usage: "cancel a running operation (its stacks are stopped through the Pulumi engine)",
		Description: `Cancels a running operation, also one started by another cloud process on
this machine: running stacks are stopped through the Pulumi engine and
release their locks; stacks not started are cancelled.

Examples:
   cloud cancel op-01a2146547e0-781f0d`,
		ArgsUsage: "OPERATION_ID",
		Action: func(c *cli.Context) error {
			if srv := e.server(c); srv != "" {
				as, err := args(c, "OPERATION_ID")
				if err != nil {
					return err
				}
				return e.remoteCancel(c, srv, as[0])
			}
			a, as, err := e.start(c, "OPERATION_ID")
			if err != nil {
				return err
			}
			op, err := a.Cancel(c.Context, as[0])
			if err != nil {
				return err
			}
			e.status("asked process %d to cancel %s; follow it with: cloud logs %s --operation %s --follow", op.PID, op.ID, op.DeploymentID, op.ID)
			return nil
		},
	}
}
