package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// StackTemplate is a registered stack: what its program declares about
// itself (inputs, outputs, default dependencies) as JSON.
type StackTemplate struct {
	Name         string
	Description  string
	Template     json.RawMessage
	Source       string // where the program lives
	ProgramHash  string
	RegisteredAt time.Time
	Version      int // 1 for the first registration, +1 for each change
}

// DeploymentTemplate is a named starting point for a deployment manifest.
type DeploymentTemplate struct {
	Name        string
	Description string
	Body        string // YAML
	Builtin     bool
}

// PutStackTemplate registers t, or updates its registration, and appends
// it to the template's history with the next version. Registering exactly
// what is already registered changes nothing. Version is assigned; a zero
// RegisteredAt is now.
func (db *DB) PutStackTemplate(ctx context.Context, t StackTemplate) error {
	if t.Name == "" {
		return errors.New("store: put stack template: empty name")
	}
	if len(t.Template) == 0 {
		t.Template = json.RawMessage("{}")
	}
	if !json.Valid(t.Template) {
		return fmt.Errorf("store: put stack template %s: template is not valid JSON", t.Name)
	}
	return db.write(ctx, func(w *writer) error {
		old, err := stackTemplates(ctx, w.tx, `WHERE name = ? AND deleted = 0`, t.Name)
		if err != nil {
			return err
		}
		if len(old) == 1 && old[0].Description == t.Description && old[0].Source == t.Source &&
			old[0].ProgramHash == t.ProgramHash && jsonEqual(old[0].Template, t.Template) {
			return nil
		}
		if err := w.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM stack_template_history WHERE name = ?`,
			t.Name).Scan(&t.Version); err != nil {
			return fmt.Errorf("store: next version of stack template %s: %w", t.Name, err)
		}
		if t.RegisteredAt.IsZero() {
			t.RegisteredAt = w.now
		}
		at := fmtTime(t.RegisteredAt)
		if err := w.put(ctx, stackTemplatesTable, t.Name, t.Description, string(t.Template), t.Source,
			t.ProgramHash, at, t.Version); err != nil {
			return err
		}
		return w.insert(ctx, stackTemplateHistoryTable, w.stamp(), t.Name, t.Version, string(t.Template),
			t.Source, t.ProgramHash, at)
	})
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// DeleteStackTemplate unregisters a stack template (a tombstone; its
// history stays). It returns an error wrapping ErrNotFound if none is
// registered under name.
func (db *DB) DeleteStackTemplate(ctx context.Context, name string) error {
	return db.write(ctx, func(w *writer) error {
		ok, err := w.tombstone(ctx, stackTemplatesTable, name)
		if err == nil && !ok {
			err = notFound("store: stack template %s", name)
		}
		return err
	})
}

// StackTemplate returns the registered stack template name, or an error
// wrapping ErrNotFound.
func (db *DB) StackTemplate(ctx context.Context, name string) (*StackTemplate, error) {
	ts, err := stackTemplates(ctx, db.reader, `WHERE name = ? AND deleted = 0`, name)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, notFound("store: stack template %s", name)
	}
	return &ts[0], nil
}

// StackTemplates returns the registered stack templates ordered by name.
func (db *DB) StackTemplates(ctx context.Context) ([]StackTemplate, error) {
	return stackTemplates(ctx, db.reader, `WHERE deleted = 0 ORDER BY name`)
}

// StackTemplateHistory returns every registered version of a stack
// template, oldest first (empty if it was never registered).
func (db *DB) StackTemplateHistory(ctx context.Context, name string) ([]StackTemplate, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT h.name, COALESCE(t.description, ''), h.template, h.source, h.program_hash, h.registered_at, h.version
		FROM stack_template_history h LEFT JOIN stack_templates t ON t.name = h.name
		WHERE h.name = ? ORDER BY h.version`, name)
	if err != nil {
		return nil, fmt.Errorf("store: read history of stack template %s: %w", name, err)
	}
	return scanStackTemplates(rows)
}

func stackTemplates(ctx context.Context, q querier, where string, args ...any) ([]StackTemplate, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, description, template, source, program_hash, registered_at, template_version
		FROM stack_templates `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read stack templates: %w", err)
	}
	return scanStackTemplates(rows)
}

func scanStackTemplates(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]StackTemplate, error) {
	defer rows.Close()
	var out []StackTemplate
	for rows.Next() {
		var t StackTemplate
		var tmpl, at string
		if err := rows.Scan(&t.Name, &t.Description, &tmpl, &t.Source, &t.ProgramHash, &at, &t.Version); err != nil {
			return nil, fmt.Errorf("store: read stack templates: %w", err)
		}
		t.Template = json.RawMessage(tmpl)
		var err error
		if t.RegisteredAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PutDeploymentTemplate creates or replaces a deployment template. A
// built-in template (Builtin) is written without an outbox entry: it comes
// with the binary, every machine installs its own, and it never syncs (see
// localOnly).
func (db *DB) PutDeploymentTemplate(ctx context.Context, t DeploymentTemplate) error {
	if t.Name == "" {
		return errors.New("store: put deployment template: empty name")
	}
	return db.write(ctx, func(w *writer) error {
		vals := []any{t.Name, t.Description, t.Body, boolInt(t.Builtin)}
		if t.Builtin {
			_, err := w.upsert(ctx, deploymentTemplatesTable, vals...)
			return err
		}
		return w.put(ctx, deploymentTemplatesTable, vals...)
	})
}

// DeleteDeploymentTemplate deletes (tombstones) a deployment template. It
// returns an error wrapping ErrNotFound if there is none named name.
func (db *DB) DeleteDeploymentTemplate(ctx context.Context, name string) error {
	return db.write(ctx, func(w *writer) error {
		ok, err := w.tombstone(ctx, deploymentTemplatesTable, name)
		if err == nil && !ok {
			err = notFound("store: deployment template %s", name)
		}
		return err
	})
}

// DeploymentTemplate returns the deployment template name, or an error
// wrapping ErrNotFound.
func (db *DB) DeploymentTemplate(ctx context.Context, name string) (*DeploymentTemplate, error) {
	ts, err := db.deploymentTemplates(ctx, `WHERE name = ? AND deleted = 0`, name)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, notFound("store: deployment template %s", name)
	}
	return &ts[0], nil
}

// DeploymentTemplates returns the deployment templates ordered by name.
func (db *DB) DeploymentTemplates(ctx context.Context) ([]DeploymentTemplate, error) {
	return db.deploymentTemplates(ctx, `WHERE deleted = 0 ORDER BY name`)
}

func (db *DB) deploymentTemplates(ctx context.Context, where string, args ...any) ([]DeploymentTemplate, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name, description, body, builtin FROM deployment_templates `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read deployment templates: %w", err)
	}
	defer rows.Close()
	var out []DeploymentTemplate
	for rows.Next() {
		var t DeploymentTemplate
		if err := rows.Scan(&t.Name, &t.Description, &t.Body, &t.Builtin); err != nil {
			return nil, fmt.Errorf("store: read deployment templates: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
