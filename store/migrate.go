package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cloudplatform/cloud/migrations"
)

// migrate applies the embedded migrations the database has not recorded
// yet, each in its own immediate transaction, and refuses a database whose
// recorded version is newer than the newest embedded one.
func migrate(ctx context.Context, w *sql.DB) error {
	all, err := migrations.All()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	latest := 0
	if len(all) > 0 {
		latest = all[len(all)-1].Version
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	for _, m := range all {
		if err := applyMigration(ctx, w, m, latest); err != nil {
			return err
		}
	}
	// Nothing was pending: still refuse a newer database.
	_, err = schemaVersion(ctx, w, latest)
	return err
}

// checkSchema is migrate for a store opened read-only: it applies nothing
// and refuses a database that migrations would change.
func checkSchema(ctx context.Context, w *sql.DB, path string) error {
	all, err := migrations.All()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	latest := 0
	if len(all) > 0 {
		latest = all[len(all)-1].Version
	}
	v, err := schemaVersion(ctx, w, latest)
	if err != nil {
		return err
	}
	if v < latest {
		return fmt.Errorf("store: %s is read-only and at schema version %d; this binary needs %d: open it once where it can be written", path, v, latest)
	}
	return nil
}

// applyMigration runs m unless it is already recorded. The version check
// happens inside the transaction, so concurrent openers apply it once.
func applyMigration(ctx context.Context, w *sql.DB, m migrations.Migration, latest int) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", m.Name, err)
	}
	defer tx.Rollback()
	current, err := schemaVersion(ctx, tx, latest)
	if err != nil {
		return err
	}
	if m.Version <= current {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("store: migrate %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, fmtTime(time.Now())); err != nil {
		return fmt.Errorf("store: record migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %s: %w", m.Name, err)
	}
	return nil
}

// schemaVersion returns the highest recorded migration, or an error
// wrapping ErrSchemaTooNew if it is above latest.
func schemaVersion(ctx context.Context, q querier, latest int) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: read schema version: %w", err)
	}
	if v > latest {
		return v, &schemaError{db: v, binary: latest}
	}
	return v, nil
}

// schemaError is the ErrSchemaTooNew error with the message users see.
type schemaError struct{ db, binary int }

func (e *schemaError) Error() string {
	return fmt.Sprintf("store: database schema version %d is newer than this binary supports (%d); upgrade cloud", e.db, e.binary)
}

func (e *schemaError) Unwrap() error { return ErrSchemaTooNew }
