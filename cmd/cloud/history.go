package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

func historyCommand(e *env) *cli.Command {
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
			if srv := e.server(c); srv != "" {
				as, err := args(c, "ID")
				if err != nil {
					return err
				}
				return e.remoteHistory(c, srv, as[0], c.String("env"), c.Int("limit"))
			}
			a, as, err := e.start(c, "ID")
			if err != nil {
				return err
			}
			ops, err := a.History(c.Context, as[0], c.String("env"), c.Int("limit"))
			if err != nil {
				return err
			}
			return e.emit(ops, func(w io.Writer) {
				row(w, "OPERATION", "KIND", "ENV", "STATUS", "STARTED", "DURATION", "REVISION", "BY", "SUMMARY")
				for _, op := range ops {
					d := "-"
					if op.FinishedAt != nil {
						d = duration(op.FinishedAt.Sub(op.StartedAt))
					}
					row(w, op.ID, op.Kind, op.Environment, e.cell(statusColor(op.Status), op.Status), ts(op.StartedAt), d,
						op.Revision, op.Actor, summaryText(op.Summary))
				}
			})
		},
	}
}

func summaryText(s map[string]any) string {
	if len(s) == 0 {
		return "-"
	}
	out := ""
	for _, k := range []string{"deployed", "unchanged", "previewed", "destroyed", "failed", "skipped", "cancelled", "interrupted"} {
		if v, ok := s[k]; ok {
			if out != "" {
				out += " "
			}
			out += fmt.Sprintf("%s:%v", k, v)
		}
	}
	return out
}
