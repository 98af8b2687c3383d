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
			as, err := args(c, "OPERATION_ID")
			if err != nil {
				return err
			}
			cl, err := e.client(c)
			if err != nil {
				return err
			}
			op, err := cl.Cancel(c.Context, as[0])
			if err != nil {
				return err
			}
			if e.output != "table" {
				return e.emit(op, nil)
			}
			e.status("%s is being cancelled (%s); follow it with: cloud %slogs %s --operation %s --follow", op.ID, cl.Where(), e.serverArg(c), op.DeploymentID, op.ID)
			return nil
		},
	}
}
