package store

import (
	"context"
	"fmt"
)

// BulkEvents inserts events (with their Seq already set) in one
// transaction through a prepared statement, without outbox entries,
// numbering their GlobalSeq after the database's last one, and raises each
// operation's last_seq to its highest seq. Benchmarks use it to build large
// fixtures quickly; it is compiled into tests only.
func BulkEvents(ctx context.Context, db *DB, evs []Event) error {
	return db.write(ctx, func(w *writer) error {
		var gseq int64
		if err := w.queryRow(ctx, nextGlobalSeqSQL).Scan(&gseq); err != nil {
			return err
		}
		stmt, err := w.tx.PrepareContext(ctx, `INSERT INTO events (operation_id, seq, deployment_id, environment, stack, kind, time, payload, hlc, replica_id, gseq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		last := map[string]int64{}
		for _, e := range evs {
			if _, err := stmt.ExecContext(ctx, e.OperationID, e.Seq, e.DeploymentID, e.Environment, e.Stack, e.Kind,
				fmtTime(e.Time), string(e.Payload), w.stamp(), db.replicaID, gseq); err != nil {
				return fmt.Errorf("insert event %s/%d: %w", e.OperationID, e.Seq, err)
			}
			gseq++
			w.appended = true
			last[e.OperationID] = max(last[e.OperationID], e.Seq)
		}
		for id, seq := range last {
			if _, err := w.tx.ExecContext(ctx, `UPDATE operations SET last_seq = MAX(last_seq, ?) WHERE id = ?`, seq, id); err != nil {
				return err
			}
		}
		return nil
	})
}
