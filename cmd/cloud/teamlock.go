package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudplatform/cloud/app"
	syncconfig "github.com/cloudplatform/cloud/sync/config"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/teamlock"
	"github.com/urfave/cli/v2"
)

// requireLockFlag is --require-lock of the commands that take the team lock.
func requireLockFlag() cli.Flag {
	return &cli.BoolFlag{Name: "require-lock", Usage: "fail, rather than warn and go on, when the team lock cannot be taken (sync unreachable)"}
}

// teamLockConfig returns the sync configuration when the team lock applies:
// sync configured and not offline (in its file, or --offline).
// A configuration that cannot be read applies too, with its error: the
// operations it would lock then say why the lock was not taken.
func (e *env) teamLockConfig() (cfg syncconfig.Config, ok bool, err error) {
	if e.offline {
		return cfg, false, nil
	}
	cfg, err = syncconfig.Load(e.home)
	if err != nil {
		return cfg, true, fmt.Errorf("sync configuration (%s): %w", syncconfig.Path(e.home), err)
	}
	if err := cfg.Validate(); err != nil && !errors.Is(err, syncconfig.ErrNotConfigured) {
		return cfg, true, fmt.Errorf("sync configuration (%s): %w", syncconfig.Path(e.home), err)
	}
	return cfg, cfg.Configured() && !cfg.Offline, nil
}

// openTeamTable opens the sync table for the team lock, failing fast: an
// unreachable table must not hang a deploy.
func openTeamTable(ctx context.Context, cfg syncconfig.Config) (*remote.Table, error) {
	return remote.Open(ctx, cfg.Remote(), remote.WithRetry(2, time.Second), remote.WithHTTPTimeout(10*time.Second))
}

// teamLock returns the app's team lock, or nil when sync is not configured
// or offline.
func (e *env) teamLock() app.TeamLock {
	cfg, ok, cerr := e.teamLockConfig()
	if !ok {
		return nil
	}
	return teamlock.New(func(ctx context.Context) (*remote.Table, error) {
		if cerr != nil {
			return nil, cerr
		}
		return openTeamTable(ctx, cfg)
	})
}

// teamTable opens the sync table for `lock status` and `unlock --force`;
// nil when sync is not configured or offline.
func (e *env) teamTable(ctx context.Context) (*remote.Table, error) {
	cfg, ok, err := e.teamLockConfig()
	if !ok || err != nil {
		return nil, err
	}
	return openTeamTable(ctx, cfg)
}

// teamLease is the team lease of a deployment's environment for `lock
// status`: nil when free (or sync is not configured).
func (e *env) teamLease(ctx context.Context, id, env string) (lease *remote.Lease, configured bool, err error) {
	tbl, err := e.teamTable(ctx)
	if err != nil || tbl == nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := tbl.GetLease(ctx, teamlock.Key(id, env))
	if errors.Is(err, remote.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	return &l, true, nil
}

// breakTeamLease breaks the team lease of a deployment's environment for
// `unlock --force`; nil when nobody held it (or sync is not configured).
func (e *env) breakTeamLease(ctx context.Context, id, env string) (*remote.Lease, error) {
	tbl, err := e.teamTable(ctx)
	if err != nil || tbl == nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := tbl.BreakLease(ctx, teamlock.Key(id, env))
	if errors.Is(err, remote.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &l, nil
}
