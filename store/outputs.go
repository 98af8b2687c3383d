package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Output is one stack output value.
type Output struct {
	Value  any  // decoded JSON: string, float64, bool, []any, map[string]any or nil
	Secret bool // encrypted at rest; never print unless asked
	// Sealed marks a secret sealed with another store's key (sync brought
	// it from another machine): its Value cannot be known here (nil).
	Sealed bool
}

// outputAAD binds a sealed output value to its row.
func outputAAD(deploymentID, env, stack, name string) []byte {
	b, _ := json.Marshal([]string{"outputs", deploymentID, env, stack, name})
	return b
}

// SetOutputs replaces the outputs of one stack in one environment: names in
// outs are written (secret ones encrypted), names no longer present are
// tombstoned, and values that did not change are left alone (so no outbox
// entry is made for them).
func (db *DB) SetOutputs(ctx context.Context, deploymentID, env, stack string, outs map[string]Output) error {
	return db.write(ctx, func(w *writer) error {
		current, err := db.outputs(ctx, w.tx, deploymentID, env, stack)
		if err != nil {
			return err
		}
		for name, o := range outs {
			plain, err := json.Marshal(o.Value)
			if err != nil {
				return fmt.Errorf("store: encode output %s of %s: %w", name, stack, err)
			}
			if old, ok := current[name]; ok && old.Secret == o.Secret && !old.Sealed {
				oldPlain, _ := json.Marshal(old.Value)
				if bytes.Equal(oldPlain, plain) {
					continue
				}
			}
			value := string(plain)
			if o.Secret {
				value = db.seal(plain, outputAAD(deploymentID, env, stack, name))
			}
			if err := w.put(ctx, outputsTable, deploymentID, env, stack, name, value, boolInt(o.Secret)); err != nil {
				return err
			}
		}
		for name := range current {
			if _, ok := outs[name]; ok {
				continue
			}
			if _, err := w.tombstone(ctx, outputsTable, deploymentID, env, stack, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// Outputs returns the outputs of one stack in one environment, secret ones
// decrypted; a secret sealed with another store's key (synced from another
// machine) is returned Sealed, with no value.
func (db *DB) Outputs(ctx context.Context, deploymentID, env, stack string) (map[string]Output, error) {
	return db.outputs(ctx, db.reader, deploymentID, env, stack)
}

func (db *DB) outputs(ctx context.Context, q querier, deploymentID, env, stack string) (map[string]Output, error) {
	all, err := db.queryOutputs(ctx, q, `WHERE deployment_id = ? AND environment = ? AND stack = ? AND deleted = 0`, deploymentID, env, stack)
	if err != nil {
		return nil, err
	}
	out := all[stack]
	if out == nil {
		out = map[string]Output{}
	}
	return out, nil
}

// AllOutputs returns the outputs of every stack of the deployment in one
// environment, as stack -> name -> output, secret ones decrypted.
func (db *DB) AllOutputs(ctx context.Context, deploymentID, env string) (map[string]map[string]Output, error) {
	return db.queryOutputs(ctx, db.reader, `WHERE deployment_id = ? AND environment = ? AND deleted = 0`, deploymentID, env)
}

func (db *DB) queryOutputs(ctx context.Context, q querier, where string, args ...any) (map[string]map[string]Output, error) {
	rows, err := q.QueryContext(ctx, `SELECT deployment_id, environment, stack, name, value, secret, replica_id FROM outputs `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read outputs: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]Output{}
	for rows.Next() {
		var dep, env, stack, name, value, replica string
		var secret bool
		if err := rows.Scan(&dep, &env, &stack, &name, &value, &secret, &replica); err != nil {
			return nil, fmt.Errorf("store: read outputs: %w", err)
		}
		plain := []byte(value)
		o := Output{Secret: secret}
		if secret {
			if plain, err = db.open(value, outputAAD(dep, env, stack, name)); errors.Is(err, ErrSecretKey) && replica != db.replicaID {
				// Sealed by another machine (sync brought it): known to
				// exist, unreadable here. One of this store's own that does
				// not open means a wrong key file: that is an error.
				o.Sealed, plain = true, []byte("null")
			} else if err != nil {
				return nil, fmt.Errorf("store: decrypt output %s of %s/%s/%s: %w", name, dep, env, stack, err)
			}
		}
		if err := json.Unmarshal(plain, &o.Value); err != nil {
			return nil, fmt.Errorf("store: decode output %s of %s/%s/%s: %w", name, dep, env, stack, err)
		}
		if out[stack] == nil {
			out[stack] = map[string]Output{}
		}
		out[stack][name] = o
	}
	return out, rows.Err()
}
