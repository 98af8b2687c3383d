package main

// cloud history: options, run function and the operations table.

import (
	"context"
	"encoding/json"
	"io"

	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/vocab"

	"github.com/urfave/cli/v2"
)

// historyOptions are what `cloud history` runs with.
type historyOptions struct {
	Client func() (client.Client, error)
	ID     string
	// Env keeps one environment's operations ("" keeps all).
	Env string
	// Limit is the most operations shown, 1 to client.MaxPage.
	Limit int
}

func historyCommand(e *env, runF func(context.Context, *historyOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "history",
		Usage: "list a deployment's operations, newest first",
		Description: `Lists a deployment's operations, newest first: ID, kind, environment,
status, start, duration, manifest revision, who, and the per-stack summary.

Examples:
   cloud history D1BRV40 -e dev
   cloud history D1BRV40 -n 5 -o json`,
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "only this environment"},
			&cli.IntFlag{Name: "limit", Aliases: []string{"n"}, Usage: "most operations shown", Value: 20},
		},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			if n := c.Int("limit"); n < 1 || n > client.MaxPage {
				return usageError("--limit must be between 1 and %d, got %d", client.MaxPage, n)
			}
			opts := &historyOptions{Client: e.lazyClient(c), ID: as[0], Env: c.String("env"), Limit: c.Int("limit")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.historyRun(c.Context, opts)
		},
	}
}

// historyRun prints a deployment's operations, newest first.
func (e *env) historyRun(ctx context.Context, opts *historyOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	ops, err := cl.Operations(ctx, opts.ID, opts.Env, opts.Limit)
	if err != nil {
		return err
	}
	return e.emit(ops, func(w io.Writer) { e.operationRows(w, ops.Items) })
}

// operationRows is the table of operations history prints.
func (e *env) operationRows(w io.Writer, ops []*model.Operation) {
	row(w, "OPERATION", "KIND", "ENV", "STATUS", "STARTED", "DURATION", "REVISION", "BY", "SUMMARY")
	for _, op := range ops {
		d := "-"
		if op.FinishedAt != nil {
			d = human.Duration(op.FinishedAt.Sub(op.StartedAt))
		}
		row(w, op.ID, op.Kind, op.Environment, e.cell(statusColor(string(op.Status)), string(op.Status)), human.DateTime(op.StartedAt), d,
			op.Revision, op.Actor, summaryText(op.Summary))
	}
}

// summaryText is an operation's summary (stack counts by status) as one
// cell: "deployed:3 failed:1".
func summaryText(summary any) string {
	return human.Counts(counts(summary), vocab.StackResults)
}

// counts reads a document's map of counts (an operation's summary, a
// stack's changes), whatever the JSON decoder made of it.
func counts(v any) map[string]int {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	m := map[string]int{}
	for k, v := range raw {
		var n int
		if json.Unmarshal(v, &n) == nil {
			m[k] = n
		}
	}
	return m
}
