package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/store/hlc"
)

// This file is the store's side of team sync: reading local changes to
// push, applying changes pulled from the team's table, and keeping the
// versions that lost a concurrent edit. The engine that talks to DynamoDB
// lives in the sync packages; it sees rows only as Changes.

// Change is one row as it travels between a store and the team's table.
type Change struct {
	Entity  string          // the table, e.g. "deployments"
	Key     json.RawMessage // JSON array of the primary key values
	Version int64           // the row's version (1 for append-only rows)
	HLC     string          // when it was written (hybrid logical clock)
	Replica string          // the replica that wrote it
	Deleted bool            // a tombstone
	// Payload is the row as a JSON object: its columns, and for mutable
	// rows version, hlc, replica_id and deleted.
	Payload    json.RawMessage
	AppendOnly bool // events and other rows that never change
}

// Newer reports whether c wins over d under last-writer-wins: the later
// HLC, and on equal HLCs the larger replica id.
func (c Change) Newer(d Change) bool {
	if c.HLC != d.HLC {
		return c.HLC > d.HLC
	}
	return c.Replica > d.Replica
}

// Pending is a local change waiting to be pushed: the row as it is now
// (several local writes of one row are pushed once), the version of the row
// last known to be in the team's table (Base, "" if none), and the last
// outbox position it covers.
type Pending struct {
	Change
	Base string
	Seq  int64
}

// Conflict is a concurrent edit of one row: the version that won
// (last-writer-wins) and the one that lost, kept until someone resolves it.
type Conflict struct {
	ID         string
	Entity     string
	Key        json.RawMessage
	Winner     Change
	Loser      Change
	DetectedAt time.Time
	ResolvedAt *time.Time
	// Resolution is "" (open), "kept" (the winner stays) or "restored"
	// (the loser was written again, as a new version).
	Resolution string
}

// ConflictID names the loss of one version of one row to another, so that
// the same loss seen twice (by the replica that pushed over it and by the
// one that pulled the winner) is one conflict. The winner is part of it:
// one version can lose to several concurrent ones (two replicas, each
// with an unpushed edit, pull it), and each replica then records the one
// it saw win — two true, different conflicts, not one told two ways.
func ConflictID(entity string, key json.RawMessage, loser, winner Change) string {
	return entity + "|" + string(key) + "|" + loser.HLC + "|" + loser.Replica + "|" + winner.HLC + "|" + winner.Replica
}

// localOnly reports whether a row of a synced table stays in this
// database: a built-in deployment template. Built-ins come with the binary
// and every machine installs its own, so syncing them would only make each
// new machine's first pull a conflict per template (their HLCs and
// replicas differ though their bodies are the same). They are not pushed
// (no outbox entry; an entry left by an older binary is dropped unpushed),
// not written by a reconciliation, and a pulled version (pushed by an
// older binary) neither installs one nor replaces a local built-in: the
// name belongs to the binary. User-made templates sync like any row.
func localOnly(entity string, payload json.RawMessage) bool {
	if entity != deploymentTemplatesTable.name || len(payload) == 0 {
		return false
	}
	var row struct {
		Builtin any `json:"builtin"`
	}
	if json.Unmarshal(payload, &row) != nil {
		return false
	}
	switch v := row.Builtin.(type) {
	case float64:
		return v != 0
	case bool:
		return v
	}
	return false
}

// syncTable returns the synced table named entity.
func syncTable(entity string) (*table, error) {
	for _, t := range allTables {
		if t.name == entity {
			return t, nil
		}
	}
	return nil, fmt.Errorf("store: no synced table %q", entity)
}

// keyArgs decodes a JSON key into bind arguments, integers as int64.
func keyArgs(t *table, key json.RawMessage) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(key))
	dec.UseNumber()
	var vals []any
	if err := dec.Decode(&vals); err != nil {
		return nil, fmt.Errorf("store: key %s of %s: %w", key, t.name, err)
	}
	if len(vals) != t.key {
		return nil, fmt.Errorf("store: key %s of %s: want %d values", key, t.name, t.key)
	}
	for i, v := range vals {
		if n, ok := v.(json.Number); ok {
			if iv, err := n.Int64(); err == nil {
				vals[i] = iv
			} else {
				vals[i], _ = n.Float64()
			}
		}
	}
	return vals, nil
}

// rowChange reads the current state of one mutable row as a Change, with
// its synced_hlc; ok is false when there is no such row.
func rowChange(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, t *table, key json.RawMessage) (c Change, base string, ok bool, err error) {
	args, err := keyArgs(t, key)
	if err != nil {
		return c, "", false, err
	}
	all := append(append([]string{}, t.cols...), "version", "hlc", "replica_id", "deleted")
	query := fmt.Sprintf("SELECT version, hlc, replica_id, deleted, synced_hlc, %s FROM %s WHERE %s",
		jsonObject(all), t.name, whereKey(t.cols[:t.key]))
	var deleted int
	var payload string
	err = q.QueryRowContext(ctx, query, args...).Scan(&c.Version, &c.HLC, &c.Replica, &deleted, &base, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		return c, "", false, nil
	}
	if err != nil {
		return c, "", false, fmt.Errorf("store: read %s %s: %w", t.name, key, err)
	}
	c.Entity, c.Key, c.Deleted, c.Payload = t.name, key, deleted != 0, json.RawMessage(payload)
	return c, base, true, nil
}

// PendingChanges returns up to limit rows with local changes to push, in
// the order they were first changed. A row changed several times is
// returned once, as it is now; a row whose current version is already in
// the team's table (it was replaced by a pulled version) is not returned
// (AckPending still needs to drop its outbox entries: it is returned with
// Change.HLC equal to Base).
func (db *DB) PendingChanges(ctx context.Context, limit int) ([]Pending, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT entity, entity_key, MAX(seq), MIN(seq),
		MAX(CASE WHEN op = 'append' THEN payload END), MAX(hlc), MAX(replica_id)
		FROM outbox GROUP BY entity, entity_key ORDER BY MIN(seq) LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: read outbox: %w", err)
	}
	type group struct {
		entity, key      string
		seq, first       int64
		appendPayload    sql.NullString
		hlcText, replica string
	}
	var groups []group
	for rows.Next() {
		var g group
		if err := rows.Scan(&g.entity, &g.key, &g.seq, &g.first, &g.appendPayload, &g.hlcText, &g.replica); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: read outbox: %w", err)
		}
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Pending
	for _, g := range groups {
		t, err := syncTable(g.entity)
		if err != nil {
			return nil, err
		}
		p := Pending{Seq: g.seq}
		if t.appendOnly {
			p.Change = Change{Entity: t.name, Key: json.RawMessage(g.key), Version: 1, HLC: g.hlcText,
				Replica: g.replica, Payload: json.RawMessage(g.appendPayload.String), AppendOnly: true}
			out = append(out, p)
			continue
		}
		c, base, ok, err := rowChange(ctx, db.reader, t, json.RawMessage(g.key))
		if err != nil {
			return nil, err
		}
		if !ok || localOnly(t.name, c.Payload) {
			// Gone (a hard delete), or a row that never syncs: nothing
			// to push; drop the entries.
			p.Change = Change{Entity: t.name, Key: json.RawMessage(g.key)}
			p.Base = ""
			out = append(out, p)
			continue
		}
		p.Change, p.Base = c, base
		out = append(out, p)
	}
	return out, nil
}

// AckPending records the outcome of pushing p: when pushed, the row's
// version in the team's table is p's (unless the row changed since); either
// way the outbox entries p covers are dropped (a change that lost to a
// newer remote version is not pushed again; the pull brings the winner).
func (db *DB) AckPending(ctx context.Context, p Pending, pushed bool) error {
	t, err := syncTable(p.Entity)
	if err != nil {
		return err
	}
	return db.write(ctx, func(w *writer) error {
		if pushed && !t.appendOnly && p.HLC != "" {
			args, err := keyArgs(t, p.Key)
			if err != nil {
				return err
			}
			if _, err := w.exec(ctx, fmt.Sprintf("UPDATE %s SET synced_hlc = hlc WHERE %s AND hlc = ?",
				t.name, whereKey(t.cols[:t.key])), append(args, p.HLC)...); err != nil {
				return fmt.Errorf("store: mark %s %s synced: %w", t.name, p.Key, err)
			}
		}
		if _, err := w.exec(ctx, `DELETE FROM outbox WHERE entity = ? AND entity_key = ? AND seq <= ?`,
			p.Entity, string(p.Key), p.Seq); err != nil {
			return fmt.Errorf("store: drop pushed outbox entries: %w", err)
		}
		return nil
	})
}

// Applied says what ApplyRemote did with a pulled change.
type Applied int

// What ApplyRemote can do with a pulled change.
const (
	// Skipped: the store already had it, or something newer.
	Skipped Applied = iota
	// Inserted or Replaced: the change is now the row.
	Inserted
	Replaced
	// KeptLocal: the change was concurrent with a local change that won;
	// the change is kept as the loser of a conflict.
	KeptLocal
)

// ApplyRemote applies a change pulled from the team's table. It is
// idempotent and never writes to the outbox. For a mutable row:
//
//   - no local row: the change is inserted;
//   - the local row is a clean copy (its version is in the team's table):
//     a newer change replaces it, an older one is skipped;
//   - the local row has an unpushed change: a change at or before the
//     version it was based on is skipped; a later one is concurrent, and
//     last-writer-wins decides, the losing version going to the conflicts
//     table (returned).
//
// Append-only rows (events) are inserted once. The local clock moves past
// the change's HLC, so later local writes order after it.
func (db *DB) ApplyRemote(ctx context.Context, c Change) (Applied, *Conflict, error) {
	t, err := syncTable(c.Entity)
	if err != nil {
		return Skipped, nil, err
	}
	ts, err := hlc.Parse(c.HLC)
	if err != nil {
		return Skipped, nil, fmt.Errorf("store: change of %s %s: %w", c.Entity, c.Key, err)
	}
	var result Applied
	var conflict *Conflict
	err = db.write(ctx, func(w *writer) error {
		db.clock.Observe(ts)
		w.stamped = true // persist the clock moved past the change
		if t.appendOnly {
			res, err := w.exec(ctx, fromJSONSQL(t, false), string(c.Payload))
			if err != nil {
				return fmt.Errorf("store: apply %s %s: %w", t.name, c.Key, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				result = Inserted
				w.appended = w.appended || t == eventsTable
			}
			return nil
		}
		local, base, ok, err := rowChange(ctx, w.tx, t, c.Key)
		if err != nil {
			return err
		}
		if localOnly(t.name, c.Payload) || (ok && localOnly(t.name, local.Payload)) {
			return nil // a built-in template: this binary's own, never synced
		}
		replace := func() error {
			if _, err := w.exec(ctx, fromJSONSQL(t, true), string(c.Payload), c.HLC); err != nil {
				return fmt.Errorf("store: apply %s %s: %w", t.name, c.Key, err)
			}
			return nil
		}
		switch {
		case !ok:
			result = Inserted
			return replace()
		case local.HLC == c.HLC && local.Replica == c.Replica:
			// The same version: now known to be in the team's table.
			_, err := w.exec(ctx, fmt.Sprintf("UPDATE %s SET synced_hlc = hlc WHERE %s",
				t.name, whereKey(t.cols[:t.key])), mustKeyArgs(t, c.Key)...)
			return err
		case local.HLC == base: // a clean copy
			if !c.Newer(local) {
				return nil
			}
			result = Replaced
			return replace()
		case base != "" && c.HLC <= base:
			return nil // older than what the local change was based on
		}
		// Concurrent: both sides changed the row since the version they share.
		now := time.Now().UTC()
		if c.Newer(local) {
			conflict = &Conflict{Entity: t.name, Key: c.Key, Winner: c, Loser: local, DetectedAt: now}
			result = Replaced
			if err := replace(); err != nil {
				return err
			}
		} else {
			conflict = &Conflict{Entity: t.name, Key: c.Key, Winner: local, Loser: c, DetectedAt: now}
			result = KeptLocal
		}
		return w.recordConflict(ctx, conflict)
	})
	if err != nil {
		return Skipped, nil, err
	}
	return result, conflict, nil
}

func mustKeyArgs(t *table, key json.RawMessage) []any {
	args, _ := keyArgs(t, key)
	return args
}

// fromJSONSQL is the statement that writes a row of t from its JSON
// payload (the first argument): append-only rows are inserted once; a
// mutable row is inserted or replaced whole, with its synced_hlc set to the
// second argument.
func fromJSONSQL(t *table, mutable bool) string {
	cols := append([]string{}, t.cols...)
	if mutable {
		cols = append(cols, "version", "hlc", "replica_id", "deleted")
	}
	var vals, sets []string
	for _, c := range cols {
		vals = append(vals, fmt.Sprintf("json_extract(?1, '$.%s')", c))
	}
	if !mutable {
		return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s WHERE true ON CONFLICT DO NOTHING",
			t.name, strings.Join(cols, ", "), strings.Join(vals, ", "))
	}
	for _, c := range cols[t.key:] {
		sets = append(sets, fmt.Sprintf("%s = excluded.%s", c, c))
	}
	sets = append(sets, "synced_hlc = excluded.synced_hlc")
	return fmt.Sprintf("INSERT INTO %s (%s, synced_hlc) SELECT %s, ?2 WHERE true\nON CONFLICT (%s) DO UPDATE SET %s",
		t.name, strings.Join(cols, ", "), strings.Join(vals, ", "),
		strings.Join(t.cols[:t.key], ", "), strings.Join(sets, ", "))
}

func (w *writer) recordConflict(ctx context.Context, c *Conflict) error {
	c.ID = ConflictID(c.Entity, c.Key, c.Loser, c.Winner)
	_, err := w.exec(ctx, `INSERT INTO sync_conflicts (id, entity, entity_key, winner_hlc, winner_replica,
		winner_payload, loser_hlc, loser_replica, loser_payload, detected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		c.ID, c.Entity, string(c.Key), c.Winner.HLC, c.Winner.Replica, string(c.Winner.Payload),
		c.Loser.HLC, c.Loser.Replica, string(c.Loser.Payload), fmtTime(c.DetectedAt))
	if err != nil {
		return fmt.Errorf("store: record conflict on %s %s: %w", c.Entity, c.Key, err)
	}
	return nil
}

// RecordConflict keeps a conflict found outside ApplyRemote: a push that
// overwrote a version of the row this replica had never seen. Recording
// the same loss again changes nothing.
func (db *DB) RecordConflict(ctx context.Context, c Conflict) error {
	return db.write(ctx, func(w *writer) error { return w.recordConflict(ctx, &c) })
}

// Conflicts returns the conflicts, newest first: the open ones, or all.
func (db *DB) Conflicts(ctx context.Context, all bool) ([]Conflict, error) {
	q := `SELECT id, entity, entity_key, winner_hlc, winner_replica, winner_payload, loser_hlc, loser_replica,
		loser_payload, detected_at, resolved_at, resolution FROM sync_conflicts`
	if !all {
		q += ` WHERE resolved_at IS NULL`
	}
	rows, err := db.reader.QueryContext(ctx, q+` ORDER BY detected_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("store: read conflicts: %w", err)
	}
	defer rows.Close()
	var out []Conflict
	for rows.Next() {
		var c Conflict
		var key, wp, lp, detected string
		var resolved sql.NullString
		if err := rows.Scan(&c.ID, &c.Entity, &key, &c.Winner.HLC, &c.Winner.Replica, &wp, &c.Loser.HLC,
			&c.Loser.Replica, &lp, &detected, &resolved, &c.Resolution); err != nil {
			return nil, fmt.Errorf("store: read conflicts: %w", err)
		}
		c.Key = json.RawMessage(key)
		c.Winner.Entity, c.Winner.Key, c.Winner.Payload = c.Entity, c.Key, json.RawMessage(wp)
		c.Loser.Entity, c.Loser.Key, c.Loser.Payload = c.Entity, c.Key, json.RawMessage(lp)
		if c.DetectedAt, err = parseTime(detected); err != nil {
			return nil, err
		}
		if c.ResolvedAt, err = parseTimePtr(resolved); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ResolveConflict closes a conflict. keepLoser writes the losing version
// again as a new local change (so it wins everywhere once pushed); else the
// winner stays. Resolving a resolved conflict is an error.
func (db *DB) ResolveConflict(ctx context.Context, id string, keepLoser bool) error {
	return db.write(ctx, func(w *writer) error {
		var entity, key, loser string
		var resolved sql.NullString
		err := w.queryRow(ctx, `SELECT entity, entity_key, loser_payload, resolved_at FROM sync_conflicts WHERE id = ?`, id).
			Scan(&entity, &key, &loser, &resolved)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("conflict %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: read conflict: %w", err)
		}
		if resolved.Valid {
			return fmt.Errorf("conflict %q was resolved at %s", id, resolved.String)
		}
		resolution := "kept"
		if keepLoser {
			t, err := syncTable(entity)
			if err != nil {
				return err
			}
			vals, deleted, err := payloadValues(t, json.RawMessage(loser))
			if err != nil {
				return err
			}
			if deleted {
				if _, err := w.tombstone(ctx, t, vals[:t.key]...); err != nil {
					return err
				}
			} else if err := w.put(ctx, t, vals...); err != nil {
				return err
			}
			resolution = "restored"
		}
		_, err = w.exec(ctx, `UPDATE sync_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?`,
			fmtTime(w.now), resolution, id)
		return err
	})
}

// payloadValues reads a row's column values (in t.cols order) and its
// tombstone flag from its JSON payload.
func payloadValues(t *table, payload json.RawMessage) ([]any, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, false, fmt.Errorf("store: payload of %s: %w", t.name, err)
	}
	vals := make([]any, len(t.cols))
	for i, c := range t.cols {
		v, ok := m[c]
		if !ok {
			return nil, false, fmt.Errorf("store: payload of %s lacks %s", t.name, c)
		}
		if n, isNum := v.(json.Number); isNum {
			if iv, err := n.Int64(); err == nil {
				v = iv
			} else {
				v, _ = n.Float64()
			}
		}
		vals[i] = v
	}
	deleted := false
	if d, ok := m["deleted"].(json.Number); ok {
		deleted = d.String() != "0"
	}
	return vals, deleted, nil
}

// SyncValue returns a value of the sync engine's bookkeeping ("" if unset).
func (db *DB) SyncValue(ctx context.Context, name string) (string, error) {
	var v string
	err := db.reader.QueryRowContext(ctx, `SELECT value FROM sync_state WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: read sync state %s: %w", name, err)
	}
	return v, nil
}

// SetSyncValue sets a value of the sync engine's bookkeeping.
func (db *DB) SetSyncValue(ctx context.Context, name, value string) error {
	return db.write(ctx, func(w *writer) error {
		_, err := w.exec(ctx, `INSERT INTO sync_state (name, value) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value)
		return err
	})
}

// Rows calls fn with every row of every synced table, as Changes (for a
// full reconciliation with the team's table), except rows that never sync
// (built-in templates, see localOnly).
func (db *DB) Rows(ctx context.Context, fn func(c Change, base string) error) error {
	for _, t := range allTables {
		var query string
		if t.appendOnly {
			query = fmt.Sprintf("SELECT json_array(%s), %s FROM %s", strings.Join(t.cols[:t.key], ", "), jsonObject(t.cols), t.name)
		} else {
			all := append(append([]string{}, t.cols...), "version", "hlc", "replica_id", "deleted")
			query = fmt.Sprintf("SELECT json_array(%s), %s, version, hlc, replica_id, deleted, synced_hlc FROM %s",
				strings.Join(t.cols[:t.key], ", "), jsonObject(all), t.name)
		}
		rows, err := db.reader.QueryContext(ctx, query)
		if err != nil {
			return fmt.Errorf("store: read %s: %w", t.name, err)
		}
		for rows.Next() {
			var key, payload string
			c := Change{Entity: t.name, AppendOnly: t.appendOnly, Version: 1}
			var base string
			if t.appendOnly {
				err = rows.Scan(&key, &payload)
			} else {
				var deleted int
				err = rows.Scan(&key, &payload, &c.Version, &c.HLC, &c.Replica, &deleted, &base)
				c.Deleted = deleted != 0
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("store: read %s: %w", t.name, err)
			}
			c.Key, c.Payload = json.RawMessage(key), json.RawMessage(payload)
			if localOnly(c.Entity, c.Payload) {
				continue
			}
			if t.appendOnly {
				var m struct {
					HLC     string `json:"hlc"`
					Replica string `json:"replica_id"`
				}
				_ = json.Unmarshal(c.Payload, &m)
				c.HLC, c.Replica = m.HLC, m.Replica
			}
			if err := fn(c, base); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}
