package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	syncconfig "github.com/cloudplatform/cloud/sync/config"
	"github.com/cloudplatform/cloud/sync/remote"
	"github.com/cloudplatform/cloud/sync/schema"
)

// syncCommand groups the team-sync commands. push, pull, status and
// conflicts come with the sync engine.
func syncCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "sync",
		Usage: "share deployments with the team through a DynamoDB table",
		Description: `The local store stays the source of truth; a DynamoDB table in the team's AWS
account is the shared copy. Configure it once per machine, then check it.

Examples:
   cloud sync configure --table cloud-platform --region eu-west-1
   cloud sync check`,
		Subcommands: []*cli.Command{
			syncConfigureCommand(e),
			syncInitTableCommand(e),
			syncCheckCommand(e),
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
