package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"

	"github.com/cloudplatform/cloud/internal/proc"
	"github.com/cloudplatform/cloud/vocab"
)

// ProcessIdentity returns this process's pid, its start time (field 22 of
// /proc/self/stat, in clock ticks since boot; "" where /proc is missing)
// and the host name, to fill an Operation's owner.
func ProcessIdentity() (pid int, start string, host string) {
	id := processIdentity()
	return id.pid, id.start, id.host
}

type identity struct {
	pid   int
	start string
	host  string
}

var processIdentity = sync.OnceValue(func() identity {
	pid := os.Getpid()
	start, _, _ := proc.Start(pid)
	host, _ := os.Hostname()
	return identity{pid: pid, start: start, host: host}
})

// transient stack statuses: work that was in progress.
var transient = map[vocab.StackStatus]bool{vocab.StackPending: true, vocab.StackDeploying: true, vocab.StackDestroying: true}

// ReapInterrupted finds queued or running operations owned by a process of
// this host that is gone (see proc.Gone) and marks them interrupted: the
// operation gets status "interrupted", a finish time and an
// "operation.status" event; its operation_stacks rows and the stack states
// that were pending, deploying or destroying become "interrupted", each
// with a "stack.status" event. The payload of every event is
// {"status":"interrupted","reason":"owner process <pid> on <host> is gone"}.
// Operations owned by other hosts are left alone. It returns the ids of
// the operations it reaped.
func (db *DB) ReapInterrupted(ctx context.Context) ([]string, error) {
	self := processIdentity()
	candidates, err := queryOperations(ctx, db.reader, `WHERE status IN ('queued', 'running') AND deleted = 0 AND host = ?`, self.host)
	if err != nil {
		return nil, err
	}
	var reaped []string
	for _, c := range candidates {
		if c.PID == self.pid && c.PIDStart == self.start {
			continue // ours, and we are alive
		}
		if !proc.Gone(c.PID, c.PIDStart) {
			continue
		}
		ok, err := db.reap(ctx, c.ID)
		if err != nil {
			return reaped, err
		}
		if ok {
			reaped = append(reaped, c.ID)
		}
	}
	return reaped, nil
}

// reap marks one operation interrupted, unless it finished meanwhile.
func (db *DB) reap(ctx context.Context, id string) (bool, error) {
	var reaped bool
	err := db.write(ctx, func(w *writer) error {
		o, err := operation(ctx, w.tx, id)
		if err != nil {
			return err
		}
		if o.Status != vocab.OpQueued && o.Status != vocab.OpRunning {
			return nil // finished since we looked
		}
		reason := fmt.Sprintf("owner process %d on %s is gone", o.PID, o.Host)
		payload := mustJSON(map[string]string{"status": string(vocab.OpInterrupted), "reason": reason})
		now := w.now
		// The operation ended when its owner last wrote, not when another
		// process noticed (an 8 s run found 11 minutes later lasted 8 s).
		end := now
		var last string
		switch err := w.tx.QueryRowContext(ctx, `SELECT time FROM events WHERE operation_id = ? ORDER BY seq DESC LIMIT 1`, id).Scan(&last); {
		case err == nil:
			if t, err := parseTime(last); err == nil && t.Before(now) {
				end = t
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}

		stacks, err := w.db.queryOperationStacks(ctx, w.tx, `WHERE operation_id = ? AND deleted = 0 ORDER BY stack`, id)
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, s := range stacks {
			if !transient[s.Status] {
				continue
			}
			names[s.Stack] = true
			s.Status, s.Reason, s.FinishedAt = vocab.StackInterrupted, reason, &end
			if err := w.putOperationStack(ctx, s); err != nil {
				return err
			}
		}
		states, err := stackStates(ctx, w.tx, o.DeploymentID, o.Environment)
		if err != nil {
			return err
		}
		for _, s := range states {
			if !transient[s.Status] || (s.LastOperationID != id && !names[s.Stack]) {
				continue
			}
			names[s.Stack] = true
			s.Status, s.Reason, s.LastOperationID, s.UpdatedAt = vocab.StackInterrupted, reason, id, now
			if err := w.putStackState(ctx, s); err != nil {
				return err
			}
		}
		for _, s := range slices.Sorted(maps.Keys(names)) {
			if err := w.appendEvent(ctx, &Event{OperationID: id, Stack: s, Kind: vocab.EventStack, Payload: payload}); err != nil {
				return err
			}
		}

		o.Status, o.Error, o.FinishedAt = vocab.OpInterrupted, reason, &end
		// appendEvent bumps last_seq; write the operation after the stack
		// events so the row carries the final sequence.
		ev := &Event{OperationID: id, Kind: vocab.EventOperation, Payload: payload}
		if err := w.appendEvent(ctx, ev); err != nil {
			return err
		}
		o.LastSeq = ev.Seq
		reaped = true
		return w.putOperation(ctx, o)
	})
	return reaped, err
}
