package main

// cloud logs: reading and following an operation's events through the client, one line each.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/stacks/protocol"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

// logsOptions are what `cloud logs` runs with.
type logsOptions struct {
	Client func() (client.Client, error)
	ID     string
	// Env is the environment whose latest operation is shown ("" any).
	Env string
	// Operation is the operation shown; "" is the latest one.
	Operation string
	// Stack keeps only this stack's events ("" all).
	Stack string
	// Tail keeps only the last Tail events (0 all).
	Tail   int
	Follow bool
}

func logsCommand(e *env, runF func(context.Context, *logsOptions) error) *cli.Command {
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
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			if c.Int("tail") < 0 {
				return usageError("--tail must be 0 (all) or more, got %d", c.Int("tail"))
			}
			opts := &logsOptions{Client: e.lazyClient(c), ID: as[0], Env: c.String("env"), Operation: c.String("operation"),
				Stack: c.String("stack"), Tail: c.Int("tail"), Follow: c.Bool("follow")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.logsRun(c.Context, opts)
		},
	}
}

// logsRun prints the events of the operation opts names.
func (e *env) logsRun(ctx context.Context, opts *logsOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	// The deployment is read only to check what the user named.
	if opts.Stack != "" || opts.Env != "" && opts.Operation == "" {
		d, err := cl.Deployment(ctx, opts.ID, opts.Env)
		if err != nil {
			return err
		}
		if opts.Stack != "" {
			if err := document.HasStack(d, opts.Stack); err != nil {
				return err
			}
		}
	}
	var op *model.Operation
	if id := opts.Operation; id != "" {
		if op, err = cl.Operation(ctx, id); err != nil {
			return err
		}
		if op.DeploymentID != opts.ID {
			return usageError("operation %s belongs to deployment %s, not %s", id, op.DeploymentID, opts.ID)
		}
	} else if op, err = client.Latest(ctx, cl, opts.ID, opts.Env); err != nil {
		return err
	}
	return e.followLogs(ctx, cl, op, opts.Stack, opts.Tail, opts.Follow)
}

// followLogs prints the events of op (of one stack when stack is not ""),
// the last tail of them when tail > 0, and with follow the new ones until
// the operation ends. -o json prints each event's document on a line of
// its own (JSON Lines), as monitor -o json does.
func (e *env) followLogs(ctx context.Context, cl client.Client, op *model.Operation, stack string, tail int, follow bool) error {
	var stacks []string
	if stack != "" {
		stacks = []string{stack}
	}
	after := 0
	var backlog []*model.Event
	if tail > 0 {
		for {
			p, err := cl.Events(ctx, op.ID, after, 0, stacks...)
			if err != nil {
				return err
			}
			backlog = append(backlog, p.Items...)
			if len(backlog) > tail {
				backlog = append([]*model.Event(nil), backlog[len(backlog)-tail:]...)
			}
			after = p.LastSeq
			if p.NextCursor == nil {
				break
			}
		}
	}
	enc := json.NewEncoder(e.io.Out)
	for {
		p, err := cl.Events(ctx, op.ID, after, 0, stacks...)
		if err != nil {
			return err
		}
		evs := p.Items
		if backlog != nil {
			evs, backlog = append(backlog, evs...), nil
		}
		after = max(after, p.LastSeq)
		for _, ev := range evs {
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
		if p.NextCursor != nil {
			continue
		}
		if !follow {
			return nil
		}
		cur, err := cl.Operation(ctx, op.ID)
		if err != nil {
			return err
		}
		if cur.Status != vocab.OpRunning && cur.Status != vocab.OpQueued {
			// Events written between the last page and the end.
			if more, err := cl.Events(ctx, op.ID, after, 1, stacks...); err == nil && len(more.Items) > 0 {
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
func (e *env) eventLine(ev *model.Event) string {
	at := human.Clock(ev.Time)
	who := ev.Stack
	if who == "" {
		who = "operation"
	}
	prefix := fmt.Sprintf("%s %5d %-14s", at, ev.Seq, who)
	switch vocab.EventType(ev.Kind) {
	case vocab.EventOperation, vocab.EventStack:
		var s struct {
			Status, Reason, Error string
			Changes               map[string]int
		}
		_ = monitor.Decode(ev, &s)
		line := prefix + " " + e.paint(statusColor(s.Status), s.Status)
		if s.Reason != "" {
			line += " (" + s.Reason + ")"
		}
		if len(s.Changes) > 0 {
			line += " " + human.Changes(s.Changes)
		}
		if s.Error != "" {
			line += ": " + s.Error
		}
		return line
	case vocab.EventPlan:
		// The stacks by layer, as deploy's first line shows them.
		st := monitor.New()
		st.Apply(ev)
		var p struct{ Revision int }
		_ = monitor.Decode(ev, &p)
		return fmt.Sprintf("%s plan %s of revision %d: %s %s", prefix, st.Kind, p.Revision,
			human.Plural(len(st.Stacks), "stack"), st.LayerList())
	case vocab.EventEngine:
		var pe protocol.Event
		if monitor.Decode(ev, &pe) != nil {
			return prefix + " " + payloadText(ev)
		}
		switch pe.Type {
		case protocol.EventResourcePre:
			return fmt.Sprintf("%s %s %s %s%s", prefix, pe.Op, pe.Resource, pe.Name, human.Diff(pe.Diffs))
		case protocol.EventResourceDone:
			return fmt.Sprintf("%s %s %s %s done (%dms)", prefix, pe.Op, pe.Resource, pe.Name, pe.Millis)
		case protocol.EventResourceFailed:
			return fmt.Sprintf("%s %s %s %s failed", prefix, pe.Op, pe.Resource, pe.Name)
		case protocol.EventDiagnostic:
			return fmt.Sprintf("%s [%s] %s", prefix, pe.Severity, pe.Message)
		case protocol.EventSummary:
			return fmt.Sprintf("%s summary %s", prefix, human.Changes(pe.Changes))
		}
		return ""
	case vocab.EventLog:
		var l protocol.Log
		_ = monitor.Decode(ev, &l)
		return fmt.Sprintf("%s [%s] %s", prefix, l.Level, l.Text)
	}
	return prefix + " " + ev.Kind + " " + payloadText(ev)
}

// payloadText is an event's payload as JSON text.
func payloadText(ev *model.Event) string {
	var v any
	if monitor.Decode(ev, &v) != nil {
		return fmt.Sprint(ev.Payload)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
