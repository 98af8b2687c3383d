package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/store"
	"github.com/urfave/cli/v2"
)

func logsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "show the events of an operation (the latest one by default)",
		Description: `Prints the events of an operation, by default the latest one: status
changes, resource operations with their timings, diagnostics and log lines.
--follow keeps printing until the operation ends, even when another cloud
process runs it.

Examples:
   cloud logs D1BRV40 -e dev --stack app --tail 20
   cloud logs D1BRV40 --operation op-01a2146547e0-781f0d --follow
   cloud logs D1BRV40 -o json`,
		ArgsUsage: "ID",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "latest operation of this environment"},
			&cli.StringFlag{Name: "operation", Usage: "operation ID"},
			&cli.StringFlag{Name: "stack", Usage: "only events of this stack"},
			&cli.IntFlag{Name: "tail", Aliases: []string{"n"}, Usage: "only the last N events"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new events until the operation ends"},
		},
		Action: func(c *cli.Context) error {
			a, as, err := e.start(c, "ID")
			if err != nil {
				return err
			}
			if c.Int("tail") < 0 {
				return usageError("--tail must be 0 (all) or more, got %d", c.Int("tail"))
			}
			if stack := c.String("stack"); stack != "" {
				if err := a.CheckStack(c.Context, as[0], stack); err != nil {
					return err
				}
			}
			var op *store.Operation
			if id := c.String("operation"); id != "" {
				if op, _, err = a.Operation(c.Context, id); err != nil {
					return err
				}
				if op.DeploymentID != as[0] {
					return usageError("operation %s belongs to deployment %s, not %s", id, op.DeploymentID, as[0])
				}
			} else if op, err = a.LatestOperation(c.Context, as[0], c.String("env")); err != nil {
				return err
			}
			return e.followLogs(c.Context, a, op, c.String("stack"), c.Int("tail"), c.Bool("follow"))
		},
	}
}

// followLogs prints the operation's events; with follow it polls the store
// (the operation may run in another process) until the operation ends.
func (e *env) followLogs(ctx context.Context, a *app.App, op *store.Operation, stack string, tail int, follow bool) error {
	var after int64
	var backlog []store.Event
	if tail > 0 {
		// The last N events of the stack asked for: scan once, keep N.
		for {
			evs, err := a.Events(ctx, op.ID, after, 1000)
			if err != nil {
				return err
			}
			for _, ev := range evs {
				after = ev.Seq
				if stack == "" || ev.Stack == stack {
					backlog = append(backlog, ev)
				}
			}
			if len(backlog) > tail {
				backlog = append([]store.Event(nil), backlog[len(backlog)-tail:]...)
			}
			if len(evs) < 1000 {
				break
			}
		}
	}
	enc := json.NewEncoder(e.io.Out)
	for {
		evs, err := a.Events(ctx, op.ID, after, 1000)
		if err != nil {
			return err
		}
		if backlog != nil {
			evs, backlog = append(backlog, evs...), nil
		}
		for _, ev := range evs {
			after = max(after, ev.Seq)
			if stack != "" && ev.Stack != stack {
				continue
			}
			if e.output == "json" {
				if err := enc.Encode(ev); err != nil {
					return err
				}
				continue
			}
			if line := e.eventLine(ev); line != "" {
				fmt.Fprintln(e.io.Out, line)
			}
		}
		if len(evs) == 1000 {
			continue
		}
		if !follow {
			return nil
		}
		cur, _, err := a.Operation(ctx, op.ID)
		if err != nil {
			return err
		}
		if cur.Status != app.OpRunning && cur.Status != app.OpQueued {
			// One last read: events written between the two queries.
			if more, err := a.Events(ctx, op.ID, after, 1); err == nil && len(more) > 0 {
				continue
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// eventLine renders one event as a log line.
func (e *env) eventLine(ev store.Event) string {
	at := ev.Time.Local().Format("15:04:05.000")
	who := ev.Stack
	if who == "" {
		who = "operation"
	}
	prefix := fmt.Sprintf("%s %5d %-14s", at, ev.Seq, who)
	switch ev.Kind {
	case app.EventOperation, app.EventStack:
		var s struct {
			Status, Reason, Error string
			Changes               map[string]int
		}
		_ = json.Unmarshal(ev.Payload, &s)
		line := prefix + " " + e.paint(statusColor(s.Status), s.Status)
		if s.Reason != "" {
			line += " (" + s.Reason + ")"
		}
		if len(s.Changes) > 0 {
			line += " " + changes(s.Changes)
		}
		if s.Error != "" {
			line += ": " + s.Error
		}
		return line
	case app.EventEngine:
		var pe protocol.Event
		if json.Unmarshal(ev.Payload, &pe) != nil {
			return prefix + " " + string(ev.Payload)
		}
		switch pe.Type {
		case protocol.EventResourcePre:
			return fmt.Sprintf("%s %s %s %s", prefix, pe.Op, pe.Resource, pe.Name)
		case protocol.EventResourceDone:
			return fmt.Sprintf("%s %s %s %s done (%dms)", prefix, pe.Op, pe.Resource, pe.Name, pe.Millis)
		case protocol.EventResourceFailed:
			return fmt.Sprintf("%s %s %s %s failed", prefix, pe.Op, pe.Resource, pe.Name)
		case protocol.EventDiagnostic:
			return fmt.Sprintf("%s [%s] %s", prefix, pe.Severity, pe.Message)
		case protocol.EventSummary:
			return fmt.Sprintf("%s summary %s", prefix, changes(pe.Changes))
		}
		return ""
	case app.EventLog:
		var l protocol.Log
		_ = json.Unmarshal(ev.Payload, &l)
		return fmt.Sprintf("%s [%s] %s", prefix, l.Level, l.Text)
	}
	return prefix + " " + ev.Kind + " " + string(ev.Payload)
}
