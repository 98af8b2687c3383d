package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one entry of an operation's event log: a status change or an
// engine event. Events are append-only; Seq increases by one per event of
// the same operation, starting at 1.
type Event struct {
	OperationID  string
	Seq          int64
	DeploymentID string
	Environment  string
	Stack        string // "" for operation-level events
	Kind         string
	Time         time.Time
	Payload      json.RawMessage
}

// AppendEvent appends e to its operation's log and commits it durably
// before returning. It assigns e.Seq (the operation's last seq + 1, in the
// same transaction) and fills DeploymentID and Environment from the
// operation and a zero Time with now. It returns an error wrapping
// ErrNotFound if the operation does not exist.
func (db *DB) AppendEvent(ctx context.Context, e *Event) error {
	return db.write(ctx, func(w *writer) error { return w.appendEvent(ctx, e) })
}

func (w *writer) appendEvent(ctx context.Context, e *Event) error {
	if e.Kind == "" {
		return errors.New("store: append event: empty kind")
	}
	var seq int64
	var dep, env string
	err := w.queryRow(ctx, nextSeqSQL, e.OperationID).Scan(&seq, &dep, &env)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("store: operation %s", e.OperationID)
	}
	if err != nil {
		return fmt.Errorf("store: next event seq of %s: %w", e.OperationID, err)
	}
	ev := *e
	ev.Seq = seq
	if ev.DeploymentID == "" {
		ev.DeploymentID = dep
	}
	if ev.Environment == "" {
		ev.Environment = env
	}
	if ev.Time.IsZero() {
		ev.Time = w.now
	}
	var payload any
	if len(ev.Payload) > 0 {
		if !json.Valid(ev.Payload) {
			return fmt.Errorf("store: append event %s to %s: payload is not valid JSON", ev.Kind, ev.OperationID)
		}
		payload = string(ev.Payload)
	}
	ts := w.stamp()
	if err := w.insert(ctx, eventsTable, ts, ev.OperationID, ev.Seq, ev.DeploymentID, ev.Environment, ev.Stack,
		ev.Kind, fmtTime(ev.Time), payload, ts, w.db.replicaID); err != nil {
		return err
	}
	*e = ev
	return nil
}

const eventCols = `operation_id, seq, deployment_id, environment, stack, kind, time, payload`

func queryEvents(ctx context.Context, q querier, query string, args ...any) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+eventCols+` FROM events `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t string
		var payload sql.NullString
		if err := rows.Scan(&e.OperationID, &e.Seq, &e.DeploymentID, &e.Environment, &e.Stack, &e.Kind, &t, &payload); err != nil {
			return nil, fmt.Errorf("store: read events: %w", err)
		}
		if e.Time, err = parseTime(t); err != nil {
			return nil, err
		}
		if payload.Valid {
			e.Payload = json.RawMessage(payload.String)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Events returns up to limit events of the operation with seq > afterSeq,
// in seq order. A limit <= 0 means no limit. An unknown operation has no
// events.
func (db *DB) Events(ctx context.Context, opID string, afterSeq int64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = -1
	}
	return queryEvents(ctx, db.reader, `WHERE operation_id = ? AND seq > ? ORDER BY seq LIMIT ?`, opID, afterSeq, limit)
}

// LastEvents returns the n newest events of the operation, oldest first.
func (db *DB) LastEvents(ctx context.Context, opID string, n int) ([]Event, error) {
	if n <= 0 {
		return nil, nil
	}
	evs, err := queryEvents(ctx, db.reader, `WHERE operation_id = ? ORDER BY seq DESC LIMIT ?`, opID, n)
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
		evs[i], evs[j] = evs[j], evs[i]
	}
	return evs, nil
}

// DeploymentEvents returns up to limit events of the deployment in env
// (all environments if env is "") with a time after since, ordered by time
// then operation and seq. A limit <= 0 means no limit.
func (db *DB) DeploymentEvents(ctx context.Context, deploymentID, env string, since time.Time, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = -1
	}
	after := ""
	if !since.IsZero() {
		after = fmtTime(since)
	}
	if env == "" {
		return queryEvents(ctx, db.reader, `WHERE deployment_id = ? AND time > ? ORDER BY time, operation_id, seq LIMIT ?`,
			deploymentID, after, limit)
	}
	return queryEvents(ctx, db.reader, `WHERE deployment_id = ? AND environment = ? AND time > ? ORDER BY time, operation_id, seq LIMIT ?`,
		deploymentID, env, after, limit)
}
