package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloudplatform/cloud/store"
	"github.com/cloudplatform/cloud/store/hlc"
	syncconfig "github.com/cloudplatform/cloud/sync/config"
	"github.com/cloudplatform/cloud/sync/engine"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/schema"
)

// syncCommand groups the team-sync commands. Without a subcommand it
// pushes and pulls until nothing moves.
func syncCommand(e *env) *cli.Command {
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
			if _, err := args(c); err != nil {
				return err
			}
			return runSync(c, e, "sync")
		},
		Subcommands: []*cli.Command{
			syncConfigureCommand(e),
			syncInitTableCommand(e),
			syncCheckCommand(e),
			syncRunCommand(e, "push", "push local changes to the team's table", `Writes every local change waiting in the outbox to the table. A row the
table holds a newer version of is not written: the newer version is applied
locally and the local one kept as a conflict.

Examples:
   cloud sync push`),
			syncRunCommand(e, "pull", "apply the team's changes from the table", `Reads the table's change feed from where the last pull stopped (minus an
overlap window of 2 minutes) and applies every change. The first pull, and
one after more than 80 days away, is a full reconciliation.

Examples:
   cloud sync pull`),
			syncRunCommand(e, "reconcile", "compare the whole table with the local store", `Reads the whole table and applies every item, then writes every local row
the table lacks or holds an older version of. It is how a new machine
starts, and the safety net for anything the change feed missed. It reads
(and is billed for) the whole table.

Examples:
   cloud sync reconcile`),
			syncStatusCommand(e),
			syncConflictsCommand(e),
			syncResolveCommand(e),
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

func syncConfigCommandOutput(e *env, c syncconfig.Config) error {
	v := syncConfigJSON{Configured: c.Configured(), Table: c.Table, Region: c.Region, Endpoint: c.Endpoint,
		Profile: c.Profile, Offline: c.Offline, File: syncconfig.Path(e.home)}
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

func syncConfigureCommand(e *env) *cli.Command {
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
			&cli.StringFlag{Name: "table", Usage: "DynamoDB table name (" + schema.DefaultTableName + " in the platform stack)"},
			&cli.StringFlag{Name: "region", Usage: "AWS region of the table, e.g. eu-west-1"},
			&cli.StringFlag{Name: "endpoint", Usage: "DynamoDB URL instead of AWS, e.g. a local server http://127.0.0.1:8000"},
			&cli.StringFlag{Name: "profile", Usage: "AWS shared-config profile for credentials"},
			&cli.DurationFlag{Name: "interval", Usage: "how often the background sync runs", DefaultText: syncconfig.DefaultInterval.String()},
		},
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			set := false
			for _, f := range []string{"table", "region", "endpoint", "profile", "interval"} {
				set = set || c.IsSet(f)
			}
			if !set {
				cfg, err := syncconfig.Load(e.home)
				if err != nil {
					return err
				}
				return syncConfigCommandOutput(e, cfg)
			}
			// Start from the file alone: environment overrides are not
			// meant to be written into it.
			cfg, err := syncconfig.LoadFile(e.home)
			if err != nil {
				return err
			}
			for f, field := range map[string]*string{"table": &cfg.Table, "region": &cfg.Region, "endpoint": &cfg.Endpoint, "profile": &cfg.Profile} {
				if c.IsSet(f) {
					*field = c.String(f)
				}
			}
			if c.IsSet("interval") {
				cfg.Interval = syncconfig.Duration(c.Duration("interval"))
			}
			if err := cfg.Validate(); err != nil {
				return usageError("sync configure: %v", err)
			}
			if err := syncconfig.Save(e.home, cfg); err != nil {
				return err
			}
			e.status("saved %s", syncconfig.Path(e.home))
			return syncConfigCommandOutput(e, cfg)
		},
	}
}

// openSyncTable loads and validates the configuration and opens its table
// with few, short attempts, so a wrong region or endpoint fails in
// seconds instead of retrying for a minute.
func openSyncTable(ctx context.Context, e *env) (syncconfig.Config, *remote.Table, error) {
	cfg, err := syncconfig.Load(e.home)
	if err != nil {
		return cfg, nil, err
	}
	if err := cfg.Validate(); err != nil {
		if errors.Is(err, syncconfig.ErrNotConfigured) {
			return cfg, nil, err
		}
		return cfg, nil, fmt.Errorf("sync configuration (%s): %w", syncconfig.Path(e.home), err)
	}
	tbl, err := remote.Open(ctx, cfg.Remote(), remote.WithRetry(3, 500*time.Millisecond), remote.WithHTTPTimeout(10*time.Second))
	return cfg, tbl, err
}

func syncInitTableCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, 5*time.Minute)
			defer cancel()
			cfg, tbl, err := openSyncTable(ctx, e)
			if err != nil {
				return err
			}
			e.status("note: for development; production tables come from the platform stack")
			if err := tbl.CreateTable(ctx); err != nil {
				return err
			}
			ttl, _, err := tbl.TTLStatus(ctx)
			if err != nil {
				ttl = "unknown"
			}
			return e.emit(map[string]any{"table": cfg.Table, "status": "ACTIVE", "ttl": ttl}, func(w io.Writer) {
				fmt.Fprintf(w, "table %s is ready (TTL %s)\n", cfg.Table, ttl)
			})
		},
	}
}

func syncCheckCommand(e *env) *cli.Command {
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
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.Context, 30*time.Second)
			defer cancel()
			cfg, tbl, err := openSyncTable(ctx, e)
			if err != nil {
				return err
			}
			res := map[string]any{"table": cfg.Table, "region": cfg.Region, "endpoint": cfg.Endpoint, "ok": true}
			err = tbl.Check(ctx)
			var se *remote.SchemaError
			switch {
			case errors.As(err, &se):
				res["ok"], res["problems"] = false, se.Problems
			case errors.Is(err, remote.ErrTableMissing):
				res["ok"], res["problems"] = false, []string{"the table does not exist: create it with the platform stack (or cloud sync init-table for development)"}
			case err != nil:
				return fmt.Errorf("cannot check the sync table: %w", err)
			}
			if ok := res["ok"].(bool); ok {
				if ttl, attr, err := tbl.TTLStatus(ctx); err == nil {
					res["ttl"] = ttl
					if ttl == "ENABLED" && attr != schema.TTLAttribute {
						res["ttl"] = fmt.Sprintf("%s on %s, want %s", ttl, attr, schema.TTLAttribute)
					}
				}
			}
			if err := e.emit(res, func(w io.Writer) {
				if res["ok"].(bool) {
					fmt.Fprintf(w, "table %s: OK", cfg.Table)
					if ttl, ok := res["ttl"].(string); ok && ttl != "ENABLED" {
						fmt.Fprintf(w, " (TTL %s: expired tombstones and leases are kept)", ttl)
					}
					fmt.Fprintln(w)
					return
				}
				fmt.Fprintf(w, "table %s: NOT OK\n", cfg.Table)
				for _, p := range res["problems"].([]string) {
					fmt.Fprintf(w, "  - %s\n", p)
				}
			}); err != nil {
				return err
			}
			if !res["ok"].(bool) {
				return &exitError{code: 1, err: errSilent}
			}
			return nil
		},
	}
}

// notConfigured turns "sync is not configured" into a usage error (exit
// 2) that says what to run.
func notConfigured(err error) error {
	if errors.Is(err, syncconfig.ErrNotConfigured) {
		return usageError("%v (see cloud sync configure --help)", err)
	}
	return err
}

// requireSync fails with the usage error of notConfigured when sync is not
// configured: conflicts only come from syncing, and a command that
// pretended otherwise would hide a missing configuration.
func requireSync(e *env) error {
	cfg, err := syncconfig.Load(e.home)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); errors.Is(err, syncconfig.ErrNotConfigured) {
		return notConfigured(err)
	}
	return nil
}

// openEngine opens the store and the configured table and returns an
// engine on them. The table is opened with more attempts than the
// configuration commands: a push or pull that has started should ride out
// a throttling spell rather than fail.
func openEngine(ctx context.Context, e *env) (*engine.Engine, *store.DB, error) {
	cfg, err := syncconfig.Load(e.home)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.Validate(); err != nil {
		if errors.Is(err, syncconfig.ErrNotConfigured) {
			return nil, nil, notConfigured(err)
		}
		return nil, nil, fmt.Errorf("sync configuration (%s): %w", syncconfig.Path(e.home), err)
	}
	tbl, err := remote.Open(ctx, cfg.Remote(), remote.WithRetry(5, 2*time.Second), remote.WithHTTPTimeout(10*time.Second))
	if err != nil {
		return nil, nil, err
	}
	a, err := e.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	return engine.New(a.Store(), tbl, engine.Options{}), a.Store(), nil
}

func syncRunCommand(e *env, name, usage, description string) *cli.Command {
	return &cli.Command{
		Name:        name,
		Usage:       usage,
		Description: description,
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			return runSync(c, e, name)
		},
	}
}

// runSync runs one of push, pull, reconcile or sync (both until quiet) and
// prints what moved.
func runSync(c *cli.Context, e *env, what string) error {
	ctx, cancel := context.WithTimeout(c.Context, 30*time.Minute)
	defer cancel()
	eng, _, err := openEngine(ctx, e)
	if err != nil {
		return err
	}
	res := map[string]any{}
	var line string
	switch what {
	case "push":
		st, err := eng.Push(ctx)
		if err != nil {
			return err
		}
		res["pushed"], res["lost"], res["conflicts"] = st.Pushed, st.Lost, st.Conflicts
		line = fmt.Sprintf("pushed %d, %d refused (the table had newer), %d new conflicts", st.Pushed, st.Lost, st.Conflicts)
	case "pull":
		st, err := eng.Pull(ctx)
		if err != nil {
			return err
		}
		res["read"], res["applied"], res["conflicts"], res["reconciled"] = st.Read, st.Applied, st.Conflicts, st.Reconciled
		line = fmt.Sprintf("read %d, applied %d, %d new conflicts", st.Read, st.Applied, st.Conflicts)
		if st.Reconciled {
			line += " (full reconciliation)"
		}
	case "reconcile":
		st, err := eng.Reconcile(ctx)
		if err != nil {
			return err
		}
		res["scanned"], res["pulled"], res["pushed"], res["conflicts"] = st.Scanned, st.Pulled, st.Pushed, st.Conflicts
		line = fmt.Sprintf("scanned %d, pulled %d, pushed %d, %d new conflicts", st.Scanned, st.Pulled, st.Pushed, st.Conflicts)
	default:
		st, err := eng.Sync(ctx)
		if err != nil {
			return err
		}
		res["rounds"], res["pushed"], res["pulled"], res["quiet"] = st.Rounds, st.Push.Pushed, st.Pull.Applied, st.Quiet
		res["conflicts"] = st.Push.Conflicts + st.Pull.Conflicts
		line = fmt.Sprintf("pushed %d, pulled %d, %d new conflicts", st.Push.Pushed, st.Pull.Applied, res["conflicts"])
		if !st.Quiet {
			line += fmt.Sprintf(" (still moving after %d rounds: run it again)", st.Rounds)
		}
	}
	open := eng.OpenConflicts()
	res["openConflicts"] = open
	return e.emit(res, func(w io.Writer) {
		fmt.Fprintln(w, line)
		if open > 0 {
			fmt.Fprintf(w, "%d open conflicts: see cloud sync conflicts\n", open)
		}
	})
}

func syncStatusCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show pending changes, the last push and pull, and open conflicts",
		Description: `Reads the local bookkeeping only (the table is not contacted): how many local
rows wait to be pushed, when the last push, pull and full reconciliation
succeeded, the change-feed cursor, and the open conflicts.

Examples:
   cloud sync status
   cloud sync status -o json`,
		Action: func(c *cli.Context) error {
			if _, err := args(c); err != nil {
				return err
			}
			eng, _, err := openEngine(c.Context, e)
			if err != nil {
				return err
			}
			s, err := eng.Status(c.Context)
			if err != nil {
				return err
			}
			return e.emit(s, func(w io.Writer) {
				when := func(t *time.Time) string {
					if t == nil {
						return "never"
					}
					return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.DateTime), time.Since(*t).Round(time.Second))
				}
				fmt.Fprintf(w, "table\t%s\n", s.Table)
				fmt.Fprintf(w, "replica\t%s\n", s.Replica)
				fmt.Fprintf(w, "pending\t%d\n", s.Pending)
				fmt.Fprintf(w, "last push\t%s\n", when(s.LastPush))
				fmt.Fprintf(w, "last pull\t%s\n", when(s.LastPull))
				fmt.Fprintf(w, "last reconcile\t%s\n", when(s.LastReconcile))
				fmt.Fprintf(w, "conflicts\t%d open\n", s.Conflicts)
			})
		},
	}
}

// conflictJSON is how a conflict prints: both versions' stamps and the
// fields in which their payloads differ (not whole rows).
type conflictJSON struct {
	ID         string          `json:"id"`
	Short      string          `json:"short"`
	Entity     string          `json:"entity"`
	Key        json.RawMessage `json:"key"`
	Winner     versionJSON     `json:"winner"`
	Loser      versionJSON     `json:"loser"`
	Fields     []fieldDiff     `json:"fields"`
	DetectedAt time.Time       `json:"detectedAt"`
	ResolvedAt *time.Time      `json:"resolvedAt,omitempty"`
	Resolution string          `json:"resolution,omitempty"`
}

type versionJSON struct {
	HLC     string    `json:"hlc"`
	Time    time.Time `json:"time"`
	Replica string    `json:"replica"`
	Deleted bool      `json:"deleted,omitempty"`
}

type fieldDiff struct {
	Name   string `json:"name"`
	Winner any    `json:"winner"`
	Loser  any    `json:"loser"`
}

// shortID is a conflict's short name: full ids hold JSON keys and are
// awkward to type.
func shortID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:4])
}

// syncBookkeeping are payload fields that differ between any two versions
// and say nothing about the content.
var syncBookkeeping = map[string]bool{"version": true, "hlc": true, "replica_id": true}

func describeConflict(c store.Conflict) conflictJSON {
	v := func(ch store.Change) versionJSON {
		var p struct {
			Deleted int `json:"deleted"`
		}
		_ = json.Unmarshal(ch.Payload, &p)
		out := versionJSON{HLC: ch.HLC, Replica: ch.Replica, Deleted: p.Deleted != 0}
		if ts, err := hlc.Parse(ch.HLC); err == nil {
			out.Time = ts.Time()
		}
		return out
	}
	out := conflictJSON{ID: c.ID, Short: shortID(c.ID), Entity: c.Entity, Key: c.Key, Winner: v(c.Winner), Loser: v(c.Loser),
		DetectedAt: c.DetectedAt, ResolvedAt: c.ResolvedAt, Resolution: c.Resolution, Fields: []fieldDiff{}}
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
			out.Fields = append(out.Fields, fieldDiff{Name: k, Winner: wm[k], Loser: lm[k]})
		}
	}
	return out
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

func syncConflictsCommand(e *env) *cli.Command {
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
			if err := requireSync(e); err != nil {
				return err
			}
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			cs, err := a.Store().Conflicts(c.Context, c.Bool("all"))
			if err != nil {
				return err
			}
			out := make([]conflictJSON, 0, len(cs))
			for _, cf := range cs {
				out = append(out, describeConflict(cf))
			}
			return e.emit(out, func(w io.Writer) {
				if len(out) == 0 {
					fmt.Fprintln(w, "no conflicts")
					return
				}
				for _, cf := range out {
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
		},
	}
}

func syncResolveCommand(e *env) *cli.Command {
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
			if err := requireSync(e); err != nil {
				return err
			}
			a, err := e.open(c.Context)
			if err != nil {
				return err
			}
			cs, err := a.Store().Conflicts(c.Context, true)
			if err != nil {
				return err
			}
			id := ""
			for _, cf := range cs {
				if cf.ID == as[0] || shortID(cf.ID) == as[0] {
					id = cf.ID
				}
			}
			if id == "" {
				return &exitError{code: 1, err: fmt.Errorf("no conflict %q (see cloud sync conflicts --all)", as[0])}
			}
			if err := a.Store().ResolveConflict(c.Context, id, keep == "loser"); err != nil {
				return err
			}
			if keep == "loser" {
				e.status("restored the losing version of %s; run cloud sync to share it", shortID(id))
			} else {
				e.status("kept the winning version of %s", shortID(id))
			}
			return nil
		},
	}
}

// syncAfter pushes what a command committed, and pulls what others did, when
// sync is configured: after every command that left changes in the outbox,
// best effort and bounded in time. It never fails the command; changes that
// could not go wait for the next sync.
func (e *env) syncAfter(ctx context.Context) {
	if e.offline || e.noAutoSync {
		return
	}
	cfg, err := syncconfig.Load(e.home)
	if err != nil || !cfg.Configured() || cfg.Offline || cfg.Validate() != nil {
		return
	}
	// Also after an interrupted command: what it recorded is worth sharing.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), afterCommandSync)
	defer cancel()
	n, err := e.app.Store().PendingOutbox(ctx)
	if err != nil || n == 0 {
		return
	}
	tbl, err := remote.Open(ctx, cfg.Remote(), remote.WithRetry(2, time.Second), remote.WithHTTPTimeout(3*time.Second))
	if err == nil {
		var st engine.SyncStats
		if st, err = engine.New(e.app.Store(), tbl, engine.Options{}).Sync(ctx); err == nil {
			e.status("sync: pushed %d, pulled %d (table %s)", st.Push.Pushed, st.Pull.Applied, cfg.Table)
			return
		}
	}
	e.status("sync: %d change(s) not pushed (%v); they wait for the next sync (cloud sync)", n, err)
}

// afterCommandSync bounds the sync after a command: a command must not hang
// on an unreachable table.
const afterCommandSync = 10 * time.Second
