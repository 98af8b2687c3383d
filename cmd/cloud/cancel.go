package main

// cloud cancel: options, flag wiring and the message; the cancel is the client's.

import (
	"context"

	"github.com/cloudplatform/cloud/client"
	"github.com/urfave/cli/v2"
)

// cancelOptions are what `cloud cancel` runs with.
type cancelOptions struct {
	Client      func() (client.Client, error)
	OperationID string
	// Follow is the command that follows the operation, for the message:
	// "cloud logs" with the --server the cancel was sent to.
	Follow string
}

func cancelCommand(e *env, runF func(context.Context, *cancelOptions) error) *cli.Command {
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
			opts := &cancelOptions{Client: e.lazyClient(c), OperationID: as[0], Follow: "cloud " + e.serverArg(c) + "logs"}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.cancelRun(c.Context, opts)
		},
	}
}

// cancelRun asks an operation to stop and says how to follow it.
func (e *env) cancelRun(ctx context.Context, opts *cancelOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := cl.Cancel(ctx, opts.OperationID)
	if err != nil {
		return err
	}
	if e.output != "table" {
		return e.emit(op, nil)
	}
	e.status("%s is being cancelled (%s); follow it with: %s %s --operation %s --follow", op.ID, cl.Where(), opts.Follow, op.DeploymentID, op.ID)
	return nil
}
