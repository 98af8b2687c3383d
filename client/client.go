// Package client is the one seam between the CLI's commands and what they
// act on: a Client reads the API's documents (package document) from the
// local store in process (Local) or from a `cloud serve` over its REST API
// (HTTP). Both answer with the same documents, so a command prints the
// same bytes with and without --server and never asks which it has.
package client

import (
	"context"

	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/monitor"
)

// MaxPage is the most items one page holds: a longer list is read page by
// page.
const MaxPage = graph.MaxPage

// Client reads deployments, operations and their events, runs and stops
// operations, wherever they are kept.
type Client interface {
	// Where names what the client talks to, for messages: "the local
	// store" or the server's name.
	Where() string
	// Deployments lists every deployment (all pages), with the destroyed
	// ones too when includeDestroyed.
	Deployments(ctx context.Context, includeDestroyed bool) (document.Page[*model.Deployment], error)
	// Deployment is one deployment; with env, only that environment of it
	// (a NoEnvironmentError when it has none of that name).
	Deployment(ctx context.Context, id, env string) (*model.Deployment, error)
	// Outputs are the outputs of every stack of an environment, or of one
	// stack; secret values only with showSecrets.
	Outputs(ctx context.Context, id, env, stack string, showSecrets bool) (document.Page[*model.Output], error)
	// Operations are the newest first operations of a deployment (of one
	// environment when env is not ""), at most MaxPage.
	Operations(ctx context.Context, id, env string, first int) (document.Page[*model.Operation], error)
	// Operation is one operation with its stacks.
	Operation(ctx context.Context, id string) (*model.Operation, error)
	// Events are the events of an operation after afterSeq (0: from the
	// start), at most first (MaxPage when 0), of the stacks given (every
	// stack when none).
	Events(ctx context.Context, opID string, afterSeq, first int, stacks ...string) (document.EventPage, error)
	// RollbackCandidates are the operations an environment can be rolled
	// back to, newest first.
	RollbackCandidates(ctx context.Context, id, env string) (document.Page[*model.Operation], error)
	// Cancel asks a running operation to stop; it answers with the
	// operation as it is now (stopping takes a moment).
	Cancel(ctx context.Context, opID string) (*model.Operation, error)
	// Operate runs an operation and returns it once it ended, with its
	// stacks; the error is nil when it succeeded, wraps app.ErrFailed or
	// app.ErrCancelled when it ran and did not (the operation is returned
	// too), and is the reason otherwise. What ending ctx does depends on
	// Detached.
	Operate(ctx context.Context, r Request, w Watch) (*model.Operation, error)
	// Detached reports whether an operation this client runs goes on
	// without the caller: on a server, ending Operate's context stops
	// following it (*StoppedFollowing); in process it cancels it.
	Detached() bool
	// Check makes sure the client can be used before a long stream is
	// started on it: a server that refuses the login says why at once
	// (a WebSocket refusal says less, and would be retried). The local
	// store has nothing to check.
	Check(ctx context.Context) error
	// Stream streams events live (monitor.Source): an operation's until
	// it ends, or a deployment's, or everyone's. A stream of everyone's
	// events after position 0 starts from now, not from the first event
	// ever stored.
	monitor.Source
}

// Latest is the newest operation of a deployment (of one environment when
// env is not "").
func Latest(ctx context.Context, c Client, id, env string) (*model.Operation, error) {
	p, err := c.Operations(ctx, id, env, 1)
	if err != nil {
		return nil, err
	}
	if len(p.Items) == 0 {
		return nil, noOperation(id, env)
	}
	return p.Items[0], nil
}
