package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/sync/teamlock"
	"github.com/cloudplatform/cloud/vocab"
)

// TeamLock is the lock the team shares (a lease in the sync table), taken
// around every operation that changes infrastructure so two machines never
// deploy the same environment at once. sync/teamlock defines it and
// implements it on the sync table (teamlock.Locker): Acquire returns an
// error wrapping ErrTeamLockHeld when someone else holds it.
type TeamLock = teamlock.Locker

// HeldTeamLock is an acquired team lock, kept alive by a heartbeat until
// Release (teamlock.HeldLock).
type HeldTeamLock = teamlock.HeldLock

// takesTeamLock reports whether an operation kind takes the team lock:
// those that change infrastructure. Preview and refresh change nothing.
func takesTeamLock(kind vocab.Kind) bool {
	return kind == vocab.KindDeploy || kind == vocab.KindDestroy || kind == vocab.KindRollback
}

// teamLockHolder names this process for the team lock: the replica (which
// home), the user and the machine.
func (a *App) teamLockHolder(ctx context.Context) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%s@%s", a.db.ReplicaID(), a.actor(ctx), host)
}

// acquireTeamLock takes the team lock for the run, when there is one and
// the kind needs it. It returns nil (and no error) when the lock was not
// taken but the run may go on: then warning says why. It fails when the
// lock is held by someone else, or could not be taken and the request
// requires it.
func (r *run) acquireTeamLock(ctx context.Context) (held HeldTeamLock, warning string, err error) {
	tl := r.app.cfg.TeamLock
	if !takesTeamLock(r.req.Kind) {
		return nil, "", nil
	}
	if tl == nil {
		if r.req.RequireLock {
			return nil, "", fmt.Errorf("%w: sync is not configured (or offline), so the team lock cannot be taken", ErrTeamLockRequired)
		}
		return nil, "", nil
	}
	info := fmt.Sprintf("%s %s/%s", r.req.Kind, r.dep.ID, r.env.Name)
	held, err = tl.Acquire(ctx, r.dep.ID, r.env.Name, r.app.teamLockHolder(ctx), info)
	switch {
	case err == nil:
		return held, "", nil
	case errors.Is(err, ErrTeamLockHeld):
		return nil, "", err
	case r.req.RequireLock:
		return nil, "", fmt.Errorf("%w: %v", ErrTeamLockRequired, err)
	}
	return nil, "team lock not taken: " + err.Error(), nil
}

// Actor returns who this app records as doing things (Config.Actor).
func (a *App) Actor() string { return a.cfg.Actor }

// BrokenTeamLock is the lease `unlock --force` broke, as it is recorded.
type BrokenTeamLock struct {
	Holder   string    `json:"holder"`
	Info     string    `json:"info,omitempty"`
	Token    int64     `json:"token"`
	Acquired time.Time `json:"since"`
	Expires  time.Time `json:"leaseUntil"`
}

// RecordTeamLockBroken records that this machine broke the team lock of a
// deployment's environment: a finished `unlock` operation with a team.lock
// event saying whose lease it was, so history and every replica (through
// sync) show who broke whose lock and when. When the environment is held
// here (the operation the broken lease belonged to), the event goes on
// that operation instead.
func (a *App) RecordTeamLockBroken(ctx context.Context, id, env string, l BrokenTeamLock) (*store.Operation, error) {
	payload := map[string]any{"broken": true, "by": a.cfg.Actor, "holder": l.Holder, "info": l.Info,
		"token": l.Token, "since": l.Acquired.UTC(), "leaseUntil": l.Expires.UTC()}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	_, _, host := store.ProcessIdentity()
	op := &store.Operation{DeploymentID: id, Environment: env, Kind: vocab.KindUnlock, Command: "unlock --force",
		Flags: map[string]any{"brokenToken": l.Token}, Actor: a.cfg.Actor, Host: host, PID: -1}
	err = a.db.BeginOperation(ctx, op)
	var busy *store.BusyError
	if errors.As(err, &busy) {
		holder := busy.Holder
		ev := &store.Event{OperationID: holder.ID, DeploymentID: id, Environment: env, Kind: vocab.EventTeamLock,
			Time: a.cfg.Now().UTC(), Payload: body}
		return &holder, a.db.AppendEvent(ctx, ev)
	}
	if err != nil {
		return nil, err
	}
	ev := &store.Event{OperationID: op.ID, DeploymentID: id, Environment: env, Kind: vocab.EventTeamLock,
		Time: a.cfg.Now().UTC(), Payload: body}
	if err := a.db.AppendEvent(ctx, ev); err != nil {
		return op, err
	}
	return op, a.db.FinishOperation(ctx, op.ID, vocab.OpSucceeded, "", nil)
}
