package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/vocab"
)

// Event is one entry of an operation's event log: a status change or an
// engine event. Events are append-only; Seq increases by one per event of
// the same operation, starting at 1. GlobalSeq is the event's position in
// the whole database: it increases (by one) across all operations in
// commit order, so a reader that has seen GlobalSeq N has seen every event
// with a smaller one. It is local to this database and not synced.
type Event struct {
	OperationID  string
	Seq          int64
	GlobalSeq    int64
	DeploymentID string
	Environment  string
	Stack        string // "" for operation-level events
	Kind         vocab.EventType
	Time         time.Time
	Payload      json.RawMessage
}

// AppendEvent appends e to its operation's log and commits it durably
// before returning. It assigns e.Seq (the operation's last seq + 1) and
// e.GlobalSeq (the database's last global seq + 1) in the same transaction,
// and fills DeploymentID and Environment from the operation and a zero
// Time with now. It returns an error wrapping ErrNotFound if the operation
// does not exist. Waiters on EventsChanged are woken once it is committed.
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
	var gseq int64
	if err := w.queryRow(ctx, nextGlobalSeqSQL).Scan(&gseq); err != nil {
		return fmt.Errorf("store: next global event seq: %w", err)
	}
	ev := *e
	ev.Seq, ev.GlobalSeq = seq, gseq
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
		ev.Kind, fmtTime(ev.Time), payload, ts, w.db.replicaID, ev.GlobalSeq); err != nil {
		return err
	}
	w.appended = true
	*e = ev
	return nil
}

const eventCols = `operation_id, seq, gseq, deployment_id, environment, stack, kind, time, payload`

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
		var gseq sql.NullInt64
		if err := rows.Scan(&e.OperationID, &e.Seq, &gseq, &e.DeploymentID, &e.Environment, &e.Stack, &e.Kind, &t, &payload); err != nil {
			return nil, fmt.Errorf("store: read events: %w", err)
		}
		if e.Time, err = parseTime(t); err != nil {
			return nil, err
		}
		if payload.Valid {
			e.Payload = json.RawMessage(payload.String)
		}
		e.GlobalSeq = gseq.Int64
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

// EventFilter selects the events of one operation, or of one deployment
// across its operations, for EventsAfter.
//
// With OperationID set, the events are that operation's, positioned by
// their per-operation Seq; DeploymentID and Environment, if also set,
// must match. Otherwise DeploymentID is required and the events are the
// deployment's in Environment (every environment when it is ""),
// positioned by GlobalSeq.
//
// Stacks and Kinds keep only events whose stack, respectively kind, is in
// the list; an empty list keeps all. Operation-level events (stack "") pass
// any stack filter, so a client following some stacks still sees the
// operation's status changes; Kinds applies to them as to any event.
type EventFilter struct {
	OperationID  string
	DeploymentID string
	Environment  string
	Stacks       []string
	Kinds        []string
}

// ByOperation reports whether the filter selects one operation's events,
// positioned by per-operation Seq rather than GlobalSeq.
func (f EventFilter) ByOperation() bool { return f.OperationID != "" }

// Position returns e's position in a stream selected by f: e.Seq for an
// operation's events, e.GlobalSeq otherwise.
func (f EventFilter) Position(e *Event) int64 {
	if f.ByOperation() {
		return e.Seq
	}
	return e.GlobalSeq
}

// Match reports whether f selects e: the same rule EventsAfter applies
// in SQL, for events already in memory.
func (f EventFilter) Match(e *Event) bool {
	switch {
	case f.OperationID != "" && e.OperationID != f.OperationID,
		f.DeploymentID != "" && e.DeploymentID != f.DeploymentID,
		f.Environment != "" && e.Environment != f.Environment,
		len(f.Stacks) > 0 && e.Stack != "" && !slices.Contains(f.Stacks, e.Stack),
		len(f.Kinds) > 0 && !slices.Contains(f.Kinds, string(e.Kind)):
		return false
	}
	return true
}

// EventsAfter returns up to limit events selected by f whose position is
// after after: for an operation (f.OperationID set) those with Seq > after
// in Seq order, otherwise those with GlobalSeq > after in GlobalSeq order.
// A limit <= 0 means no limit. A filter naming neither an operation nor a
// deployment selects every deployment's events (then it cannot name an
// environment). It reads through an index in every case: the events'
// primary key for an operation, (deployment_id, gseq) for a deployment,
// gseq for all.
func (db *DB) EventsAfter(ctx context.Context, f EventFilter, after int64, limit int) ([]Event, error) {
	query, args, err := eventsAfterQuery(f, after, limit)
	if err != nil {
		return nil, err
	}
	return queryEvents(ctx, db.reader, query, args...)
}

// eventsAfterQuery returns what follows "SELECT … FROM events" for
// EventsAfter, and its arguments.
func eventsAfterQuery(f EventFilter, after int64, limit int) (string, []any, error) {
	if limit <= 0 {
		limit = -1
	}
	var where []string
	var args []any
	var index, order string
	switch {
	case f.OperationID != "":
		where = append(where, "operation_id = ?", "seq > ?")
		args = append(args, f.OperationID, after)
		if f.DeploymentID != "" {
			where = append(where, "deployment_id = ?")
			args = append(args, f.DeploymentID)
		}
		order = "seq"
	case f.DeploymentID != "":
		where = append(where, "deployment_id = ?", "gseq > ?")
		args = append(args, f.DeploymentID, after)
		// Read through (deployment_id, gseq) even with an environment:
		// that index returns the events in order, so a page stops after
		// limit rows, where events_by_env (two equalities, which the
		// planner could prefer once statistics exist) would read and sort
		// the environment's whole history for every page.
		index, order = "INDEXED BY events_by_deployment_gseq ", "gseq"
	case f.Environment == "":
		// Every deployment's events, in store order.
		where = append(where, "gseq > ?")
		args = append(args, after)
		index, order = "INDEXED BY events_by_gseq ", "gseq"
	default:
		return "", nil, errors.New("store: events after: an environment needs its deployment")
	}
	if f.Environment != "" {
		where = append(where, "environment = ?")
		args = append(args, f.Environment)
	}
	if len(f.Stacks) > 0 {
		where = append(where, "(stack = '' OR stack IN ("+placeholders(len(f.Stacks))+"))")
		for _, s := range f.Stacks {
			args = append(args, s)
		}
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(f.Kinds))+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	args = append(args, limit)
	return index + "WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT ?", args, nil
}

// allEventsAfterQuery follows "SELECT … FROM events" for AllEventsAfter.
const allEventsAfterQuery = `INDEXED BY events_by_gseq WHERE gseq > ? ORDER BY gseq LIMIT ?`

// AllEventsAfter returns up to limit events of the whole database (every
// deployment) with GlobalSeq > after, in GlobalSeq order. A limit <= 0
// means no limit. It is meant for in-process fan-out (package store/feed),
// not for serving a caller who may only see some deployments.
func (db *DB) AllEventsAfter(ctx context.Context, after int64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = -1
	}
	return queryEvents(ctx, db.reader, allEventsAfterQuery, after, limit)
}

// LastGlobalSeq returns the highest GlobalSeq in the database, 0 when there
// are no events. It is one index lookup, cheap enough to poll for events
// that other processes append to the same file.
func (db *DB) LastGlobalSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := db.reader.QueryRowContext(ctx, `SELECT COALESCE(MAX(gseq), 0) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: last global event seq: %w", err)
	}
	return n, nil
}

// EventsChanged returns a channel that is closed when a write transaction
// of this DB that appended at least one event commits (AppendEvent,
// BeginOperation, Transition with an event, FinishOperation,
// ReapInterrupted). Each commit closes the current channel and the next
// call returns a new one, so a waiter takes the channel before reading
// what it has not seen yet, then waits on it:
//
//	changed := db.EventsChanged()
//	evs, err := db.EventsAfter(ctx, f, cursor, 0) // anything committed after the call wakes changed
//	...
//	<-changed
//
// It is cheap and never delays the writer. Commits by other processes (or
// other DB values) on the same file do not close it: poll LastGlobalSeq
// for those.
func (db *DB) EventsChanged() <-chan struct{} {
	db.evMu.Lock()
	defer db.evMu.Unlock()
	if db.evCh == nil {
		db.evCh = make(chan struct{})
	}
	return db.evCh
}

// eventsCommitted wakes the EventsChanged waiters.
func (db *DB) eventsCommitted() {
	db.evMu.Lock()
	if db.evCh != nil {
		close(db.evCh)
		db.evCh = nil
	}
	db.evMu.Unlock()
}
