package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/store/feed"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func monitorCommand(e *env) *cli.Command {
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
			srv := e.server(c)
			if srv != "" {
				if err := e.remoteMonitor(c, srv); err != nil {
					return err
				}
			}
			plain := c.Bool("plain") || e.output == "json" || !e.io.TTY || e.io.Out != io.Writer(os.Stdout) || !term.IsTerminal(int(os.Stdout.Fd()))
			return e.monitor(c.Context, c.Args().First(), c.String("env"), c.String("operation"), srv, c.Duration("give-up"), plain)
		},
	}
}

// monitor follows an operation (or a deployment) in the full-screen view
// or, plain, one line per event.
func (e *env) monitor(ctx context.Context, id, envName, opID, server string, giveUp time.Duration, plain bool) error {
	st := monitor.New()
	var src monitor.Source
	var remote *monitor.Remote
	var a *app.App
	if server != "" {
		remote = &monitor.Remote{URL: server, GiveUp: giveUp, Authorize: e.monitorAuth}
		src = remote
	} else {
		var err error
		if a, err = e.open(ctx); err != nil {
			return err
		}
		hub := feed.New(a.Store(), feed.Options{})
		defer hub.Close()
		src = monitor.Local{Hub: hub}
	}
	f := monitor.Filter{OperationID: opID, DeploymentID: id, Environment: envName}
	watch := opID == ""
	switch {
	case opID != "":
		dep, env, err := e.operationOwner(ctx, a, remote, opID)
		if err != nil {
			return err
		}
		if id != "" && dep != id {
			return usageError("operation %s belongs to deployment %s, not %s", opID, dep, id)
		}
		f.DeploymentID, f.Environment = dep, env
		e.monitorHistory(ctx, a, remote, st, dep, env)
	case id == "":
		items, err := e.monitorList(ctx, a, remote)
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
		if err := e.runPicker(ctx, picker, src, a, remote); err != nil {
			return err
		}
		if picker.Chosen == "" {
			return nil
		}
		id = picker.Chosen
		f.DeploymentID = id
		fallthrough
	default:
		latest, err := e.latestOperation(ctx, a, remote, id, envName)
		if err != nil {
			return err
		}
		if latest == "" {
			// Nothing has run yet: wait for the first operation.
			e.status("monitor: %s has no operation yet; waiting for one", id)
		}
		f.OperationID = latest
		e.monitorHistory(ctx, a, remote, st, id, envName)
	}
	if !plain {
		return e.monitorTUI(ctx, src, remote, a, f, watch, st)
	}
	enc := json.NewEncoder(e.io.Out)
	err := monitor.Follow(ctx, src, f, watch, st, func(ev *monitor.Event) {
		if e.output == "json" {
			// Every event, whole, one per line: what a script or a test
			// needs to check that nothing was missed or repeated.
			_ = enc.Encode(ev)
			return
		}
		if line := monitor.PlainLine(st, ev); line != "" {
			fmt.Fprintln(e.io.Out, line)
		}
	}, func(u monitor.Update) {
		switch u.Status {
		case "reconnecting":
			e.status("monitor: connection lost (%v); reconnecting in %s", u.Err, monitor.Duration(u.Retry))
		case "connected":
			e.status("monitor: connected to %s", remote.Endpoint())
		}
	})
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

// opResult is the exit status of a monitored operation.
// runPicker runs the deployment picker, keeping its statuses live: every
// operation or stack status event of any deployment (from now on) makes it
// re-read the list.
func (e *env) runPicker(ctx context.Context, picker *monitor.Picker, src monitor.Source, a *app.App, remote *monitor.Remote) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := tea.NewProgram(picker, tea.WithContext(ctx))
	after := 0
	if a != nil {
		last, err := a.Store().LastGlobalSeq(ctx)
		if err != nil {
			return err
		}
		after = int(last)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = src.Stream(ctx, monitor.Filter{Kinds: []string{"operation.status", "stack.status"}}, after, func(monitor.Update) {
			if items, err := e.monitorList(ctx, a, remote); err == nil {
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
func (e *env) monitorTUI(ctx context.Context, src monitor.Source, remote *monitor.Remote, a *app.App, f monitor.Filter, watch bool, hist *monitor.State) error {
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
		return e.monitorOutputs(ctx, a, remote, view.DeploymentID, view.Environment, stack)
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx))
	done := make(chan error, 1)
	go func() {
		err := monitor.Follow(ctx, src, f, watch, monitor.New(), func(ev *monitor.Event) {
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
func (e *env) monitorOutputs(ctx context.Context, a *app.App, r *monitor.Remote, id, envName, stack string) ([]monitor.Output, error) {
	var outs []monitor.Output
	if r == nil {
		all, err := a.Outputs(ctx, id, envName, stack, false)
		if err != nil {
			return nil, err
		}
		for _, name := range slices.Sorted(maps.Keys(all[stack])) {
			o := all[stack][name]
			out := monitor.Output{Name: name, Secret: o.Secret}
			if !o.Secret {
				out.Value = o.Value
			}
			outs = append(outs, out)
		}
		return outs, nil
	}
	var data struct {
		Outputs []struct {
			Name   string
			Value  any
			Secret bool
		}
	}
	if err := r.Query(ctx, `query($d: ID!, $env: String!, $s: String) { outputs(deploymentId: $d, environment: $env, stack: $s) { name value secret redacted } }`,
		map[string]any{"d": id, "env": envName, "s": stack}, &data); err != nil {
		return nil, err
	}
	for _, o := range data.Outputs {
		outs = append(outs, monitor.Output{Name: o.Name, Value: o.Value, Secret: o.Secret})
	}
	return outs, nil
}

// operationOwner returns the deployment and environment of an operation.
func (e *env) operationOwner(ctx context.Context, a *app.App, r *monitor.Remote, opID string) (string, string, error) {
	if r == nil {
		op, _, err := a.Operation(ctx, opID)
		if err != nil {
			return "", "", err
		}
		return op.DeploymentID, op.Environment, nil
	}
	var data struct {
		Operation *struct{ DeploymentID, Environment string }
	}
	if err := r.Query(ctx, `query($id: ID!) { operation(id: $id) { deploymentId environment } }`, map[string]any{"id": opID}, &data); err != nil {
		return "", "", err
	}
	if data.Operation == nil {
		return "", "", fmt.Errorf("operation %s not found", opID)
	}
	return data.Operation.DeploymentID, data.Operation.Environment, nil
}

// latestOperation returns the ID of the deployment's newest operation.
// latestOperation returns the latest operation of deployment id (in envName
// if given), or "" when the deployment exists but nothing has run yet.
func (e *env) latestOperation(ctx context.Context, a *app.App, r *monitor.Remote, id, envName string) (string, error) {
	if r == nil {
		op, err := a.LatestOperation(ctx, id, envName)
		if errors.Is(err, app.ErrNotFound) {
			if _, _, merr := a.Manifest(ctx, id); merr != nil {
				return "", merr
			}
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return op.ID, nil
	}
	var data struct {
		Deployment *struct{ ID string }
		Operations struct{ Nodes []struct{ ID string } }
	}
	vars := map[string]any{"d": id}
	if envName != "" {
		vars["env"] = envName
	}
	if err := r.Query(ctx, `query($d: ID!, $env: String) { deployment(id: $d) { id } operations(deploymentId: $d, environment: $env, first: 1) { nodes { id } } }`, vars, &data); err != nil {
		return "", err
	}
	if data.Deployment == nil {
		return "", fmt.Errorf("deployment %s not found", id)
	}
	if len(data.Operations.Nodes) == 0 {
		return "", nil
	}
	return data.Operations.Nodes[0].ID, nil
}

func (e *env) monitorList(ctx context.Context, a *app.App, r *monitor.Remote) ([]monitor.PickItem, error) {
	var items []monitor.PickItem
	if r == nil {
		list, err := a.List(ctx, false)
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			items = append(items, monitor.PickItem{ID: d.Deployment.ID, Status: string(d.Status)})
		}
		return items, nil
	}
	var data struct {
		Deployments struct{ Nodes []struct{ ID, Status string } }
	}
	if err := r.Query(ctx, `{ deployments { nodes { id status } } }`, nil, &data); err != nil {
		return nil, err
	}
	for _, d := range data.Deployments.Nodes {
		items = append(items, monitor.PickItem{ID: d.ID, Status: d.Status})
	}
	return items, nil
}

// monitorHistory feeds the stacks' durations in the environment's earlier
// successful operations to the ETA. Best effort: errors are ignored.
func (e *env) monitorHistory(ctx context.Context, a *app.App, r *monitor.Remote, st *monitor.State, id, envName string) {
	type stackRun struct {
		Stack                 string
		Status                vocab.StackStatus
		StartedAt, FinishedAt *time.Time
	}
	var runs [][]stackRun
	if r == nil {
		ops, err := a.History(ctx, id, envName, 10)
		if err != nil {
			return
		}
		for _, op := range ops {
			if op.Status != vocab.OpSucceeded {
				continue
			}
			_, stacks, err := a.Operation(ctx, op.ID)
			if err != nil {
				continue
			}
			var rs []stackRun
			for _, s := range stacks {
				rs = append(rs, stackRun{s.Stack, s.Status, s.StartedAt, s.FinishedAt})
			}
			runs = append(runs, rs)
		}
	} else {
		var data struct {
			Operations struct {
				Nodes []struct {
					Status vocab.OperationStatus
					Stacks []stackRun
				}
			}
		}
		vars := map[string]any{"d": id}
		if envName != "" {
			vars["env"] = envName
		}
		if r.Query(ctx, `query($d: ID!, $env: String) { operations(deploymentId: $d, environment: $env, first: 10) { nodes { status stacks { stack status startedAt finishedAt } } } }`, vars, &data) != nil {
			return
		}
		for _, op := range data.Operations.Nodes {
			if op.Status == vocab.OpSucceeded {
				runs = append(runs, op.Stacks)
			}
		}
	}
	seen := map[string]int{}
	for _, rs := range runs {
		for _, s := range rs {
			if s.Status != vocab.StackDeployed || s.StartedAt == nil || s.FinishedAt == nil {
				continue
			}
			seen[s.Stack]++
			st.AddHistory(s.Stack, s.FinishedAt.Sub(*s.StartedAt), seen[s.Stack])
		}
	}
}
