package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudplatform/cloud/store"
)

// The records below are read as stored: the documents of the APIs are
// built from them (graph, document), and the server's health and metrics
// count them. They are here so that no caller reaches into the store.

// Deployment is the stored deployment id (ErrNotFound when there is none,
// a usage error when id is not a deployment ID at all).
func (a *App) Deployment(ctx context.Context, id string) (*store.Deployment, error) {
	d, err := a.db.Deployment(ctx, id)
	if err != nil {
		return nil, a.notFound(err, id)
	}
	return d, nil
}

// Revision is revision rev of a deployment's manifest, the one in force
// when rev is 0.
func (a *App) Revision(ctx context.Context, id string, rev int) (*store.ManifestRevision, error) {
	r, err := a.db.Revision(ctx, id, rev)
	if errors.Is(err, store.ErrNotFound) && rev != 0 {
		if _, derr := a.Deployment(ctx, id); derr != nil {
			return nil, derr
		}
		return nil, fmt.Errorf("deployment %s has no revision %d: %w", id, rev, ErrNotFound)
	}
	if err != nil {
		return nil, a.notFound(err, id)
	}
	return r, nil
}

// Revisions are every revision of a deployment's manifest, oldest first.
func (a *App) Revisions(ctx context.Context, id string) ([]store.ManifestRevision, error) {
	return a.db.Revisions(ctx, id)
}

// OperationStacks are the stacks an operation ran, as recorded.
func (a *App) OperationStacks(ctx context.Context, opID string) ([]store.OperationStack, error) {
	return a.db.OperationStacks(ctx, opID)
}

// OperationCounts counts the stored operations by kind and status.
func (a *App) OperationCounts(ctx context.Context) (map[[2]string]int, error) {
	return a.db.OperationCounts(ctx)
}
