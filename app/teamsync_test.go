package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudplatform/cloud/app"
)

// TestTeamSync_NotConfigured: without a sync table the status says so,
// what needs the table fails with ErrSyncNotConfigured, nothing is synced
// after a command and the team lock does not apply.
func TestTeamSync_NotConfigured(t *testing.T) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.SyncStatus(ctx)
	if err != nil || st.Configured || st.Local != nil || st.File != a.SyncConfigFile() {
		t.Errorf("SyncStatus = %+v, %v", st, err)
	}
	if _, err := a.SyncNow(ctx, app.SyncPush); !errors.Is(err, app.ErrSyncNotConfigured) {
		t.Errorf("SyncNow: %v", err)
	}
	if _, err := a.Conflicts(ctx, true); !errors.Is(err, app.ErrSyncNotConfigured) {
		t.Errorf("Conflicts: %v", err)
	}
	if _, err := a.ResolveConflict(ctx, "3f2a9c1b", "winner"); !errors.Is(err, app.ErrSyncNotConfigured) {
		t.Errorf("ResolveConflict: %v", err)
	}
	if rep := a.AutoSync(ctx); rep != nil {
		t.Errorf("AutoSync = %+v", rep)
	}
	if tl, err := a.TeamLockStatus(ctx, "DCHAIN1", "dev"); err != nil || tl.Configured || tl.Lease != nil {
		t.Errorf("TeamLockStatus = %+v, %v", tl, err)
	}
	if l, err := a.BreakTeamLock(ctx, "DCHAIN1", "dev"); err != nil || l != nil {
		t.Errorf("BreakTeamLock = %+v, %v", l, err)
	}
}

// TestTeamSync_Checks: a bad mode or keep is the caller's mistake, and
// syncing, resolving and breaking the team lock are for admins.
func TestTeamSync_Checks(t *testing.T) {
	ctx := context.Background()
	a, err := app.Open(ctx, app.Config{Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var ue *app.UsageError
	if _, err := a.SyncNow(ctx, "sideways"); !errors.As(err, &ue) {
		t.Errorf("SyncNow(sideways): %v, want a usage error", err)
	}
	if _, err := a.ResolveConflict(ctx, "x", "both"); !errors.As(err, &ue) {
		t.Errorf("ResolveConflict(keep both): %v, want a usage error", err)
	}
	for _, role := range []app.Role{app.RoleViewer, app.RoleDeployer} {
		cctx := app.WithCaller(ctx, &app.Caller{Subject: "s", Username: "u", Role: role})
		if _, err := a.SyncNow(cctx, app.SyncBoth); !errors.Is(err, app.ErrForbidden) {
			t.Errorf("SyncNow as %s: %v, want forbidden", role, err)
		}
		if _, err := a.BreakTeamLock(cctx, "DCHAIN1", "dev"); !errors.Is(err, app.ErrForbidden) {
			t.Errorf("BreakTeamLock as %s: %v, want forbidden", role, err)
		}
		if _, err := a.SyncStatus(cctx); err != nil {
			t.Errorf("SyncStatus as %s: %v", role, err)
		}
	}
}
