package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/vocab"
)

// TestLock: a manual lock refuses deploys until unlock; an operation of
// another machine is broken only with force; a live local one never.
func TestLock(t *testing.T) {
	ctx := context.Background()
	a, db := openAppStore(t, chain("0"))
	op, err := a.Lock(ctx, "DCHAIN1", "dev", "release freeze")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lock(ctx, "DCHAIN1", "dev", "again"); !errors.Is(err, store.ErrBusy) {
		t.Errorf("second lock: %v, want busy", err)
	}
	_, err = a.Run(ctx, app.RunRequest{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, RunOptions: app.RunOptions{Parallel: 1}})
	var busy *store.BusyError
	if !errors.As(err, &busy) || busy.Holder.ID != op.ID {
		t.Fatalf("deploy under a lock: %v, want busy naming %s", err, op.ID)
	}
	holder, err := a.LockStatus(ctx, "DCHAIN1", "dev")
	if err != nil || holder == nil || holder.Flags["reason"] != "release freeze" {
		t.Fatalf("lock status: %+v %v", holder, err)
	}
	// Another environment is not held.
	if h, _ := a.LockStatus(ctx, "DCHAIN1", "prod"); h != nil {
		t.Errorf("prod held by %s", h.ID)
	}
	if _, err := a.Unlock(ctx, "DCHAIN1", "dev", false); err != nil {
		t.Fatal(err)
	}
	if h, _ := a.LockStatus(ctx, "DCHAIN1", "dev"); h != nil {
		t.Errorf("still held after unlock: %s", h.ID)
	}
	var ue *app.UsageError
	if _, err := a.Unlock(ctx, "DCHAIN1", "dev", false); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not locked") {
		t.Errorf("unlock of a free environment: %v", err)
	}

	// An operation recorded by another machine (as sync will bring).
	remote := &store.Operation{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy, Actor: "bob",
		Host: "build-42", PID: 4242, PIDStart: "1"}
	if err := db.BeginOperation(ctx, remote); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unlock(ctx, "DCHAIN1", "dev", false); !errors.As(err, &ue) || !strings.Contains(err.Error(), "break the lock with --force") {
		t.Errorf("unlock of another machine's operation without --force: %v", err)
	}
	if _, err := a.Unlock(ctx, "DCHAIN1", "dev", true); err != nil {
		t.Fatal(err)
	}
	got, _, err := a.Operation(ctx, remote.ID)
	if err != nil || got.Status != vocab.OpInterrupted || !strings.Contains(got.Error, "lock broken by") {
		t.Errorf("broken operation: %+v %v", got, err)
	}

	// A live operation of this machine (this very process) is never broken.
	local := &store.Operation{DeploymentID: "DCHAIN1", Environment: "dev", Kind: vocab.KindDeploy}
	if err := db.BeginOperation(ctx, local); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unlock(ctx, "DCHAIN1", "dev", true); !errors.As(err, &ue) || !strings.Contains(err.Error(), "cancel it") {
		t.Errorf("unlock --force of a live local operation: %v", err)
	}
}
