package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/store/hlc"
)

// table describes a synced table: its name, primary key and data columns
// (key columns first). The sync columns version, hlc, replica_id and
// deleted are implied for mutable tables.
type table struct {
	name       string
	key        int // the first key columns are the primary key
	cols       []string
	appendOnly bool // no sync columns but hlc/replica_id handled by the caller

	upsertSQL    string
	tombstoneSQL string
	insertSQL    string
}

func newTable(name string, key int, cols ...string) *table {
	t := &table{name: name, key: key, cols: cols}
	keyCols := cols[:key]

	var sets []string
	for _, c := range cols[key:] {
		sets = append(sets, fmt.Sprintf("%s = excluded.%s", c, c))
	}
	sets = append(sets, fmt.Sprintf("version = %s.version + 1", name),
		"hlc = excluded.hlc", "replica_id = excluded.replica_id", "deleted = 0")
	// Only the version comes back: the outbox entry of a put or delete
	// carries no copy of the row (see rowlessPayload).
	t.upsertSQL = fmt.Sprintf("INSERT INTO %s (%s, version, hlc, replica_id, deleted) VALUES (%s, 1, ?, ?, 0)\n"+
		"ON CONFLICT (%s) DO UPDATE SET %s\nRETURNING version",
		name, strings.Join(cols, ", "), placeholders(len(cols)),
		strings.Join(keyCols, ", "), strings.Join(sets, ", "))

	t.tombstoneSQL = fmt.Sprintf("UPDATE %s SET deleted = 1, version = version + 1, hlc = ?, replica_id = ?\n"+
		"WHERE %s AND deleted = 0\nRETURNING version", name, whereKey(keyCols))
	return t
}

// newAppendTable describes an append-only table: rows are inserted once
// and never change; it has no sync columns of its own.
func newAppendTable(name string, key int, cols ...string) *table {
	t := &table{name: name, key: key, cols: cols, appendOnly: true}
	t.insertSQL = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) RETURNING %s",
		name, strings.Join(cols, ", "), placeholders(len(cols)), jsonObject(cols))
	return t
}

// withLocal adds local columns to an append-only table: they are inserted
// (their values follow those of cols) but are not part of the payload
// recorded in the outbox, so they never leave this database.
func (t *table) withLocal(cols ...string) *table {
	all := append(append([]string{}, t.cols...), cols...)
	t.insertSQL = fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) RETURNING %s",
		t.name, strings.Join(all, ", "), placeholders(len(all)), jsonObject(t.cols))
	return t
}

var (
	deploymentsTable = newTable("deployments", 1, "id", "organization", "project", "domain",
		"template", "pulumi_org", "backend", "current_revision", "created_at", "updated_at")
	revisionsTable = newTable("manifest_revisions", 2, "deployment_id", "revision",
		"yaml", "sha256", "author", "created_at")
	environmentsTable = newTable("environments", 2, "deployment_id", "name",
		"enabled", "region", "account_id", "position")
	deploymentStacksTable = newTable("deployment_stacks", 2, "deployment_id", "name",
		"program", "enabled", "dependencies", "config", "layer", "position")
	stackStatesTable = newTable("stack_states", 3, "deployment_id", "environment", "stack",
		"status", "reason", "last_operation_id", "resource_count", "config_hash", "updated_at")
	operationsTable = newTable("operations", 1, "id", "deployment_id", "environment",
		"kind", "status", "revision", "command", "flags", "actor", "host", "pid", "pid_start",
		"started_at", "finished_at", "error", "summary", "last_seq")
	operationStacksTable = newTable("operation_stacks", 2, "operation_id", "stack",
		"status", "reason", "started_at", "finished_at", "changes", "error", "resource_count", "config")
	outputsTable = newTable("outputs", 4, "deployment_id", "environment", "stack", "name",
		"value", "secret")
	stackTemplatesTable = newTable("stack_templates", 1, "name", "description", "template",
		"source", "program_hash", "registered_at", "template_version")
	deploymentTemplatesTable = newTable("deployment_templates", 1, "name", "description",
		"body", "builtin")

	eventsTable = newAppendTable("events", 2, "operation_id", "seq", "deployment_id",
		"environment", "stack", "kind", "time", "payload", "hlc", "replica_id").withLocal("gseq")
	stackTemplateHistoryTable = newAppendTable("stack_template_history", 2, "name", "version",
		"template", "source", "program_hash", "registered_at")
)

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func whereKey(keyCols []string) string {
	var w []string
	for _, c := range keyCols {
		w = append(w, c+" = ?")
	}
	return strings.Join(w, " AND ")
}

func jsonObject(cols []string) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, fmt.Sprintf("'%s', %s", c, c))
	}
	return "json_object(" + strings.Join(parts, ", ") + ")"
}

// allTables lists the synced tables, for statement preparation.
var allTables = []*table{deploymentsTable, revisionsTable, environmentsTable, deploymentStacksTable,
	stackStatesTable, operationsTable, operationStacksTable, outputsTable, stackTemplatesTable,
	deploymentTemplatesTable, eventsTable, stackTemplateHistoryTable}

const (
	outboxInsertSQL = `INSERT INTO outbox (entity, entity_key, version, hlc, replica_id, op, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	persistClockSQL = `UPDATE replica SET last_hlc = ?`
	readClockSQL    = `SELECT last_hlc FROM replica`
	nextSeqSQL      = `UPDATE operations SET last_seq = last_seq + 1 WHERE id = ? AND deleted = 0
		RETURNING last_seq, deployment_id, environment`
	nextGlobalSeqSQL = `SELECT COALESCE(MAX(gseq), 0) + 1 FROM events`
)

// prepareWrites prepares the statements of the write path once on the
// writer's single connection; transactions reuse them through tx.Stmt
// instead of parsing the SQL on every write.
func (db *DB) prepareWrites(ctx context.Context) error {
	queries := []string{outboxInsertSQL, persistClockSQL, readClockSQL, nextSeqSQL, nextGlobalSeqSQL}
	for _, t := range allTables {
		if t.appendOnly {
			queries = append(queries, t.insertSQL)
		} else {
			queries = append(queries, t.upsertSQL, t.tombstoneSQL)
		}
	}
	db.stmts = map[string]*sql.Stmt{}
	for _, q := range queries {
		s, err := db.writer.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: prepare %q: %w", q, err)
		}
		db.stmts[q] = s
	}
	return nil
}

// queryRow runs a one-row query in the transaction, through the prepared
// statement when there is one.
func (w *writer) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s, ok := w.db.stmts[query]; ok {
		return w.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return w.tx.QueryRowContext(ctx, query, args...)
}

// exec runs a statement in the transaction, through the prepared statement
// when there is one.
func (w *writer) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s, ok := w.db.stmts[query]; ok {
		return w.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return w.tx.ExecContext(ctx, query, args...)
}

// writer is one write transaction. Every change goes through put,
// tombstone or insert so it is stamped and lands in the outbox.
type writer struct {
	db       *DB
	tx       *sql.Tx
	now      time.Time // one wall-clock reading per transaction
	stamped  bool
	appended bool // an event was appended: wake EventsChanged waiters at commit
}

// write runs fn in an immediate transaction on the writer connection and
// commits if fn returns nil. The clock is synchronised with the persisted
// last HLC at the start, and the new last HLC persisted in the same commit.
func (db *DB) write(ctx context.Context, fn func(w *writer) error) error {
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin write: %w", err)
	}
	defer tx.Rollback()
	w := &writer{db: db, tx: tx, now: db.now()}
	// Another process may have written since: move the clock past its last
	// timestamp, so HLCs increase across every writer of this file.
	var last string
	if err := w.queryRow(ctx, readClockSQL).Scan(&last); err != nil {
		return fmt.Errorf("store: read clock: %w", err)
	}
	if ts, err := hlc.Parse(last); err == nil {
		db.clock.Observe(ts)
	}
	if err := fn(w); err != nil {
		return err
	}
	if w.stamped {
		if _, err := w.exec(ctx, persistClockSQL, db.clock.Last().String()); err != nil {
			return fmt.Errorf("store: persist clock: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if w.appended {
		db.eventsCommitted()
	}
	return nil
}

// stamp returns a fresh HLC timestamp for one row.
func (w *writer) stamp() string {
	w.stamped = true
	return w.db.clock.Now().String()
}

// put inserts or updates one row of t (vals in t.cols order), bumping its
// version and clearing its tombstone, and records it in the outbox.
func (w *writer) put(ctx context.Context, t *table, vals ...any) error {
	ts, version, err := w.upsertStamped(ctx, t, vals...)
	if err != nil {
		return err
	}
	return w.outbox(ctx, t, vals[:t.key], version, ts, "put", rowlessPayload)
}

// rowlessPayload is the payload of the outbox entries of puts and
// deletes. Sync pushes a mutable row as it is when it pushes
// (PendingChanges reads the row), never as an entry recorded it, so a copy
// of the row in every entry would only grow the database: a manifest
// revision would be stored twice, its stacks' config too.
const rowlessPayload = "{}"

// upsert is put without the outbox entry, for rows that never leave this
// database (built-in templates): it returns the row's new version.
func (w *writer) upsert(ctx context.Context, t *table, vals ...any) (int64, error) {
	_, version, err := w.upsertStamped(ctx, t, vals...)
	return version, err
}

func (w *writer) upsertStamped(ctx context.Context, t *table, vals ...any) (ts string, version int64, err error) {
	if len(vals) != len(t.cols) {
		return "", 0, fmt.Errorf("store: put %s: %d values for %d columns", t.name, len(vals), len(t.cols))
	}
	ts = w.stamp()
	args := append(append([]any{}, vals...), ts, w.db.replicaID)
	if err := w.queryRow(ctx, t.upsertSQL, args...).Scan(&version); err != nil {
		return "", 0, fmt.Errorf("store: write %s: %w", t.name, err)
	}
	return ts, version, nil
}

// tombstone marks the row with the given key deleted and records it in the
// outbox. It reports false if there was no live row.
func (w *writer) tombstone(ctx context.Context, t *table, key ...any) (bool, error) {
	ts := w.stamp()
	args := append([]any{ts, w.db.replicaID}, key...)
	var version int64
	err := w.queryRow(ctx, t.tombstoneSQL, args...).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: delete from %s: %w", t.name, err)
	}
	return true, w.outbox(ctx, t, key, version, ts, "delete", rowlessPayload)
}

// insert appends one row to the append-only table t and records it in the
// outbox with version 1. ts is the row's HLC stamp.
func (w *writer) insert(ctx context.Context, t *table, ts string, vals ...any) error {
	var payload string
	if err := w.queryRow(ctx, t.insertSQL, vals...).Scan(&payload); err != nil {
		return fmt.Errorf("store: append to %s: %w", t.name, err)
	}
	return w.outbox(ctx, t, vals[:t.key], 1, ts, "append", payload)
}

func (w *writer) outbox(ctx context.Context, t *table, key []any, version int64, ts, op, payload string) error {
	k, err := json.Marshal(key)
	if err != nil {
		return fmt.Errorf("store: encode key of %s: %w", t.name, err)
	}
	_, err = w.exec(ctx, outboxInsertSQL, t.name, string(k), version, ts, w.db.replicaID, op, payload, fmtTime(w.now))
	if err != nil {
		return fmt.Errorf("store: append to outbox: %w", err)
	}
	return nil
}

// OutboxEntry is one recorded local change waiting to be pushed.
type OutboxEntry struct {
	Seq       int64           // position in the outbox, increasing in commit order
	Entity    string          // the table name, e.g. "deployments"
	Key       json.RawMessage // JSON array of the primary key values
	Version   int64           // the row's version after the change (1 for appends)
	HLC       string          // the change's hybrid logical clock timestamp
	ReplicaID string          // the replica that made the change
	Op        string          // "put", "delete" (tombstone) or "append"
	Payload   json.RawMessage // an append's row as a JSON object; {} for a put or delete (rowlessPayload)
	CreatedAt time.Time
}

// PendingOutbox returns how many changes wait in the outbox.
func (db *DB) PendingOutbox(ctx context.Context) (int, error) {
	var n int
	if err := db.reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count outbox: %w", err)
	}
	return n, nil
}

// Outbox returns up to limit outbox entries with seq > afterSeq, oldest
// first. A limit <= 0 means no limit.
func (db *DB) Outbox(ctx context.Context, afterSeq int64, limit int) ([]OutboxEntry, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT seq, entity, entity_key, version, hlc, replica_id, op, payload, created_at
		FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxEntry
	for rows.Next() {
		var e OutboxEntry
		var key, payload, created string
		if err := rows.Scan(&e.Seq, &e.Entity, &key, &e.Version, &e.HLC, &e.ReplicaID, &e.Op, &payload, &created); err != nil {
			return nil, fmt.Errorf("store: read outbox: %w", err)
		}
		e.Key, e.Payload = json.RawMessage(key), json.RawMessage(payload)
		if e.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// AckOutbox removes the outbox entries with seq <= uptoSeq, once sync has
// pushed them.
func (db *DB) AckOutbox(ctx context.Context, uptoSeq int64) error {
	return db.write(ctx, func(w *writer) error {
		if _, err := w.tx.ExecContext(ctx, `DELETE FROM outbox WHERE seq <= ?`, uptoSeq); err != nil {
			return fmt.Errorf("store: acknowledge outbox: %w", err)
		}
		return nil
	})
}
