package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/hlc"
	syncconfig "github.com/cloudplatform/cloud/sync/config"
	"github.com/cloudplatform/cloud/sync/engine"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/schema"
	"github.com/cloudplatform/cloud/sync/teamlock"
)

// Team sync in the core: the home's sync configuration, the team's table
// (opened with one retry policy), pushing and pulling, the sync status,
// the conflicts and their resolution, the best-effort sync after a
// command, and the team lock's status and breaking. The CLI, GraphQL and
// REST all call these methods.

// SyncSettings is the sync configuration of a home (sync/config).
type SyncSettings = syncconfig.Config

// Defaults of the sync configuration, for help texts.
const (
	DefaultSyncTable    = schema.DefaultTableName
	DefaultSyncInterval = syncconfig.DefaultInterval
)

// ErrSyncNotConfigured is the error of what needs team sync when no table
// is configured (it says to run cloud sync configure).
var ErrSyncNotConfigured = syncconfig.ErrNotConfigured

// ErrSyncUnreachable is wrapped by the error of a sync that could not
// reach the team's table (network, credentials, throttling).
var ErrSyncUnreachable = errors.New("the sync table cannot be reached")

// Retry policy of every call to the team's table: three attempts, at most
// a second apart, ten seconds per HTTP request. Callers bound the whole
// by their context (the team lock by its acquire timeout, the sync after
// a command by AutoSyncTimeout), so a wrong region or endpoint fails in
// seconds rather than retrying for a minute.
const (
	tableAttempts    = 3
	tableMaxBackoff  = time.Second
	tableHTTPTimeout = 10 * time.Second
)

// SyncConfigFile is where the home's sync configuration lives.
func (a *App) SyncConfigFile() string { return syncconfig.Path(a.cfg.Home) }

// SyncConfig returns the sync configuration in effect: the file with the
// CLOUD_SYNC_* environment variables over it. It is not validated.
func (a *App) SyncConfig() (SyncSettings, error) { return syncconfig.Load(a.cfg.Home) }

// SyncConfigChange is what ConfigureSync changes; nil fields keep their
// value, an empty string clears an optional one.
type SyncConfigChange struct {
	Table, Region, Endpoint, Profile *string
	Interval                         *time.Duration
}

// ConfigureSync applies ch to the configuration file (environment
// overrides are not written into it), validates and saves it. Nothing is
// contacted.
func (a *App) ConfigureSync(ctx context.Context, ch SyncConfigChange) (SyncSettings, error) {
	if err := RequireAdmin(ctx, "configure team sync"); err != nil {
		return SyncSettings{}, err
	}
	cfg, err := syncconfig.LoadFile(a.cfg.Home)
	if err != nil {
		return cfg, err
	}
	for _, f := range []struct{ from, to *string }{{ch.Table, &cfg.Table}, {ch.Region, &cfg.Region}, {ch.Endpoint, &cfg.Endpoint}, {ch.Profile, &cfg.Profile}} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if ch.Interval != nil {
		cfg.Interval = syncconfig.Duration(*ch.Interval)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("sync configure: %v", err)
	}
	return cfg, syncconfig.Save(a.cfg.Home, cfg)
}

// syncSettings returns the validated configuration: ErrSyncNotConfigured
// without a table, an error naming the file when a field is bad.
func (a *App) syncSettings() (SyncSettings, error) {
	cfg, err := a.SyncConfig()
	if err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		if errors.Is(err, syncconfig.ErrNotConfigured) {
			return cfg, err
		}
		return cfg, fmt.Errorf("sync configuration (%s): %w", a.SyncConfigFile(), err)
	}
	return cfg, nil
}

// syncOn returns the validated configuration when sync runs here:
// configured, and offline neither in the file nor in Config.Offline. ok
// is false (and err nil) when it does not; a configuration that cannot be
// read or is invalid is on, with its error, so what needs it says why.
func (a *App) syncOn() (cfg SyncSettings, ok bool, err error) {
	if a.cfg.Offline {
		return cfg, false, nil
	}
	cfg, err = a.syncSettings()
	switch {
	case errors.Is(err, syncconfig.ErrNotConfigured):
		return cfg, false, nil
	case err != nil:
		return cfg, true, err
	}
	return cfg, !cfg.Offline, nil
}

// OpenTeamTable opens the configured table with the one retry policy of
// calls to it. It does not contact DynamoDB. The error wraps
// ErrSyncNotConfigured when there is no table to open.
func (a *App) OpenTeamTable(ctx context.Context) (*remote.Table, SyncSettings, error) {
	cfg, err := a.syncSettings()
	if err != nil {
		return nil, cfg, err
	}
	tbl, err := openTable(ctx, cfg)
	return tbl, cfg, err
}

func openTable(ctx context.Context, cfg SyncSettings) (*remote.Table, error) {
	tbl, err := remote.Open(ctx, cfg.Remote(), remote.WithRetry(tableAttempts, tableMaxBackoff), remote.WithHTTPTimeout(tableHTTPTimeout))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyncUnreachable, err)
	}
	return tbl, nil
}

// syncEngine returns a sync engine on the store and the configured table.
func (a *App) syncEngine(ctx context.Context) (*engine.Engine, SyncSettings, error) {
	tbl, cfg, err := a.OpenTeamTable(ctx)
	if err != nil {
		return nil, cfg, err
	}
	return engine.New(a.db, tbl, engine.Options{}), cfg, nil
}

// BackgroundSync returns the sync engine `cloud serve` runs beside the
// server (engine.Run) with the configuration's interval, or nil when sync
// is not configured or offline.
func (a *App) BackgroundSync(ctx context.Context) (*engine.Engine, SyncSettings, error) {
	cfg, ok, err := a.syncOn()
	if !ok || err != nil {
		return nil, cfg, err
	}
	return a.syncEngine(ctx)
}

// SyncTableCheck is what CheckSyncTable found.
type SyncTableCheck struct {
	Table, Region, Endpoint string
	OK                      bool
	// Problems are the differences from the schema (when not OK).
	Problems []string
	// TTL is the table's TTL status ("ENABLED", or how it is wrong), ""
	// when not OK or unknown.
	TTL string
}

// CheckSyncTable reads the table's description and compares it with the
// sync schema. An unreachable table is an error; a table that differs
// (or is missing) is a check that is not OK.
func (a *App) CheckSyncTable(ctx context.Context) (SyncTableCheck, error) {
	tbl, cfg, err := a.OpenTeamTable(ctx)
	if err != nil {
		return SyncTableCheck{}, err
	}
	res := SyncTableCheck{Table: cfg.Table, Region: cfg.Region, Endpoint: cfg.Endpoint, OK: true}
	err = tbl.Check(ctx)
	var se *remote.SchemaError
	switch {
	case errors.As(err, &se):
		res.OK, res.Problems = false, se.Problems
	case errors.Is(err, remote.ErrTableMissing):
		res.OK, res.Problems = false, []string{"the table does not exist: create it with the platform stack (or cloud sync init-table for development)"}
	case err != nil:
		return res, fmt.Errorf("cannot check the sync table: %w", err)
	}
	if res.OK {
		if ttl, attr, err := tbl.TTLStatus(ctx); err == nil {
			res.TTL = ttl
			if ttl == "ENABLED" && attr != schema.TTLAttribute {
				res.TTL = fmt.Sprintf("%s on %s, want %s", ttl, attr, schema.TTLAttribute)
			}
		}
	}
	return res, nil
}

// InitSyncTable creates the configured table as the sync schema describes
// it (development; production tables come from the platform stack) and
// returns its TTL status ("unknown" when it cannot be read).
func (a *App) InitSyncTable(ctx context.Context) (table, ttl string, err error) {
	if err := RequireAdmin(ctx, "create the sync table"); err != nil {
		return "", "", err
	}
	tbl, cfg, err := a.OpenTeamTable(ctx)
	if err != nil {
		return "", "", err
	}
	if err := tbl.CreateTable(ctx); err != nil {
		return cfg.Table, "", err
	}
	ttl, _, err = tbl.TTLStatus(ctx)
	if err != nil {
		ttl = "unknown"
	}
	return cfg.Table, ttl, nil
}

// SyncMode is what SyncNow does.
type SyncMode string

const (
	// SyncBoth pushes and pulls, round after round, until nothing moves.
	SyncBoth SyncMode = "sync"
	// SyncPush writes the local changes waiting in the outbox.
	SyncPush SyncMode = "push"
	// SyncPull applies the team's changes from the change feed.
	SyncPull SyncMode = "pull"
	// SyncReconcile compares the whole table with the local store.
	SyncReconcile SyncMode = "reconcile"
)

// SyncRun is what SyncNow moved. Which counts a mode fills: push Pushed,
// Lost; pull Read, Pulled, Reconciled; reconcile Scanned, Pulled, Pushed;
// sync Rounds, Pushed, Pulled, Lost, Read, Quiet. Every mode fills
// Conflicts (new ones) and OpenConflicts.
type SyncRun struct {
	Mode          SyncMode
	Pushed        int
	Lost          int // pushes refused: the table held a newer version
	Read          int
	Pulled        int // changes applied locally
	Scanned       int
	Conflicts     int
	Reconciled    bool // the pull was a full reconciliation
	Rounds        int
	Quiet         bool // sync: nothing moved in the last round
	OpenConflicts int
}

// SyncNow runs one push, pull, reconcile or sync (both until quiet) with
// the configured table. It is for admins.
func (a *App) SyncNow(ctx context.Context, mode SyncMode) (SyncRun, error) {
	run := SyncRun{Mode: mode}
	switch mode {
	case SyncBoth, SyncPush, SyncPull, SyncReconcile:
	default:
		return run, usagef("sync mode %q: want sync, push, pull or reconcile", mode)
	}
	if err := RequireAdmin(ctx, string(mode)+" team sync"); err != nil {
		return run, err
	}
	eng, _, err := a.syncEngine(ctx)
	if err != nil {
		return run, err
	}
	switch mode {
	case SyncPush:
		st, err := eng.Push(ctx)
		if err != nil {
			return run, err
		}
		run.Pushed, run.Lost, run.Conflicts = st.Pushed, st.Lost, st.Conflicts
	case SyncPull:
		st, err := eng.Pull(ctx)
		if err != nil {
			return run, err
		}
		run.Read, run.Pulled, run.Conflicts, run.Reconciled = st.Read, st.Applied, st.Conflicts, st.Reconciled
	case SyncReconcile:
		st, err := eng.Reconcile(ctx)
		if err != nil {
			return run, err
		}
		run.Scanned, run.Pulled, run.Pushed, run.Conflicts = st.Scanned, st.Pulled, st.Pushed, st.Conflicts
	default:
		st, err := eng.Sync(ctx)
		if err != nil {
			return run, err
		}
		run.Rounds, run.Pushed, run.Pulled, run.Quiet = st.Rounds, st.Push.Pushed, st.Pull.Applied, st.Quiet
		run.Lost, run.Read = st.Push.Lost, st.Pull.Read
		run.Conflicts = st.Push.Conflicts + st.Pull.Conflicts
	}
	run.OpenConflicts = eng.OpenConflicts()
	return run, nil
}

// SyncBookkeeping is the local record of syncing (engine.Status).
type SyncBookkeeping = engine.Status

// SyncStatus is the team sync of this home: its configuration and the
// local bookkeeping.
type SyncStatus struct {
	Configured bool
	// Offline: configured, but paused (in the file or for this process).
	Offline                 bool
	Table, Region, Endpoint string
	Interval                time.Duration
	File                    string
	// Local is the bookkeeping; nil when not configured.
	Local *SyncBookkeeping
}

// SyncStatus reads the configuration and the local bookkeeping: rows
// waiting to be pushed, the last push, pull and reconciliation, open
// conflicts. The table is not contacted. An invalid configuration is an
// error; no configuration is a status that says so.
func (a *App) SyncStatus(ctx context.Context) (SyncStatus, error) {
	st := SyncStatus{File: a.SyncConfigFile()}
	eng, cfg, err := a.syncEngine(ctx)
	if errors.Is(err, ErrSyncNotConfigured) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	st.Configured, st.Offline = true, cfg.Offline || a.cfg.Offline
	st.Table, st.Region, st.Endpoint, st.Interval = cfg.Table, cfg.Region, cfg.Endpoint, cfg.SyncInterval()
	local, err := eng.Status(ctx)
	if err != nil {
		return st, err
	}
	st.Local = &local
	return st, nil
}

// SyncConflict is a concurrent edit whose losing version was kept: both
// versions' stamps and the fields in which their payloads differ.
type SyncConflict struct {
	ID         string          `json:"id"`
	Short      string          `json:"short"`
	Entity     string          `json:"entity"`
	Key        json.RawMessage `json:"key"`
	Winner     SyncVersion     `json:"winner"`
	Loser      SyncVersion     `json:"loser"`
	Fields     []SyncFieldDiff `json:"fields"`
	DetectedAt time.Time       `json:"detectedAt"`
	ResolvedAt *time.Time      `json:"resolvedAt,omitempty"`
	Resolution string          `json:"resolution,omitempty"`
}

// SyncVersion is one version of a conflicting row.
type SyncVersion struct {
	HLC     string    `json:"hlc"`
	Time    time.Time `json:"time"`
	Replica string    `json:"replica"`
	Deleted bool      `json:"deleted,omitempty"`
}

// SyncFieldDiff is a field whose value differs between the versions.
type SyncFieldDiff struct {
	Name   string `json:"name"`
	Winner any    `json:"winner"`
	Loser  any    `json:"loser"`
}

// ConflictShortID is a conflict's short name: full ids hold JSON keys and
// are awkward to type.
func ConflictShortID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}

// syncBookkeeping are payload fields that differ between any two versions
// and say nothing about the content.
var syncBookkeeping = map[string]bool{"version": true, "hlc": true, "replica_id": true}

func describeConflict(c store.Conflict) SyncConflict {
	v := func(ch store.Change) SyncVersion {
		var p struct {
			Deleted int `json:"deleted"`
		}
		_ = json.Unmarshal(ch.Payload, &p)
		out := SyncVersion{HLC: ch.HLC, Replica: ch.Replica, Deleted: p.Deleted != 0}
		if ts, err := hlc.Parse(ch.HLC); err == nil {
			out.Time = ts.Time()
		}
		return out
	}
	out := SyncConflict{ID: c.ID, Short: ConflictShortID(c.ID), Entity: c.Entity, Key: c.Key, Winner: v(c.Winner), Loser: v(c.Loser),
		DetectedAt: c.DetectedAt, ResolvedAt: c.ResolvedAt, Resolution: c.Resolution, Fields: []SyncFieldDiff{}}
	var wm, lm map[string]any
	_ = json.Unmarshal(c.Winner.Payload, &wm)
	_ = json.Unmarshal(c.Loser.Payload, &lm)
	names := map[string]bool{}
	for k := range wm {
		names[k] = true
	}
	for k := range lm {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		if !syncBookkeeping[k] {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		wv, _ := json.Marshal(wm[k])
		lv, _ := json.Marshal(lm[k])
		if string(wv) != string(lv) {
			out.Fields = append(out.Fields, SyncFieldDiff{Name: k, Winner: wm[k], Loser: lm[k]})
		}
	}
	return out
}

// requireSyncConfigured fails with ErrSyncNotConfigured when sync is not
// configured: conflicts only come from syncing, and an answer that
// pretended otherwise would hide a missing configuration.
func (a *App) requireSyncConfigured() error {
	cfg, err := a.SyncConfig()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); errors.Is(err, syncconfig.ErrNotConfigured) {
		return err
	}
	return nil
}

// Conflicts returns the open conflicts (all: the resolved ones too),
// newest first.
func (a *App) Conflicts(ctx context.Context, all bool) ([]SyncConflict, error) {
	if err := a.requireSyncConfigured(); err != nil {
		return nil, err
	}
	cs, err := a.db.Conflicts(ctx, all)
	if err != nil {
		return nil, err
	}
	out := make([]SyncConflict, 0, len(cs))
	for _, c := range cs {
		out = append(out, describeConflict(c))
	}
	return out, nil
}

// Conflict returns one conflict, open or resolved, by its full id, its
// short id, or a prefix of the short id that names only one.
func (a *App) Conflict(ctx context.Context, idOrShort string) (SyncConflict, error) {
	cs, err := a.Conflicts(ctx, true)
	if err != nil {
		return SyncConflict{}, err
	}
	var match []SyncConflict
	for _, c := range cs {
		if c.ID == idOrShort || c.Short == idOrShort {
			return c, nil
		}
		if len(idOrShort) >= 4 && strings.HasPrefix(c.Short, idOrShort) {
			match = append(match, c)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return SyncConflict{}, fmt.Errorf("no conflict %q (see cloud sync conflicts --all): %w", idOrShort, ErrNotFound)
	}
	return SyncConflict{}, usagef("conflict %q is ambiguous: %d conflicts' short ids start with it", idOrShort, len(match))
}

// ResolveConflict closes a conflict: keep "winner" changes nothing, keep
// "loser" writes the losing version again as a new local change, which
// wins everywhere at the next sync. It returns the conflict as resolved.
func (a *App) ResolveConflict(ctx context.Context, idOrShort, keep string) (SyncConflict, error) {
	if keep != "winner" && keep != "loser" {
		return SyncConflict{}, usagef("keep must be winner or loser, not %q", keep)
	}
	c, err := a.Conflict(ctx, idOrShort)
	if err != nil {
		return c, err
	}
	if err := RequireAdmin(ctx, "resolve sync conflict "+c.Short); err != nil {
		return c, err
	}
	if c.ResolvedAt != nil {
		return c, fmt.Errorf("conflict %s was resolved (%s) at %s: %w", c.Short, c.Resolution, c.ResolvedAt.UTC().Format(time.RFC3339), ErrConflict)
	}
	if err := a.db.ResolveConflict(ctx, c.ID, keep == "loser"); err != nil {
		return c, err
	}
	return a.Conflict(ctx, c.ID)
}

// AutoSyncTimeout bounds the sync after a command: a command must not
// hang on an unreachable table.
const AutoSyncTimeout = 10 * time.Second

// AutoSyncReport is what AutoSync did.
type AutoSyncReport struct {
	Table string
	// Pending is how many outbox entries waited.
	Pending int
	Run     SyncRun
	// Err is why they were not pushed; they wait for the next sync.
	Err error
}

// AutoSync pushes what a command committed, and pulls what others did,
// when sync is on and the outbox holds changes: best effort, bounded by
// AutoSyncTimeout, also after an interrupted command (what it recorded is
// worth sharing). It returns nil when it did not try.
func (a *App) AutoSync(ctx context.Context) *AutoSyncReport {
	cfg, ok, err := a.syncOn()
	if !ok || err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AutoSyncTimeout)
	defer cancel()
	n, err := a.db.PendingOutbox(ctx)
	if err != nil || n == 0 {
		return nil
	}
	rep := &AutoSyncReport{Table: cfg.Table, Pending: n}
	rep.Run, rep.Err = a.SyncNow(ctx, SyncBoth)
	return rep
}

// TeamLease is a team lock's lease in the sync table.
type TeamLease = remote.Lease

// TeamLockState is the team lock of an environment.
type TeamLockState struct {
	// Configured: sync is on, so the team lock applies.
	Configured bool
	// Lease is its holder's lease; nil when free.
	Lease *TeamLease
}

// teamTable opens the table for the team lock: nil (and no error) when
// sync is not on.
func (a *App) teamTable(ctx context.Context) (*remote.Table, error) {
	cfg, ok, err := a.syncOn()
	if !ok || err != nil {
		return nil, err
	}
	return openTable(ctx, cfg)
}

// defaultTeamLock is the team lock on the configured table, or nil when
// sync is not on. A configuration that cannot be read gives a lock whose
// every acquisition fails with its error, so the operations it would lock
// say why it was not taken.
func (a *App) defaultTeamLock() TeamLock {
	cfg, ok, cerr := a.syncOn()
	if !ok {
		return nil
	}
	return teamlock.New(func(ctx context.Context) (*remote.Table, error) {
		if cerr != nil {
			return nil, cerr
		}
		return openTable(ctx, cfg)
	})
}

// TeamLockStatus reads the team lease of a deployment's environment.
func (a *App) TeamLockStatus(ctx context.Context, id, env string) (TeamLockState, error) {
	if err := CheckDeploymentID(id); err != nil {
		return TeamLockState{}, err
	}
	tbl, err := a.teamTable(ctx)
	if err != nil || tbl == nil {
		return TeamLockState{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, tableHTTPTimeout)
	defer cancel()
	l, err := tbl.GetLease(ctx, teamlock.Key(id, env))
	if errors.Is(err, remote.ErrNotFound) {
		return TeamLockState{Configured: true}, nil
	}
	if err != nil {
		return TeamLockState{Configured: true}, fmt.Errorf("read the team lock: %w", err)
	}
	return TeamLockState{Configured: true, Lease: &l}, nil
}

// BreakTeamLock breaks the team lease of a deployment's environment
// whoever holds it, and records whose it was (RecordTeamLockBroken), so
// history on every replica shows who broke whose lock. It returns the
// broken lease, nil when nobody held it or sync is not on; the error of
// recording comes with the lease. It is for admins.
func (a *App) BreakTeamLock(ctx context.Context, id, env string) (*TeamLease, error) {
	if err := CheckDeploymentID(id); err != nil {
		return nil, err
	}
	if err := a.authorizeEnv(ctx, accessAdmin, "break the team lock of", id, env); err != nil {
		return nil, err
	}
	tbl, err := a.teamTable(ctx)
	if err != nil || tbl == nil {
		return nil, err
	}
	bctx, cancel := context.WithTimeout(ctx, tableHTTPTimeout)
	defer cancel()
	l, err := tbl.BreakLease(bctx, teamlock.Key(id, env))
	if errors.Is(err, remote.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("break the team lock: %w", err)
	}
	if _, err := a.RecordTeamLockBroken(ctx, id, env, BrokenTeamLock{Holder: l.Holder, Info: l.Info, Token: l.Token,
		Acquired: l.Acquired, Expires: l.Expires}); err != nil {
		return &l, fmt.Errorf("%w: %w", errNotRecorded, err)
	}
	return &l, nil
}

// errNotRecorded is wrapped by BreakTeamLock's error when the lease was
// broken but the break could not be recorded.
var errNotRecorded = errors.New("the broken team lock could not be recorded")

// IsNotRecorded reports whether BreakTeamLock's err says the lease was
// broken but not recorded (a warning, not a failure).
func IsNotRecorded(err error) bool { return errors.Is(err, errNotRecorded) }
