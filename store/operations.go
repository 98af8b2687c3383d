package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudplatform/cloud/vocab"
)

// Operation is one run of deploy, destroy, preview, refresh or rollback on
// one environment of a deployment.
type Operation struct {
	ID           string
	DeploymentID string
	Environment  string
	Kind         vocab.Kind
	Status       vocab.OperationStatus
	Revision     int // the manifest revision it runs
	Command      string
	Flags        map[string]any
	Actor        string
	Host         string
	PID          int
	PIDStart     string // the owner process's start time, see ProcessIdentity
	StartedAt    time.Time
	FinishedAt   *time.Time
	Error        string
	Summary      map[string]any
	LastSeq      int64 // the seq of its newest event
}

// OperationStack is the result of one stack within an operation.
type OperationStack struct {
	OperationID   string
	Stack         string
	Status        vocab.StackStatus
	Reason        string
	StartedAt     *time.Time
	FinishedAt    *time.Time
	Changes       map[string]int // change kind (create, update, …) -> count
	Error         string
	ResourceCount int
	// Config is the resolved config (JSON) the stack ran with; stored
	// sealed. Nil keeps what the row holds.
	Config json.RawMessage
	// ConfigSealed: Config is sealed with another machine's key (team
	// sync brought the row, not a key to open it), so Config is nil.
	ConfigSealed bool
}

// StackState is the current state of one stack in one environment.
type StackState struct {
	DeploymentID    string
	Environment     string
	Stack           string
	Status          vocab.StackStatus
	Reason          string
	LastOperationID string
	ResourceCount   int
	ConfigHash      string
	UpdatedAt       time.Time
}

const operationCols = `id, deployment_id, environment, kind, status, revision, command, flags, actor, host,
	pid, pid_start, started_at, finished_at, error, summary, last_seq`

func scanOperation(row interface{ Scan(...any) error }) (*Operation, error) {
	var o Operation
	var flags, summary, finished sql.NullString
	var started string
	if err := row.Scan(&o.ID, &o.DeploymentID, &o.Environment, &o.Kind, &o.Status, &o.Revision, &o.Command,
		&flags, &o.Actor, &o.Host, &o.PID, &o.PIDStart, &started, &finished, &o.Error, &summary, &o.LastSeq); err != nil {
		return nil, err
	}
	var err error
	if o.StartedAt, err = parseTime(started); err != nil {
		return nil, err
	}
	if o.FinishedAt, err = parseTimePtr(finished); err != nil {
		return nil, err
	}
	if err := scanJSON(flags, &o.Flags); err != nil {
		return nil, err
	}
	if err := scanJSON(summary, &o.Summary); err != nil {
		return nil, err
	}
	return &o, nil
}

func queryOperations(ctx context.Context, q querier, query string, args ...any) ([]Operation, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+operationCols+` FROM operations `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read operations: %w", err)
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		o, err := scanOperation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: read operations: %w", err)
		}
		out = append(out, *o)
	}
	return out, rows.Err()
}

func operation(ctx context.Context, q querier, id string) (*Operation, error) {
	ops, err := queryOperations(ctx, q, `WHERE id = ? AND deleted = 0`, id)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, notFound("store: operation %s", id)
	}
	return &ops[0], nil
}

// activeOperation returns the queued or running operation of the
// deployment and environment (any environment if env is ""), or nil.
func activeOperation(ctx context.Context, q querier, deploymentID, env string) (*Operation, error) {
	ops, err := queryOperations(ctx, q, `WHERE status IN ('queued', 'running') AND deleted = 0
		AND deployment_id = ? AND (? = '' OR environment = ?) ORDER BY started_at LIMIT 1`, deploymentID, env, env)
	if err != nil || len(ops) == 0 {
		return nil, err
	}
	return &ops[0], nil
}

// ActiveOperation returns the queued or running operation that holds a
// deployment and environment (any environment when env is ""), or nil when
// they are free. It does not reap dead owners first; ReapInterrupted does.
func (db *DB) ActiveOperation(ctx context.Context, deploymentID, env string) (*Operation, error) {
	return activeOperation(ctx, db.reader, deploymentID, env)
}

// putOperation writes the whole operation row.
func (w *writer) putOperation(ctx context.Context, o *Operation) error {
	flags, err := jsonText(o.Flags)
	if err != nil {
		return err
	}
	summary, err := jsonText(o.Summary)
	if err != nil {
		return err
	}
	return w.put(ctx, operationsTable, o.ID, o.DeploymentID, o.Environment, o.Kind, o.Status, o.Revision,
		o.Command, flags, o.Actor, o.Host, o.PID, o.PIDStart, fmtTime(o.StartedAt), fmtTimePtr(o.FinishedAt),
		o.Error, summary, o.LastSeq)
}

// newOperationID returns an id that sorts by creation time:
// "op-" + 12 hex digits of Unix milliseconds + "-" + 6 random hex digits.
func newOperationID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return fmt.Sprintf("op-%012x-%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// BeginOperation records op as started. It first reaps operations whose
// owner process died (see ReapInterrupted). If another operation of the
// same deployment and environment is still queued or running it returns a
// *BusyError (wrapping ErrBusy) naming it; if the deployment does not
// exist, an error wrapping ErrNotFound.
//
// Defaults: an empty ID gets a new one, an empty Status is "running", a
// zero StartedAt is now, and a zero PID is filled from ProcessIdentity. op
// is updated with what was recorded. The operation's first event is an
// "operation.status" event with the status.
func (db *DB) BeginOperation(ctx context.Context, op *Operation) error {
	if op.DeploymentID == "" || op.Environment == "" || op.Kind == "" {
		return errors.New("store: begin operation: deployment, environment and kind are required")
	}
	if _, err := db.ReapInterrupted(ctx); err != nil {
		return err
	}
	return db.write(ctx, func(w *writer) error {
		if _, err := liveDeployment(ctx, w.tx, op.DeploymentID); err != nil {
			return err
		}
		active, err := activeOperation(ctx, w.tx, op.DeploymentID, op.Environment)
		if err != nil {
			return err
		}
		if active != nil {
			return &BusyError{Holder: *active}
		}
		o := *op
		if o.ID == "" {
			o.ID = newOperationID(w.now)
		}
		if o.Status == "" {
			o.Status = vocab.OpRunning
		}
		if o.StartedAt.IsZero() {
			o.StartedAt = w.now
		}
		if o.PID == 0 {
			o.PID, o.PIDStart, o.Host = ProcessIdentity()
		}
		o.FinishedAt, o.LastSeq = nil, 0
		if err := w.putOperation(ctx, &o); err != nil {
			return err
		}
		payload := map[string]any{"status": o.Status, "kind": o.Kind, "actor": o.Actor}
		if c, ok := o.Flags["caller"]; ok {
			// Who asked, as the authenticating door knew them (subject
			// and username): the first event of the stream says it.
			payload["caller"] = c
		}
		if err := w.appendEvent(ctx, &Event{OperationID: o.ID, Kind: vocab.EventOperation, Payload: mustJSON(payload)}); err != nil {
			return err
		}
		o.LastSeq = 1
		*op = o
		return nil
	})
}

// FinishOperation records the final status (succeeded, failed, cancelled
// or interrupted), error text and summary of an operation, sets its finish
// time and appends an "operation.status" event.
// It returns an error wrapping ErrNotFound if there is no such operation.
func (db *DB) FinishOperation(ctx context.Context, id string, status vocab.OperationStatus, errText string, summary map[string]any) error {
	if !status.Terminal() {
		return fmt.Errorf("store: finish operation %s: %q is not a final status", id, status)
	}
	return db.write(ctx, func(w *writer) error {
		o, err := operation(ctx, w.tx, id)
		if err != nil {
			return err
		}
		payload := map[string]any{"status": status}
		if errText != "" {
			payload["error"] = errText
		}
		ev := &Event{OperationID: id, Kind: vocab.EventOperation, Payload: mustJSON(payload)}
		if err := w.appendEvent(ctx, ev); err != nil {
			return err
		}
		now := w.now
		o.Status, o.Error, o.Summary, o.FinishedAt, o.LastSeq = status, errText, summary, &now, ev.Seq
		return w.putOperation(ctx, o)
	})
}

// Operation returns the operation with the given id, or an error wrapping
// ErrNotFound.
func (db *DB) Operation(ctx context.Context, id string) (*Operation, error) {
	return operation(ctx, db.reader, id)
}

// Operations returns the deployment's operations, newest first, in one
// environment (all if env is ""). A limit <= 0 means no limit.
func (db *DB) Operations(ctx context.Context, deploymentID, env string, limit int) ([]Operation, error) {
	if limit <= 0 {
		limit = -1
	}
	if env == "" {
		return queryOperations(ctx, db.reader, `WHERE deployment_id = ? AND deleted = 0
			ORDER BY started_at DESC, id DESC LIMIT ?`, deploymentID, limit)
	}
	return queryOperations(ctx, db.reader, `WHERE deployment_id = ? AND environment = ? AND deleted = 0
		ORDER BY started_at DESC, id DESC LIMIT ?`, deploymentID, env, limit)
}

// LastOperation returns the newest operation of the deployment in env (any
// environment if env is "") whose kind is one of kinds (any kind if none
// given). It returns an error wrapping ErrNotFound if there is none.
func (db *DB) LastOperation(ctx context.Context, deploymentID, env string, kinds ...vocab.Kind) (*Operation, error) {
	where := []string{"deployment_id = ?", "deleted = 0"}
	args := []any{deploymentID}
	if env != "" {
		where = append(where, "environment = ?")
		args = append(args, env)
	}
	if len(kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(kinds))+")")
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	ops, err := queryOperations(ctx, db.reader, "WHERE "+strings.Join(where, " AND ")+" ORDER BY started_at DESC, id DESC LIMIT 1", args...)
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, notFound("store: last operation of %s/%s", deploymentID, env)
	}
	return &ops[0], nil
}

func (db *DB) queryOperationStacks(ctx context.Context, q querier, where string, args ...any) ([]OperationStack, error) {
	rows, err := q.QueryContext(ctx, `SELECT operation_id, stack, status, reason, started_at, finished_at, changes, error, resource_count, config
		FROM operation_stacks `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read operation stacks: %w", err)
	}
	defer rows.Close()
	var out []OperationStack
	for rows.Next() {
		var s OperationStack
		var started, finished, changes, config sql.NullString
		if err := rows.Scan(&s.OperationID, &s.Stack, &s.Status, &s.Reason, &started, &finished, &changes, &s.Error, &s.ResourceCount, &config); err != nil {
			return nil, fmt.Errorf("store: read operation stacks: %w", err)
		}
		if config.Valid && config.String != "" {
			plain, err := db.open(config.String, opStackAAD(s.OperationID, s.Stack))
			switch {
			case errors.Is(err, ErrSecretKey):
				// Reading an operation must not fail on what only its
				// rollback needs (see app.recordedConfigs).
				s.ConfigSealed = true
			case err != nil:
				return nil, fmt.Errorf("store: config of %s in %s: %w", s.Stack, s.OperationID, err)
			default:
				s.Config = plain
			}
		}
		if s.StartedAt, err = parseTimePtr(started); err != nil {
			return nil, err
		}
		if s.FinishedAt, err = parseTimePtr(finished); err != nil {
			return nil, err
		}
		if err := scanJSON(changes, &s.Changes); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// OperationStacks returns the per-stack results of an operation, ordered
// by start time (stacks not started last), then name.
func (db *DB) OperationStacks(ctx context.Context, opID string) ([]OperationStack, error) {
	return db.queryOperationStacks(ctx, db.reader, `WHERE operation_id = ? AND deleted = 0
		ORDER BY started_at IS NULL, started_at, stack`, opID)
}

func (w *writer) putOperationStack(ctx context.Context, s OperationStack) error {
	changes, err := jsonText(s.Changes)
	if err != nil {
		return err
	}
	var config any
	if len(s.Config) > 0 {
		config = w.db.seal(s.Config, opStackAAD(s.OperationID, s.Stack))
	}
	return w.put(ctx, operationStacksTable, s.OperationID, s.Stack, s.Status, s.Reason,
		fmtTimePtr(s.StartedAt), fmtTimePtr(s.FinishedAt), changes, s.Error, s.ResourceCount, config)
}

// opStackAAD binds a sealed config to its operation and stack.
func opStackAAD(opID, stack string) []byte {
	b, _ := json.Marshal([]string{"operation_stacks", opID, stack})
	return b
}

func stackStates(ctx context.Context, q querier, deploymentID, env string, stacks ...string) ([]StackState, error) {
	where := "deployment_id = ? AND deleted = 0"
	args := []any{deploymentID}
	if env != "" {
		where += " AND environment = ?"
		args = append(args, env)
	}
	if len(stacks) > 0 {
		where += " AND stack IN (" + placeholders(len(stacks)) + ")"
		for _, s := range stacks {
			args = append(args, s)
		}
	}
	rows, err := q.QueryContext(ctx, `SELECT deployment_id, environment, stack, status, reason, last_operation_id,
		resource_count, config_hash, updated_at FROM stack_states WHERE `+where+` ORDER BY environment, stack`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read stack states: %w", err)
	}
	defer rows.Close()
	var out []StackState
	for rows.Next() {
		var s StackState
		var updated string
		if err := rows.Scan(&s.DeploymentID, &s.Environment, &s.Stack, &s.Status, &s.Reason, &s.LastOperationID,
			&s.ResourceCount, &s.ConfigHash, &updated); err != nil {
			return nil, fmt.Errorf("store: read stack states: %w", err)
		}
		if s.UpdatedAt, err = parseTime(updated); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// StackStates returns the states of the deployment's stacks in env (all
// environments if env is ""), ordered by environment and stack.
func (db *DB) StackStates(ctx context.Context, deploymentID, env string) ([]StackState, error) {
	return stackStates(ctx, db.reader, deploymentID, env)
}

// StackState returns the state of one stack in one environment, or an
// error wrapping ErrNotFound if none was recorded.
func (db *DB) StackState(ctx context.Context, deploymentID, env, stack string) (*StackState, error) {
	if env == "" {
		return nil, errors.New("store: stack state: empty environment")
	}
	states, err := stackStates(ctx, db.reader, deploymentID, env, stack)
	if err != nil {
		return nil, err
	}
	if len(states) == 0 {
		return nil, notFound("store: state of stack %s in %s/%s", stack, deploymentID, env)
	}
	return &states[0], nil
}

func (w *writer) putStackState(ctx context.Context, s StackState) error {
	return w.put(ctx, stackStatesTable, s.DeploymentID, s.Environment, s.Stack, s.Status, s.Reason,
		s.LastOperationID, s.ResourceCount, s.ConfigHash, fmtTime(s.UpdatedAt))
}

// Transition records a stack transition in one transaction: it upserts the
// operation_stacks row os (a nil StartedAt keeps the recorded start time),
// upserts the stack state st unless st is nil, and appends ev unless it is
// nil, so the current status always matches the events.
//
// Defaults: st's DeploymentID and Environment come from the operation, its
// Stack from os.Stack, its LastOperationID from os.OperationID and a zero
// UpdatedAt is now; ev's OperationID and Stack come from os. It returns an
// error wrapping ErrNotFound if the operation does not exist.
func (db *DB) Transition(ctx context.Context, os OperationStack, st *StackState, ev *Event) error {
	return db.write(ctx, func(w *writer) error {
		op, err := operation(ctx, w.tx, os.OperationID)
		if err != nil {
			return err
		}
		if os.StartedAt == nil || os.Config == nil {
			prev, err := w.db.queryOperationStacks(ctx, w.tx, `WHERE operation_id = ? AND stack = ?`, os.OperationID, os.Stack)
			if err != nil {
				return err
			}
			if len(prev) > 0 {
				if os.StartedAt == nil {
					os.StartedAt = prev[0].StartedAt
				}
				if os.Config == nil {
					os.Config = prev[0].Config
				}
			}
		}
		if err := w.putOperationStack(ctx, os); err != nil {
			return err
		}
		if st != nil {
			s := *st
			if s.DeploymentID == "" {
				s.DeploymentID = op.DeploymentID
			}
			if s.Environment == "" {
				s.Environment = op.Environment
			}
			if s.Stack == "" {
				s.Stack = os.Stack
			}
			if s.LastOperationID == "" {
				s.LastOperationID = os.OperationID
			}
			if s.UpdatedAt.IsZero() {
				s.UpdatedAt = w.now
			}
			if err := w.putStackState(ctx, s); err != nil {
				return err
			}
		}
		if ev == nil {
			return nil
		}
		if ev.OperationID == "" {
			ev.OperationID = os.OperationID
		}
		if ev.Stack == "" {
			ev.Stack = os.Stack
		}
		return w.appendEvent(ctx, ev)
	})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// OperationCounts counts live operations by kind and status.
func (db *DB) OperationCounts(ctx context.Context) (map[[2]string]int, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT kind, status, COUNT(*) FROM operations WHERE deleted = 0 GROUP BY kind, status`)
	if err != nil {
		return nil, fmt.Errorf("store: count operations: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int{}
	for rows.Next() {
		var kind, status string
		var n int
		if err := rows.Scan(&kind, &status, &n); err != nil {
			return nil, fmt.Errorf("store: count operations: %w", err)
		}
		out[[2]string{kind, status}] = n
	}
	return out, rows.Err()
}
