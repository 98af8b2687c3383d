package client

import (
	"context"
	"fmt"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/document"
	"github.com/cloudplatform/cloud/graph"
	"github.com/cloudplatform/cloud/graph/model"
	"github.com/cloudplatform/cloud/monitor"
	"github.com/cloudplatform/cloud/store/feed"
)

// Local is a Client over the core in this process: it reads the documents
// through the resolvers the server serves them with, so they are the
// server's documents byte for byte.
type Local struct {
	app  *app.App
	docs *document.Reader
}

// NewLocal is a Client over a.
func NewLocal(a *app.App) *Local {
	return &Local{app: a, docs: document.New(&graph.Resolver{App: a})}
}

// Check implements Client.
func (l *Local) Check(context.Context) error { return nil }

// Stream implements Client through a feed hub of its own, which watches
// the store for events other processes (a deploy, a server) append.
func (l *Local) Stream(ctx context.Context, f monitor.Filter, after int, emit func(monitor.Update)) error {
	if f.OperationID == "" && f.DeploymentID == "" && after == 0 {
		last, err := l.app.LastEventSeq(ctx)
		if err != nil {
			return err
		}
		after = int(last)
	}
	hub := l.app.Feed(feed.Options{})
	defer hub.Close()
	return monitor.Local{Hub: hub}.Stream(ctx, f, after, emit)
}

// Detached implements Client: an operation runs in this process.
func (l *Local) Detached() bool { return false }

// Where implements Client.
func (l *Local) Where() string { return "the local store" }

// Deployments implements Client.
func (l *Local) Deployments(ctx context.Context, includeDestroyed bool) (document.Page[*model.Deployment], error) {
	return allPages(func(after *string) (document.Page[*model.Deployment], error) {
		first := MaxPage
		return l.docs.Deployments(ctx, &first, after, &includeDestroyed)
	})
}

// Deployment implements Client.
func (l *Local) Deployment(ctx context.Context, id, env string) (*model.Deployment, error) {
	d, err := l.docs.Deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	return d, document.Narrow(d, env)
}

// Outputs implements Client.
func (l *Local) Outputs(ctx context.Context, id, env, stack string, showSecrets bool) (document.Page[*model.Output], error) {
	var s *string
	if stack != "" {
		s = &stack
	}
	return l.docs.Outputs(ctx, id, env, s, &showSecrets)
}

// Operations implements Client.
func (l *Local) Operations(ctx context.Context, id, env string, first int) (document.Page[*model.Operation], error) {
	if err := checkFirst(first); err != nil {
		return document.Page[*model.Operation]{}, err
	}
	if env != "" {
		if _, err := l.docs.Environment(ctx, id, env); err != nil {
			return document.Page[*model.Operation]{}, err
		}
	}
	return l.docs.Operations(ctx, id, optional(env), &first, nil)
}

// Operation implements Client.
func (l *Local) Operation(ctx context.Context, id string) (*model.Operation, error) {
	return l.docs.Operation(ctx, id)
}

// Events implements Client.
func (l *Local) Events(ctx context.Context, opID string, afterSeq, first int, stacks ...string) (document.EventPage, error) {
	if first == 0 {
		first = MaxPage
	}
	return l.docs.Events(ctx, opID, &afterSeq, stacks, nil, &first)
}

// RollbackCandidates implements Client.
func (l *Local) RollbackCandidates(ctx context.Context, id, env string) (document.Page[*model.Operation], error) {
	return l.docs.RollbackCandidates(ctx, id, env)
}

// Cancel implements Client.
func (l *Local) Cancel(ctx context.Context, opID string) (*model.Operation, error) {
	op, err := l.docs.Resolver().Mutation().CancelOperation(ctx, opID)
	if err != nil {
		return nil, err
	}
	return op, l.docs.FillOperation(ctx, op)
}

// allPages reads a list page by page into one page holding every item.
func allPages[T any](page func(after *string) (document.Page[T], error)) (document.Page[T], error) {
	var all []T
	var after *string
	for {
		p, err := page(after)
		if err != nil {
			return document.Page[T]{}, err
		}
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return document.ListOf(all), nil
		}
		after = p.NextCursor
	}
}

// checkFirst refuses a page size the API refuses, with the same words on
// both doors.
func checkFirst(first int) error {
	if first < 1 || first > MaxPage {
		return &app.UsageError{Msg: fmt.Sprintf("at most 1 to %d operations can be listed at once, not %d", MaxPage, first)}
	}
	return nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// noOperation is a deployment (or environment) without operations.
func noOperation(id, env string) error {
	if env != "" {
		return fmt.Errorf("deployment %s has no operation in %s yet: %w", id, env, app.ErrNotFound)
	}
	return fmt.Errorf("deployment %s has no operation yet: %w", id, app.ErrNotFound)
}

// Documents reads the API's documents of this store that only the
// commands working on it ask for (templates, registered stacks, plans),
// through the resolvers REST serves them with.
func (l *Local) Documents() *document.Reader { return l.docs }
