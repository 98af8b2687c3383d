package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/vocab"
)

// Request is one operation to run on one environment of a deployment:
// what the REST routes POST …/{kind} and the GraphQL operation mutations
// take, plus what only a run in this process can do.
type Request struct {
	DeploymentID string
	Environment  string
	// Kind is deploy, preview, refresh, destroy or rollback.
	Kind vocab.Kind
	// Stack is the one stack of deploy-stack or destroy-stack, which have
	// routes (and options) of their own.
	Stack string
	// Stacks limits an operation of the environment to these stacks
	// (refresh --stack).
	Stacks []string
	// Parallel is the most stacks running at once; 0 is the default.
	Parallel         int
	FailFast         bool
	Force            bool
	Resume           bool
	SkipValidation   bool
	WithDependencies bool
	Cascade          bool
	// Manifest, when not nil, is stored as the deployment's new revision
	// before the operation starts (deploy --file).
	Manifest *Manifest
	// To is the operation a rollback returns to.
	To string
	// DestroyAdded lets a rollback destroy the stacks deployed now that the
	// earlier revision lacks without asking (Watch.Confirm).
	DestroyAdded bool
	// RequireLock refuses to run without the team lock. Only a run in
	// this process takes the team lock: a server handles its own.
	RequireLock bool
	// Command and Flags are what the caller records on the operation
	// (a server records the request it was sent).
	Command string
	Flags   map[string]any
}

// Manifest is a manifest file's content and where it was read from.
type Manifest struct {
	Path string
	Data []byte
}

// Watch is what the caller of Operate is told as the operation runs; each
// may be nil. They are called on other goroutines and must not block.
type Watch struct {
	// Applied reports the revision Request.Manifest was stored as.
	Applied func(ManifestChange)
	// Started reports an operation started on a server, before its
	// events (in process the first event says it).
	Started func(*model.Operation)
	// Event sees every event of the operation, in order.
	Event func(*monitor.Event)
	// Warn is what the user must know and that does not stop the run: the
	// team lock was not taken.
	Warn func(msg string)
	// Confirm is asked before a rollback destroys the stacks the earlier
	// revision lacks; without it (or when it says no) such a rollback is
	// refused. A server cannot ask: there only Request.DestroyAdded counts.
	Confirm func(stacks []string) bool
	// Connection reports the state of the event stream from a server
	// ("connected", "reconnecting", and "polling" when it cannot be had).
	Connection func(monitor.Update)
}

// ManifestChange is what applying a manifest changed.
type ManifestChange struct {
	Revision int  `json:"revision"`
	Changed  bool `json:"changed"`
}

// StoppedFollowing is the error of an Operate on a server interrupted by
// its context: the operation goes on there.
type StoppedFollowing struct {
	Operation *model.Operation
	Where     string
}

func (e *StoppedFollowing) Error() string {
	return fmt.Sprintf("stopped following %s; it goes on on %s", e.Operation.ID, e.Where)
}

// ended is the error of an operation that ran: nil when it succeeded, else
// app.ErrFailed or app.ErrCancelled, as a run in this process returns.
func ended(op *model.Operation) error {
	switch op.Status {
	case vocab.OpSucceeded:
		return nil
	case vocab.OpCancelled:
		return fmt.Errorf("%s %s: %w", op.Kind, op.ID, app.ErrCancelled)
	}
	return fmt.Errorf("%s %s %s: %w", op.Kind, op.ID, op.Status, app.ErrFailed)
}

// Operate implements Client in this process: the operation runs here and
// returns when it ends; ending ctx cancels it (it is recorded as
// cancelled).
func (l *Local) Operate(ctx context.Context, r Request, w Watch) (*model.Operation, error) {
	if r.Manifest != nil {
		rev, changed, err := l.app.ApplyManifest(ctx, r.DeploymentID, r.Manifest.Path, r.Manifest.Data)
		if err != nil {
			return nil, err
		}
		if w.Applied != nil {
			w.Applied(ManifestChange{Revision: rev, Changed: changed})
		}
	}
	parallel := r.Parallel
	if parallel == 0 {
		parallel = app.DefaultParallel
	}
	run := app.RunRequest{DeploymentID: r.DeploymentID, Environment: r.Environment, Kind: r.Kind, Stacks: r.Stacks,
		RunOptions: app.RunOptions{Parallel: parallel, FailFast: r.FailFast, Force: r.Force, Resume: r.Resume,
			SkipValidation: r.SkipValidation, WithDependencies: r.WithDependencies, Cascade: r.Cascade, RequireLock: r.RequireLock},
		Command: r.Command, Flags: r.Flags,
		RunHooks: app.RunHooks{Warn: w.Warn}}
	if r.Stack != "" {
		run.Stacks = []string{r.Stack}
	}
	if w.Event != nil {
		run.Observer = func(ev app.Event) { w.Event(model.EventFrom(ev)) }
	}
	var report *app.Report
	var err error
	if r.Kind == vocab.KindRollback {
		report, err = l.app.Rollback(ctx, app.RollbackRequest{DeploymentID: r.DeploymentID, Environment: r.Environment, To: r.To,
			Confirm: func(stacks []string) bool { return r.DestroyAdded || (w.Confirm != nil && w.Confirm(stacks)) },
			Run:     run})
	} else {
		report, err = l.app.Run(ctx, run)
	}
	if report == nil {
		return nil, err
	}
	// Read even when the run was interrupted: its end is recorded.
	op, rerr := l.Operation(context.WithoutCancel(ctx), report.Operation.ID)
	if rerr != nil {
		return nil, rerr
	}
	return op, err
}

// Operate implements Client on the server: the operation starts there
// and is followed through its events (polled when they cannot be had)
// until it ends. Ending ctx stops following it, not the operation
// (*StoppedFollowing).
func (c *HTTP) Operate(ctx context.Context, r Request, w Watch) (*model.Operation, error) {
	if r.RequireLock {
		return nil, &app.UsageError{Msg: "--require-lock does not apply with --server: the server handles the team lock"}
	}
	if r.Kind == vocab.KindRollback && (r.FailFast || len(r.Stacks) > 0 || r.Stack != "") {
		return nil, &app.UsageError{Msg: "a rollback on a server takes only --to and --parallel"}
	}
	if r.Manifest != nil {
		var ch ManifestChange
		if err := c.Do(ctx, http.MethodPut, "/deployments/"+esc(r.DeploymentID)+"/manifest", nil, YAML(r.Manifest.Data), &ch); err != nil {
			return nil, err
		}
		if w.Applied != nil {
			w.Applied(ch)
		}
	}
	op, err := c.start(ctx, r)
	if err != nil {
		return nil, err
	}
	if w.Started != nil {
		w.Started(op)
	}
	err = monitor.Follow(ctx, c, monitor.Filter{OperationID: op.ID, DeploymentID: op.DeploymentID, Environment: op.Environment},
		false, monitor.New(), w.Event, w.Connection)
	if ctx.Err() != nil {
		return nil, &StoppedFollowing{Operation: op, Where: c.Where()}
	}
	if err != nil && w.Connection != nil {
		w.Connection(monitor.Update{Status: "polling", Err: err})
	}
	for {
		final, err := c.Operation(ctx, op.ID)
		if ctx.Err() != nil {
			return nil, &StoppedFollowing{Operation: op, Where: c.Where()}
		}
		if err != nil {
			return nil, err
		}
		if final.Status != vocab.OpQueued && final.Status != vocab.OpRunning {
			return final, ended(final)
		}
		if err := c.Sleep(ctx, time.Second); err != nil {
			return nil, &StoppedFollowing{Operation: op, Where: c.Where()}
		}
	}
}

// start posts r to its route: the environment's, one stack's (whose
// options differ), or the rollback's.
func (c *HTTP) start(ctx context.Context, r Request) (*model.Operation, error) {
	path := envPath(r.DeploymentID, r.Environment)
	body := map[string]any{}
	set := func(field string, v any, ok bool) {
		if ok {
			body[field] = v
		}
	}
	set("parallel", r.Parallel, r.Parallel != 0)
	switch {
	case r.Kind == vocab.KindRollback:
		body["to"] = r.To
		body["destroyAdded"] = r.DestroyAdded
	case r.Stack != "":
		path += "/stacks/" + esc(r.Stack)
		set("failFast", true, r.FailFast)
		set("force", true, r.Force)
		set("withDependencies", true, r.WithDependencies)
		set("cascade", true, r.Cascade)
	default:
		set("failFast", true, r.FailFast)
		set("force", true, r.Force)
		set("resume", true, r.Resume)
		set("skipValidation", true, r.SkipValidation)
		set("stacks", r.Stacks, len(r.Stacks) > 0)
	}
	var op model.Operation
	if err := c.Do(ctx, http.MethodPost, path+"/"+string(r.Kind), nil, body, &op); err != nil {
		return nil, err
	}
	return &op, nil
}
