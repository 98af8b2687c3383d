package document

import (
	"context"

	"github.com/cloudplatform/cloud/graph/model"
)

// The documents of this home's team sync, as REST serves them and cloud
// sync, sync status, sync conflicts and sync resolve print them. Running a
// sync and resolving a conflict change the store; what they answer is a
// document all the same.

// SyncStatus is the team sync of this home: its table and the local
// bookkeeping (GET /sync).
func (d *Reader) SyncStatus(ctx context.Context) (*model.SyncStatus, error) {
	return d.res.Query().SyncStatus(ctx)
}

// SyncNow runs one sync in mode and answers what moved (POST /sync/run).
func (d *Reader) SyncNow(ctx context.Context, mode model.SyncMode) (*model.SyncRun, error) {
	return d.res.Mutation().SyncNow(ctx, &mode)
}

// SyncConflicts are the open conflicts, and with all the resolved ones too
// (GET /sync/conflicts).
func (d *Reader) SyncConflicts(ctx context.Context, all bool) (Page[*model.SyncConflict], error) {
	cs, err := d.res.Query().SyncConflicts(ctx, &all)
	if err != nil {
		return Page[*model.SyncConflict]{}, err
	}
	return ListOf(cs), nil
}

// ResolveConflict closes conflict id (its short or full id) keeping the
// winner or restoring the loser (POST /sync/conflicts/{id}/resolve).
func (d *Reader) ResolveConflict(ctx context.Context, id string, keep model.ConflictKeep) (*model.SyncConflict, error) {
	return d.res.Mutation().ResolveSyncConflict(ctx, id, keep)
}
