package main

// cloud monitor: options, the run function, and the full-screen view or plain lines over the client's stream (monitor.State).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/human"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// monitorOptions are what `cloud monitor` runs with.
type monitorOptions struct {
	// Client is the server's (--server, with --give-up) or the local
	// store's.
	Client func() (client.Client, error)
	// ID is the deployment followed; "" lets one pick it (on a terminal).
	ID  string
	Env string
	// Operation is followed alone, and its result is the exit status.
	Operation string
	// Plain asks for one line per event even on a terminal.
	Plain bool
}

func monitorCommand(e *env, runF func(context.Context, *monitorOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "monitor",
		Usage: "follow a deployment's operations live (from a server or the local store)",
		Description: `Follows an operation as it runs: each stack's state by layer, elapsed
time, resource progress and diagnostics. With --server it subscribes to
"cloud serve" over graphql-transport-ws and reconnects by itself with
backoff, resuming after the last event it got; without, it watches the
local store through the same event stream.

With --operation it follows that operation and exits when it ends: 0 when
it succeeded, 1 when it failed, was cancelled or interrupted (a pipeline
gate). With only a DEPLOYMENT_ID it follows the latest operation of the
deployment (of ENV with -e) and then the ones that come after, until
interrupted.

On a terminal it shows a full-screen view: the stacks by layer with their
state, elapsed time and resource progress (+created ~updated -deleted), the
resource operations in flight, overall progress with an estimate of the
time left (from earlier runs), and a log pane. Keys: up/down or j/k select
a stack, enter shows its details and outputs (secrets masked), l toggles
the log pane, f cycles the log filter (all, the selected stack, warnings,
errors), pgup/pgdown scroll the log, q quits. Without a DEPLOYMENT_ID it
lets you pick a deployment first.

--plain (the default when the output is not a terminal) prints one line per
event, for CI logs and pipes; with -o json, each event whole as a JSON line.

Examples:
   cloud monitor D1BRV40 -e dev
   cloud monitor --plain --operation op-01a2146547e0-781f0d
   cloud monitor -o json --operation op-01a2146547e0-781f0d | jq .kind
   cloud monitor --server http://127.0.0.1:8080 --plain --operation op-01a2146547e0-781f0d`,
		ArgsUsage: "[DEPLOYMENT_ID]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "only this environment"},
			&cli.StringFlag{Name: "server", Usage: "`URL` of a cloud serve server (default: the global --server, else the local store)"},
			&cli.StringFlag{Name: "operation", Usage: "follow this operation and exit with its result"},
			&cli.BoolFlag{Name: "plain", Usage: "print one line per event (for CI logs and pipes)"},
			&cli.DurationFlag{Name: "give-up", Value: 10 * time.Minute, Usage: "with --server, fail after being unable to connect for this long (0: never)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageError("monitor takes at most one argument, DEPLOYMENT_ID")
			}
			opts := &monitorOptions{Client: e.lazyClient(c), ID: c.Args().First(), Env: c.String("env"),
				Operation: c.String("operation"), Plain: c.Bool("plain")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.monitorRun(c.Context, opts)
		},
	}
}

// monitorRun follows what opts name: in the full-screen view only when
// both stderr and stdout are terminals and neither --plain nor -o json
// asks otherwise.
func (e *env) monitorRun(ctx context.Context, opts *monitorOptions) error {
	cl, err := opts.Client()
	if err != nil {
		return err
	}
	if err := cl.Check(ctx); err != nil {
		return err
	}
	plain := opts.Plain || e.output == "json" || !e.io.TTY || e.io.Out != io.Writer(os.Stdout) || !term.IsTerminal(int(os.Stdout.Fd()))
	return e.monitor(ctx, cl, opts.ID, opts.Env, opts.Operation, plain)
}

// monitor follows an operation (or a deployment) in the full-screen view
// or, plain, one line per event.
func (e *env) monitor(ctx context.Context, cl client.Client, id, envName, opID string, plain bool) error {
	st := monitor.New()
	f := monitor.Filter{OperationID: opID, DeploymentID: id, Environment: envName}
	watch := opID == ""
	switch {
	case opID != "":
		op, err := cl.Operation(ctx, opID)
		if err != nil {
			return err
		}
		if id != "" && op.DeploymentID != id {
			return usageError("operation %s belongs to deployment %s, not %s", opID, op.DeploymentID, id)
		}
		f.DeploymentID, f.Environment = op.DeploymentID, op.Environment
		monitorHistory(ctx, cl, st, f.DeploymentID, f.Environment)
	case id == "":
		items, err := monitorList(ctx, cl)
		if err != nil {
			return err
		}
		if plain {
			for _, it := range items {
				fmt.Fprintf(e.io.Out, "%s\t%s\n", it.ID, it.Status)
			}
			return usageError("give a DEPLOYMENT_ID, or --operation")
		}
		picker := &monitor.Picker{Items: items}
		if err := runPicker(ctx, picker, cl); err != nil {
			return err
		}
		if picker.Chosen == "" {
			return nil
		}
		id = picker.Chosen
		f.DeploymentID = id
		fallthrough
	default:
		ops, err := cl.Operations(ctx, id, envName, 1)
		if err != nil {
			return err
		}
		if len(ops.Items) == 0 {
			// Nothing has run yet: wait for the first operation.
			e.status("monitor: %s has no operation yet; waiting for one", id)
		} else {
			f.OperationID = ops.Items[0].ID
		}
		monitorHistory(ctx, cl, st, id, envName)
	}
	if !plain {
		return monitorTUI(ctx, cl, f, watch, st)
	}
	enc := json.NewEncoder(e.io.Out)
	err := monitor.Follow(ctx, cl, f, watch, st, func(ev *monitor.Event) {
		if e.output == "json" {
			// Every event, whole, one per line: what a script or a test
			// needs to check that nothing was missed or repeated.
			_ = enc.Encode(ev)
			return
		}
		if line := monitor.PlainLine(st, ev); line != "" {
			fmt.Fprintln(e.io.Out, line)
		}
	}, e.connectionStatus(cl, "monitor: "))
	if watch {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: 1, err: fmt.Errorf("monitor of %s interrupted", opID)}
		}
		return err
	}
	return opResult(st, opID)
}

// connectionStatus reports a stream's changes of connection (a server's
// stream reconnects by itself) on stderr.
func (e *env) connectionStatus(cl client.Client, prefix string) func(monitor.Update) {
	return func(u monitor.Update) {
		switch u.Status {
		case "reconnecting":
			e.status("%sconnection to %s lost (%v); reconnecting in %s", prefix, cl.Where(), u.Err, human.Duration(u.Retry))
		case "connected":
			e.status("%sconnected to %s", prefix, cl.Where())
		}
	}
}

// runPicker runs the deployment picker, keeping its statuses live: every
// operation or stack status event of any deployment (from now on) makes it
// re-read the list.
func runPicker(ctx context.Context, picker *monitor.Picker, cl client.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(picker, tea.WithContext(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cl.Stream(ctx, monitor.Filter{Kinds: []string{string(vocab.EventOperation), string(vocab.EventStack)}}, 0, func(monitor.Update) {
			if items, err := monitorList(ctx, cl); err == nil {
				p.Send(monitor.ItemsMsg(items))
			}
		})
	}()
	_, err := p.Run()
	cancel()
	<-done
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// opResult is the exit status of a monitored operation.
func opResult(st *monitor.State, opID string) error {
	if !st.Succeeded() {
		status := st.Status
		if status == "" {
			status = "unknown"
		}
		return &exitError{code: 1, err: fmt.Errorf("operation %s %s", opID, status)}
	}
	return nil
}

// monitorTUI runs the full-screen view while the events stream in. The
// view keeps its own State (the stream's goes on in another goroutine).
func monitorTUI(ctx context.Context, cl client.Client, f monitor.Filter, watch bool, hist *monitor.State) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	view := monitor.New()
	view.History = hist.History
	title := f.DeploymentID
	if f.Environment != "" {
		title += "/" + f.Environment
	}
	m := monitor.NewModel(view, title)
	m.Outputs = func(stack string) ([]monitor.Output, error) {
		return monitorOutputs(ctx, cl, view.DeploymentID, view.Environment, stack)
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	done := make(chan error, 1)
	go func() {
		err := monitor.Follow(ctx, cl, f, watch, monitor.New(), func(ev *monitor.Event) {
			p.Send(monitor.EventsMsg{ev})
		}, func(u monitor.Update) {
			p.Send(monitor.StatusMsg(u))
		})
		p.Send(monitor.EndMsg{Err: err})
		done <- err
	}()
	_, err := p.Run()
	cancel()
	<-done
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
		return err
	}
	if f.OperationID != "" && !watch && view.Ended() {
		return opResult(view, f.OperationID)
	}
	return nil
}

// monitorOutputs returns a stack's outputs, secrets redacted.
func monitorOutputs(ctx context.Context, cl client.Client, id, envName, stack string) ([]monitor.Output, error) {
	page, err := cl.Outputs(ctx, id, envName, stack, false)
	if err != nil {
		return nil, err
	}
	var outs []monitor.Output
	for _, o := range page.Items {
		outs = append(outs, monitor.Output{Name: o.Name, Value: o.Value, Secret: o.Secret})
	}
	return outs, nil
}

// monitorList lists the deployments for the picker.
func monitorList(ctx context.Context, cl client.Client) ([]monitor.PickItem, error) {
	page, err := cl.Deployments(ctx, false)
	if err != nil {
		return nil, err
	}
	var items []monitor.PickItem
	for _, d := range page.Items {
		it := monitor.PickItem{ID: d.ID, Status: string(d.Status), Name: d.Organization + "/" + d.Project, Updated: lastActivity(d)}
		for _, env := range d.Environments {
			it.Environments = append(it.Environments, env.Name+":"+string(env.Status))
		}
		items = append(items, it)
	}
	return items, nil
}

// monitorHistory feeds the stacks' durations in the environment's earlier
// successful operations to the ETA. Best effort: errors are ignored.
func monitorHistory(ctx context.Context, cl client.Client, st *monitor.State, id, envName string) {
	ops, err := cl.Operations(ctx, id, envName, 10)
	if err != nil {
		return
	}
	seen := map[string]int{}
	for _, op := range ops.Items {
		if op.Status != vocab.OpSucceeded {
			continue
		}
		for _, s := range op.Stacks {
			if s.Status != vocab.StackDeployed || s.StartedAt == nil || s.FinishedAt == nil {
				continue
			}
			seen[s.Stack]++
			st.AddHistory(s.Stack, s.FinishedAt.Sub(*s.StartedAt), seen[s.Stack])
		}
	}
}
