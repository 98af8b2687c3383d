package main

// cloud outputs: options, run function and the outputs table.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/urfave/cli/v2"
)

// outputsOptions are what `cloud outputs` runs with.
type outputsOptions struct {
	Client func() (client.Client, error)
	ID     string
	Env    string
	// Stack shows one stack's outputs ("" every stack's).
	Stack       string
	ShowSecrets bool
}

func outputsCommand(e *env, runF func(context.Context, *outputsOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "outputs",
		Usage: "show the outputs of one stack or all stacks (secrets masked unless --show-secrets)",
		Description: `Shows the outputs of one stack, or of every stack, in an environment.
Secret values print as [secret] unless --show-secrets. A secret synced from
another machine is sealed with that machine's key and prints as
[secret, sealed on another machine].

Examples:
   cloud outputs D1BRV40 -e dev
   cloud outputs D1BRV40 database -e dev --show-secrets
   cloud outputs D1BRV40 network -e dev -o json`,
		ArgsUsage: "ID [STACK]",
		Flags: []cli.Flag{
			envFlag(),
			&cli.BoolFlag{Name: "show-secrets", Usage: "print secret values"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return usageError("outputs: want ID [STACK]")
			}
			opts := &outputsOptions{Client: e.lazyClient(c), ID: c.Args().Get(0), Env: c.String("env"),
				Stack: c.Args().Get(1), ShowSecrets: c.Bool("show-secrets")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.outputsRun(c.Context, opts)
		},
	}
}

// outputsRun prints the outputs of an environment's stacks.
func (e *env) outputsRun(ctx context.Context, opts *outputsOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	outs, err := cl.Outputs(ctx, opts.ID, opts.Env, opts.Stack, opts.ShowSecrets)
	if err != nil {
		return err
	}
	return e.emit(outs, func(w io.Writer) {
		row(w, "STACK", "OUTPUT", "VALUE")
		for _, o := range outs.Items {
			row(w, o.Stack, o.Name, outputText(o))
		}
		if len(outs.Items) == 0 {
			fmt.Fprintln(w, "(no outputs)")
		}
	})
}

// outputText is an output's value as a table shows it: strings bare,
// other values as JSON, secrets masked unless shown.
func outputText(o *model.Output) string {
	switch {
	case o.Sealed:
		return sealedText
	case o.Redacted:
		return "[secret]"
	}
	if s, ok := o.Value.(string); ok {
		return s
	}
	b, _ := json.Marshal(o.Value)
	return string(b)
}

// sealedText stands for a secret output synced from another machine, which
// this one cannot open.
const sealedText = "[secret, sealed on another machine]"
