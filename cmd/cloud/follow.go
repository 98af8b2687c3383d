package main

// Operations on a server (--server): start them through client.HTTP and follow them with the same progress printer.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/vocab"
	"github.com/urfave/cli/v2"
)

// Remote mode: with --server (or CLOUD_SERVER) the commands below run
// against a `cloud serve` through client.HTTP. Reading commands go through
// the client seam (clients.go) and print the same documents either way;
// what is here starts operations on a server and follows them there, where
// the local commands run them in this process.

// remoteCommands are the commands that run against a server with
// --server; every other command refuses it (see checkServerFlag).
var remoteCommands = map[string]bool{
	"list": true, "status": true, "outputs": true, "history": true, "logs": true,
	"deploy": true, "deploy-stack": true, "preview": true, "refresh": true,
	"destroy": true, "destroy-stack": true, "rollback": true, "cancel": true,
	"monitor": true, "login": true, "logout": true,
}

// serverNeutral are the commands --server does not concern at all: they
// neither use it nor touch a store, so a CLOUD_SERVER in the environment
// must not stop them.
var serverNeutral = map[string]bool{"help": true, "version": true, "completion": true}

// checkServerFlag refuses --server for a command that only runs on the
// local store, in one place rather than in every command: running it
// locally while the user meant the server would act on the wrong data.
func checkServerFlag(c *cli.Context, server string) error {
	if server == "" || c.NArg() == 0 {
		return nil
	}
	cmd := find(c.App.Commands, c.Args().First())
	if cmd == nil || cmd.Hidden || remoteCommands[cmd.Name] || serverNeutral[cmd.Name] {
		return nil
	}
	return usageError("cloud %s does not run against a server (--server or CLOUD_SERVER); run it where the server's home is", cmd.Name)
}

// server is the server a command runs against: its own --server flag
// (monitor, login, logout) or the global one; "" for the local store.
func (e *env) server(c *cli.Context) string {
	if s := c.String("server"); s != "" {
		return s
	}
	return e.serverURL
}

// remoteRollback is `cloud rollback` against a server: --list, or start
// the rollback and follow it. Stacks the earlier revision lacks are
// destroyed only with --yes: there is no way to ask in between.
func (e *env) remoteRollback(c *cli.Context, server, id string) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	if c.IsSet("require-lock") {
		return usageError("--require-lock does not apply with --server: the server handles the team lock")
	}
	to := c.String("to")
	if to == "" {
		return usageError("rollback: give --to OPERATION (or --list to see the candidates)")
	}
	body := map[string]any{"to": to, "destroyAdded": e.yes}
	if c.IsSet("parallel") {
		body["parallel"] = c.Int("parallel")
	}
	op, err := r.Start(c.Context, id, c.String("env"), "", "rollback", body)
	if err != nil {
		var re *client.Error
		if !e.yes && errors.As(err, &re) && strings.Contains(re.Problem.Detail, "would destroy") {
			// The server cannot ask: --yes is the confirmation.
			return usageError("%v\nrun it again with --yes to destroy them", err)
		}
		return err
	}
	return e.follow(c.Context, r, op)
}

// remoteOperate starts an operation on a server (deploy, preview,
// destroy, refresh, of the environment or of one stack) and follows it.
// deploy --file first stores the manifest as a new revision there.
func (e *env) remoteOperate(c *cli.Context, server string, req app.RunRequest) error {
	r, err := e.remote(server)
	if err != nil {
		return err
	}
	if c.IsSet("require-lock") {
		return usageError("--require-lock does not apply with --server: the server handles the team lock")
	}
	if c.Int("parallel") < 1 {
		return usageError("--parallel must be at least 1")
	}
	if f := c.String("file"); f != "" {
		data, err := app.ReadManifestFile(f)
		if err != nil {
			return err
		}
		change, err := r.ApplyManifest(c.Context, req.DeploymentID, data)
		if err != nil {
			return err
		}
		if change.Changed {
			e.status("applied %s as revision %d on %s", f, change.Revision, r.Where())
		}
	}
	body := map[string]any{}
	set := func(flag, field string) {
		if c.IsSet(flag) {
			body[field] = c.Value(flag)
		}
	}
	set("parallel", "parallel")
	set("fail-fast", "failFast")
	set("force", "force")
	stack := ""
	if strings.HasSuffix(c.Command.Name, "-stack") {
		// One stack: its own route, whose options differ.
		stack = req.Stacks[0]
		set("with-dependencies", "withDependencies")
		set("cascade", "cascade")
	} else {
		set("resume", "resume")
		set("skip-validation", "skipValidation")
		if len(req.Stacks) > 0 {
			body["stacks"] = req.Stacks
		}
	}
	op, err := r.Start(c.Context, req.DeploymentID, c.String("env"), stack, string(req.Kind), body)
	if err != nil {
		return err
	}
	return e.follow(c.Context, r, op)
}

// follow shows an operation started on a server until it ends: its events
// live (the GraphQL subscription monitor uses, one line each, on stderr),
// then its stacks' outcome and result like the local command's report.
// When the subscription cannot be had it polls GET /operations/{id}.
// Interrupting the CLI does not stop the operation: it goes on on the
// server, and the message says how to cancel it.
func (e *env) follow(ctx context.Context, r *client.HTTP, op *model.Operation) error {
	e.status("%s %s started on %s (%s of %s)", op.Kind, op.ID, r.Where(), op.Environment, op.DeploymentID)
	stopped := &exitError{code: 1, err: fmt.Errorf("stopped following %s; it goes on on %s (cancel it with: cloud --server %s cancel %s)", op.ID, r.Where(), r.Where(), op.ID)}
	p := newProgress(e, "Ctrl-C stops following, not the operation")
	err := monitor.Follow(ctx, r, monitor.Filter{OperationID: op.ID, DeploymentID: op.DeploymentID, Environment: op.Environment},
		false, monitor.New(), p.apply, e.connectionStatus(r, ""))
	p.stop()
	if ctx.Err() != nil {
		return stopped
	}
	if err != nil {
		e.status("live events of %s unavailable (%v); polling", op.ID, err)
	}
	var final *model.Operation
	for {
		if final, err = r.Operation(ctx, op.ID); err != nil {
			return err
		}
		if final.Status != vocab.OpQueued && final.Status != vocab.OpRunning {
			break
		}
		if err := client.SleepCtx(ctx, time.Second); err != nil {
			return stopped
		}
	}
	if err := e.printReport(final); err != nil {
		return err
	}
	if final.Status != vocab.OpSucceeded {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}
