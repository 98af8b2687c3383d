package main

// cloud sync and its subcommands: options, run functions and printers over the core's team sync (app/teamsync.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloudplatform/cloud/app"
	"github.com/cloudplatform/cloud/client"
	"github.com/cloudplatform/cloud/graph/model"
)

// syncOptions are what `cloud sync`, `cloud sync push`, `pull` and
// `reconcile` run with.
type syncOptions struct {
	App  func() (*app.App, error)
	Mode app.SyncMode
}

// syncCommand groups the team-sync commands. Without a subcommand it
// pushes and pulls until nothing moves; runF is that action's (the
// subcommands are built with their own, nil here).
func syncCommand(e *env, runF func(context.Context, *syncOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "share deployments with the team through a DynamoDB table",
		// These commands sync (or configure) themselves: no second sync
		// after them.
		Before: func(*cli.Context) error { e.noAutoSync = true; return nil },
		Description: `The local store stays the source of truth; a DynamoDB table in the team's AWS
account is the shared copy. Configure it once per machine, then check it.
Every other command that commits changes pushes them (and pulls) right
after, best effort and bounded to a few seconds; --offline skips that.
Without a subcommand, cloud sync pushes local changes and pulls the team's,
round after round until nothing moves (the first time, a full
reconciliation). Concurrent edits of one row are settled last writer wins;
the losing version is kept as a conflict (cloud sync conflicts).

Examples:
   cloud sync configure --table cloud-platform --region eu-west-1
   cloud sync check
   cloud sync
   cloud sync status`,
		Action: func(c *cli.Context) error {
			return syncAction(c, e, app.SyncBoth, runF)
		},
		Subcommands: []*cli.Command{
			syncConfigureCommand(e, nil),
			syncInitTableCommand(e, nil),
			syncCheckCommand(e, nil),
			syncRunCommand(e, app.SyncPush, "push local changes to the team's table", `Writes every local change waiting in the outbox to the table. A row the
table holds a newer version of is not written: the newer version is applied
locally and the local one kept as a conflict.

Examples:
   cloud sync push`, nil),
			syncRunCommand(e, app.SyncPull, "apply the team's changes from the table", `Reads the table's change feed from where the last pull stopped (minus an
overlap window of 2 minutes) and applies every change. The first pull, and
one after more than 80 days away, is a full reconciliation.

Examples:
   cloud sync pull`, nil),
			syncRunCommand(e, app.SyncReconcile, "compare the whole table with the local store", `Reads the whole table and applies every item, then writes every local row
the table lacks or holds an older version of. It is how a new machine
starts, and the safety net for anything the change feed missed. It reads
(and is billed for) the whole table.

Examples:
   cloud sync reconcile`, nil),
			syncStatusCommand(e, nil),
			syncConflictsCommand(e, nil),
			syncResolveCommand(e, nil),
		},
	}
}

// syncConfigJSON is how the configuration prints.
type syncConfigJSON struct {
	Configured bool   `json:"configured"`
	Table      string `json:"table,omitempty"`
	Region     string `json:"region,omitempty"`
	Endpoint   string `json:"endpoint,omitempty"`
	Profile    string `json:"profile,omitempty"`
	Interval   string `json:"interval,omitempty"`
	Offline    bool   `json:"offline,omitempty"`
	File       string `json:"file"`
}

func syncConfigCommandOutput(e *env, a *app.App, c app.SyncSettings) error {
	v := syncConfigJSON{Configured: c.Configured(), Table: c.Table, Region: c.Region, Endpoint: c.Endpoint,
		Profile: c.Profile, Offline: c.Offline, File: a.SyncConfigFile()}
	if c.Configured() {
		v.Interval = c.SyncInterval().String()
	}
	return e.emit(v, func(w io.Writer) {
		if !c.Configured() {
			fmt.Fprintf(w, "sync is not configured (%s)\n", v.File)
			return
		}
		or := func(s, def string) string {
			if s == "" {
				return def
			}
			return s
		}
		fmt.Fprintf(w, "table\t%s\n", c.Table)
		fmt.Fprintf(w, "region\t%s\n", or(c.Region, "(AWS default)"))
		fmt.Fprintf(w, "endpoint\t%s\n", or(c.Endpoint, "(AWS)"))
		fmt.Fprintf(w, "profile\t%s\n", or(c.Profile, "(default credentials)"))
		fmt.Fprintf(w, "interval\t%s\n", v.Interval)
		if c.Offline {
			fmt.Fprintf(w, "offline\tyes\n")
		}
		fmt.Fprintf(w, "file\t%s\n", v.File)
	})
}

// syncConfigureOptions are what `cloud sync configure` runs with.
type syncConfigureOptions struct {
	App func() (*app.App, error)
	// Change holds the flags given; none given prints the configuration.
	Change app.SyncConfigChange
}

func syncConfigureCommand(e *env, runF func(context.Context, *syncConfigureOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "configure",
		Usage: "set the team's sync table, or show the current configuration",
		Description: `Writes $CLOUD_HOME/sync.json (mode 0600) and prints it. Flags not given keep
their value; an empty value clears an optional one (--endpoint ""). Without
flags, prints the configuration in effect: CLOUD_SYNC_TABLE,
CLOUD_SYNC_REGION, CLOUD_SYNC_ENDPOINT and CLOUD_SYNC_PROFILE override the
file. Nothing is contacted: run cloud sync check afterwards.

Examples:
   cloud sync configure --table cloud-platform --region eu-west-1 --profile ops
   cloud sync configure --table dev-sync --region us-east-1 --endpoint http://127.0.0.1:8000
   cloud sync configure`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "table", Usage: "DynamoDB table name (" + app.DefaultSyncTable + " in the platform stack)"},
			&cli.StringFlag{Name: "region", Usage: "AWS region of the table, e.g. eu-west-1"},
			&cli.StringFlag{Name: "endpoint", Usage: "DynamoDB URL instead of AWS, e.g. a local server http://127.0.0.1:8000"},
			&cli.StringFlag{Name: "profile", Usage: "AWS shared-config profile for credentials"},
			&cli.DurationFlag{Name: "interval", Usage: "how often the background sync runs", DefaultText: app.DefaultSyncInterval.String()},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			opts := &syncConfigureOptions{App: e.lazyApp(c)}
			ch := &opts.Change
			for f, field := range map[string]**string{"table": &ch.Table, "region": &ch.Region, "endpoint": &ch.Endpoint, "profile": &ch.Profile} {
				if c.IsSet(f) {
					v := c.String(f)
					*field = &v
				}
			}
			if c.IsSet("interval") {
				d := c.Duration("interval")
				ch.Interval = &d
			}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.syncConfigureRun(c.Context, opts)
		},
	}
}

// syncConfigureRun saves the change, if any, and prints the configuration
// in effect.
func (e *env) syncConfigureRun(ctx context.Context, opts *syncConfigureOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	ch := opts.Change
	if ch.Table == nil && ch.Region == nil && ch.Endpoint == nil && ch.Profile == nil && ch.Interval == nil {
		cfg, err := a.SyncConfig()
		if err != nil {
			return err
		}
		return syncConfigCommandOutput(e, a, cfg)
	}
	cfg, err := a.ConfigureSync(ctx, ch)
	if err != nil {
		return err
	}
	e.status("saved %s", a.SyncConfigFile())
	return syncConfigCommandOutput(e, a, cfg)
}

// syncTableOptions are what `cloud sync init-table` and `cloud sync check`
// run with.
type syncTableOptions struct {
	App func() (*app.App, error)
}

// syncTableAction is the Action of init-table and check: no arguments.
func (e *env) syncTableAction(runF, run func(context.Context, *syncTableOptions) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		if _, err := args(c); err != nil {
			return err
		}
		opts := &syncTableOptions{App: e.lazyApp(c)}
		if runF != nil {
			return runF(c.Context, opts)
		}
		return run(c.Context, opts)
	}
}

func syncInitTableCommand(e *env, runF func(context.Context, *syncTableOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "init-table",
		Usage: "create the configured sync table (development; production uses the platform stack)",
		Description: `Creates the table as the sync schema describes it (keys pk/sk, the change-feed
index "changes" on fpk/fsk, on-demand billing, TTL on expiresAt) and waits
until it is active. An existing table that matches is left alone; one that
does not is reported and not changed. For development and local servers:
in AWS the platform stack creates the table, with point-in-time recovery,
encryption and deletion protection.

Examples:
   cloud sync init-table`,
		Action: e.syncTableAction(runF, e.syncInitTableRun),
	}
}

// syncInitTableRun creates the sync table and waits until it is active.
func (e *env) syncInitTableRun(ctx context.Context, opts *syncTableOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	a, err := opts.App()
	if err != nil {
		return err
	}
	if _, _, err := a.OpenTeamTable(ctx); err != nil {
		return err
	}
	e.status("note: for development; production tables come from the platform stack")
	table, ttl, err := a.InitSyncTable(ctx)
	if err != nil {
		return err
	}
	return e.emit(map[string]any{"table": table, "status": "ACTIVE", "ttl": ttl}, func(w io.Writer) {
		fmt.Fprintf(w, "table %s is ready (TTL %s)\n", table, ttl)
	})
}

func syncCheckCommand(e *env, runF func(context.Context, *syncTableOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check that the configured sync table is reachable and matches the schema",
		Description: `Reads the table's description and compares it with the sync schema: keys,
the change-feed index and its projection. Prints OK, or every difference
and exits 1. An unreachable endpoint, a wrong region or missing
credentials fail within seconds with the cause.

Examples:
   cloud sync check
   cloud sync check -o json`,
		Action: e.syncTableAction(runF, e.syncCheckRun),
	}
}

// syncCheckRun compares the table with the sync schema and fails when
// they differ.
func (e *env) syncCheckRun(ctx context.Context, opts *syncTableOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	a, err := opts.App()
	if err != nil {
		return err
	}
	chk, err := a.CheckSyncTable(ctx)
	if err != nil {
		return err
	}
	res := map[string]any{"table": chk.Table, "region": chk.Region, "endpoint": chk.Endpoint, "ok": chk.OK}
	if !chk.OK {
		res["problems"] = chk.Problems
	}
	if chk.TTL != "" {
		res["ttl"] = chk.TTL
	}
	if err := e.emit(res, func(w io.Writer) {
		if chk.OK {
			fmt.Fprintf(w, "table %s: OK", chk.Table)
			if chk.TTL != "" && chk.TTL != "ENABLED" {
				fmt.Fprintf(w, " (TTL %s: expired tombstones and leases are kept)", chk.TTL)
			}
			fmt.Fprintln(w)
			return
		}
		fmt.Fprintf(w, "table %s: NOT OK\n", chk.Table)
		for _, p := range chk.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
	}); err != nil {
		return err
	}
	if !chk.OK {
		return &exitError{code: 1, err: errSilent}
	}
	return nil
}

// notConfigured turns "sync is not configured" into a usage error (exit
// 2) that says what to run.
func notConfigured(err error) error {
	if errors.Is(err, app.ErrSyncNotConfigured) {
		return usageError("%v (see cloud sync configure --help)", err)
	}
	return err
}

func syncRunCommand(e *env, mode app.SyncMode, usage, description string, runF func(context.Context, *syncOptions) error) *cli.Command {
	return &cli.Command{
		Name:        string(mode),
		Usage:       usage,
		Description: description,
		Action: func(c *cli.Context) error {
			return syncAction(c, e, mode, runF)
		},
	}
}

// syncAction is the Action of cloud sync and of push, pull and reconcile:
// no arguments.
func syncAction(c *cli.Context, e *env, mode app.SyncMode, runF func(context.Context, *syncOptions) error) error {
	if _, err := args(c); err != nil {
		return err
	}
	opts := &syncOptions{App: e.lazyApp(c), Mode: mode}
	if runF != nil {
		return runF(c.Context, opts)
	}
	return e.syncRun(c.Context, opts)
}

// syncRun runs one of push, pull, reconcile or sync (both until quiet) and
// prints what moved.
func (e *env) syncRun(ctx context.Context, opts *syncOptions) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	a, err := opts.App()
	if err != nil {
		return err
	}
	st, err := client.NewLocal(a).Documents().SyncNow(ctx, model.SyncMode(opts.Mode))
	if err != nil {
		return notConfigured(err)
	}
	var line string
	switch app.SyncMode(st.Mode) {
	case app.SyncPush:
		line = fmt.Sprintf("pushed %d, %d refused (the table had newer), %d new conflicts", st.Pushed, st.Lost, st.Conflicts)
	case app.SyncPull:
		line = fmt.Sprintf("read %d, applied %d, %d new conflicts", st.Read, st.Pulled, st.Conflicts)
		if st.Reconciled {
			line += " (full reconciliation)"
		}
	case app.SyncReconcile:
		line = fmt.Sprintf("scanned %d, pulled %d, pushed %d, %d new conflicts", st.Scanned, st.Pulled, st.Pushed, st.Conflicts)
	default:
		line = fmt.Sprintf("pushed %d, pulled %d, %d new conflicts", st.Pushed, st.Pulled, st.Conflicts)
		if !st.Quiet {
			line += fmt.Sprintf(" (still moving after %d rounds: run it again)", st.Rounds)
		}
	}
	return e.emit(st, func(w io.Writer) {
		fmt.Fprintln(w, line)
		if st.OpenConflicts > 0 {
			fmt.Fprintf(w, "%d open conflicts: see cloud sync conflicts\n", st.OpenConflicts)
		}
	})
}

// syncStatusOptions are what `cloud sync status` runs with.
type syncStatusOptions struct {
	App func() (*app.App, error)
	// Now is the clock the ages of the last push and pull are told by.
	Now func() time.Time
}

func syncStatusCommand(e *env, runF func(context.Context, *syncStatusOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show pending changes, the last push and pull, and open conflicts",
		Description: `Reads the local bookkeeping only (the table is not contacted): how many local
rows wait to be pushed, when the last push, pull and full reconciliation
succeeded, and the open conflicts. -o json prints the document GET
/api/v1/sync serves.

Examples:
   cloud sync status
   cloud sync status -o json`,
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			opts := &syncStatusOptions{App: e.lazyApp(c), Now: time.Now}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.syncStatusRun(c.Context, opts)
		},
	}
}

// syncStatusRun prints the local sync bookkeeping.
func (e *env) syncStatusRun(ctx context.Context, opts *syncStatusOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	s, err := client.NewLocal(a).Documents().SyncStatus(ctx)
	if err != nil {
		return err
	}
	if !s.Configured {
		return notConfigured(app.ErrSyncNotConfigured)
	}
	now := opts.Now()
	return e.emit(s, func(w io.Writer) {
		when := func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.DateTime), now.Sub(*t).Round(time.Second))
		}
		fmt.Fprintf(w, "table\t%s\n", s.Table)
		fmt.Fprintf(w, "replica\t%s\n", s.Replica)
		fmt.Fprintf(w, "pending\t%d\n", s.Pending)
		fmt.Fprintf(w, "last push\t%s\n", when(s.LastPush))
		fmt.Fprintf(w, "last pull\t%s\n", when(s.LastPull))
		fmt.Fprintf(w, "last reconcile\t%s\n", when(s.LastReconcile))
		fmt.Fprintf(w, "conflicts\t%d open\n", s.Conflicts)
	})
}

// clip shortens a value for the table view.
func clip(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// syncConflictsOptions are what `cloud sync conflicts` runs with.
type syncConflictsOptions struct {
	App func() (*app.App, error)
	// All includes the resolved conflicts.
	All bool
}

func syncConflictsCommand(e *env, runF func(context.Context, *syncConflictsOptions) error) *cli.Command {
	return &cli.Command{
		Name:  "conflicts",
		Usage: "list concurrent edits whose losing version was kept",
		Description: `When two machines change the same row before syncing, the later write (by
hybrid logical clock) wins everywhere and the other version is kept here.
Each conflict shows the row, both versions (when and by which replica) and
the fields in which they differ. Keep the winner or restore the loser with
cloud sync resolve. A conflict is recorded by the machine that noticed it:
the one whose push overwrote, or was refused by, the other's version.

Examples:
   cloud sync conflicts
   cloud sync conflicts --all -o json`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "include resolved conflicts"}},
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			opts := &syncConflictsOptions{App: e.lazyApp(c), All: c.Bool("all")}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.syncConflictsRun(c.Context, opts)
		},
	}
}

// syncConflictsRun prints the conflicts, each with both versions and the
// fields they differ in.
func (e *env) syncConflictsRun(ctx context.Context, opts *syncConflictsOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	out, err := client.NewLocal(a).Documents().SyncConflicts(ctx, opts.All)
	if err != nil {
		return notConfigured(err)
	}
	return e.emit(out, func(w io.Writer) {
		if len(out.Items) == 0 {
			fmt.Fprintln(w, "no conflicts")
			return
		}
		for _, cf := range out.Items {
			state := "open"
			if cf.ResolvedAt != nil {
				state = cf.Resolution
			}
			fmt.Fprintf(w, "%s\t%s %s\t%s\n", cf.Short, cf.Entity, cf.Key, state)
			fmt.Fprintf(w, "  winner\t%s by %s\n", cf.Winner.Time.Local().Format(time.DateTime+".000"), cf.Winner.Replica)
			fmt.Fprintf(w, "  loser\t%s by %s\n", cf.Loser.Time.Local().Format(time.DateTime+".000"), cf.Loser.Replica)
			for _, f := range cf.Fields {
				fmt.Fprintf(w, "  %s\t%s (winner)  %s (loser)\n", f.Name, clip(f.Winner), clip(f.Loser))
			}
		}
	})
}

// syncResolveOptions are what `cloud sync resolve` runs with.
type syncResolveOptions struct {
	App func() (*app.App, error)
	// ID is a conflict's short or full id.
	ID string
	// Keep is winner or loser.
	Keep string
}

func syncResolveCommand(e *env, runF func(context.Context, *syncResolveOptions) error) *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "close a conflict, keeping the winner or restoring the loser",
		ArgsUsage: "ID",
		Description: `ID is a conflict's short id (as cloud sync conflicts prints it) or its full
id. --keep winner closes it and changes nothing; --keep loser writes the
losing version again as a new local change, which wins everywhere at the
next sync.

Examples:
   cloud sync resolve 3f2a9c1b --keep winner
   cloud sync resolve 3f2a9c1b --keep loser && cloud sync`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "keep", Usage: "winner or loser", Required: true}},
		Action: func(c *cli.Context) error {
			as, err := args(c, "ID")
			if err != nil {
				return err
			}
			keep := c.String("keep")
			if keep != "winner" && keep != "loser" {
				return usageError("resolve: --keep must be winner or loser, not %q", keep)
			}
			opts := &syncResolveOptions{App: e.lazyApp(c), ID: as[0], Keep: keep}
			if runF != nil {
				return runF(c.Context, opts)
			}
			return e.syncResolveRun(c.Context, opts)
		},
	}
}

// syncResolveRun closes a conflict the way opts.Keep says.
func (e *env) syncResolveRun(ctx context.Context, opts *syncResolveOptions) error {
	a, err := opts.App()
	if err != nil {
		return err
	}
	cf, err := client.NewLocal(a).Documents().ResolveConflict(ctx, opts.ID, model.ConflictKeep(opts.Keep))
	if errors.Is(err, app.ErrNotFound) {
		return &exitError{code: 1, err: fmt.Errorf("no conflict %q (see cloud sync conflicts --all)", opts.ID)}
	}
	if err != nil {
		return notConfigured(err)
	}
	if opts.Keep == "loser" {
		e.status("restored the losing version of %s; run cloud sync to share it", cf.Short)
	} else {
		e.status("kept the winning version of %s", cf.Short)
	}
	if e.output == "table" {
		return nil
	}
	return e.emit(cf, nil)
}

// syncAfter pushes what a command committed, and pulls what others did, when
// sync is configured (app.AutoSync): best effort and bounded in time. It
// never fails the command; changes that could not go wait for the next
// sync.
func (e *env) syncAfter(ctx context.Context) {
	if e.offline || e.noAutoSync {
		return
	}
	rep := e.app.AutoSync(ctx)
	switch {
	case rep == nil:
	case rep.Err == nil:
		e.status("sync: pushed %d, pulled %d (table %s)", rep.Run.Pushed, rep.Run.Pulled, rep.Table)
	default:
		e.status("sync: %d change(s) not pushed (%v); they wait for the next sync (cloud sync)", rep.Pending, rep.Err)
	}
}
