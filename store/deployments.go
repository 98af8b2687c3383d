package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Deployment is one business project of one organization.
type Deployment struct {
	ID              string
	Organization    string
	Project         string
	Domain          string
	Template        string // the deployment template it was created from
	PulumiOrg       string
	Backend         string // the Pulumi state backend URL
	CurrentRevision int    // the manifest revision in force
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Deleted         bool
}

// ManifestRevision is one saved version of a deployment's manifest.
type ManifestRevision struct {
	DeploymentID string
	Revision     int // 1, 2, 3, …
	YAML         string
	SHA256       string // hex SHA-256 of YAML
	Author       string
	CreatedAt    time.Time
}

// Environment is one environment of a deployment.
type Environment struct {
	DeploymentID string
	Name         string
	Enabled      bool
	Region       string
	AccountID    string
}

// DeploymentStack is one stack of a deployment as its manifest declares it.
type DeploymentStack struct {
	DeploymentID string
	Name         string
	Program      string
	Enabled      bool
	Dependencies []string
	Config       map[string]any
	Layer        int
}

const deploymentCols = `id, organization, project, domain, template, pulumi_org, backend,
	current_revision, created_at, updated_at, deleted`

func scanDeployment(row interface{ Scan(...any) error }) (*Deployment, error) {
	var d Deployment
	var created, updated string
	if err := row.Scan(&d.ID, &d.Organization, &d.Project, &d.Domain, &d.Template, &d.PulumiOrg,
		&d.Backend, &d.CurrentRevision, &created, &updated, &d.Deleted); err != nil {
		return nil, err
	}
	var err error
	if d.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if d.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &d, nil
}

// deployment reads a deployment, tombstoned or not; ErrNotFound if absent.
func deployment(ctx context.Context, q querier, id string) (*Deployment, error) {
	d, err := scanDeployment(q.QueryRowContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("store: deployment %s", id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read deployment %s: %w", id, err)
	}
	return d, nil
}

// liveDeployment is deployment, but a tombstoned one is ErrNotFound too.
func liveDeployment(ctx context.Context, q querier, id string) (*Deployment, error) {
	d, err := deployment(ctx, q, id)
	if err == nil && d.Deleted {
		return nil, notFound("store: deployment %s", id)
	}
	return d, err
}

// SaveManifest creates the deployment d if it is new (or was deleted) and
// updates it otherwise, appends a manifest revision (the previous one + 1)
// and replaces its environments and stacks, tombstoning those no longer
// listed — all in one transaction. If yaml hashes the same as the current
// revision, it changes nothing and returns the current revision. created
// reports whether the deployment was created. Environments and stacks keep
// the order given; their DeploymentID defaults to d.ID.
func (db *DB) SaveManifest(ctx context.Context, d Deployment, yaml, author string, envs []Environment, stacks []DeploymentStack) (rev int, created bool, err error) {
	if d.ID == "" {
		return 0, false, errors.New("store: save manifest: empty deployment id")
	}
	sum := sha256.Sum256([]byte(yaml))
	hash := hex.EncodeToString(sum[:])

	err = db.write(ctx, func(w *writer) error {
		old, err := deployment(ctx, w.tx, d.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		created = old == nil || old.Deleted
		if !created {
			var curHash string
			err := w.tx.QueryRowContext(ctx, `SELECT sha256 FROM manifest_revisions WHERE deployment_id = ? AND revision = ?`,
				d.ID, old.CurrentRevision).Scan(&curHash)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: read current revision of %s: %w", d.ID, err)
			}
			if curHash == hash {
				rev = old.CurrentRevision
				return nil
			}
		}
		if err := w.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(revision), 0) + 1 FROM manifest_revisions WHERE deployment_id = ?`,
			d.ID).Scan(&rev); err != nil {
			return fmt.Errorf("store: next revision of %s: %w", d.ID, err)
		}

		createdAt := d.CreatedAt
		if !created {
			createdAt = old.CreatedAt
		}
		if createdAt.IsZero() {
			createdAt = w.now
		}
		if err := w.put(ctx, deploymentsTable, d.ID, d.Organization, d.Project, d.Domain, d.Template,
			d.PulumiOrg, d.Backend, rev, fmtTime(createdAt), fmtTime(w.now)); err != nil {
			return err
		}
		if err := w.put(ctx, revisionsTable, d.ID, rev, yaml, hash, author, fmtTime(w.now)); err != nil {
			return err
		}
		if err := w.replaceEnvironments(ctx, d.ID, envs); err != nil {
			return err
		}
		return w.replaceStacks(ctx, d.ID, stacks)
	})
	if err != nil {
		return 0, false, err
	}
	return rev, created, nil
}

func (w *writer) replaceEnvironments(ctx context.Context, id string, envs []Environment) error {
	keep := map[string]bool{}
	for i, e := range envs {
		keep[e.Name] = true
		if err := w.put(ctx, environmentsTable, id, e.Name, boolInt(e.Enabled), e.Region, e.AccountID, i); err != nil {
			return err
		}
	}
	return w.tombstoneOthers(ctx, environmentsTable, `SELECT name FROM environments WHERE deployment_id = ? AND deleted = 0`, id, keep)
}

func (w *writer) replaceStacks(ctx context.Context, id string, stacks []DeploymentStack) error {
	keep := map[string]bool{}
	for i, s := range stacks {
		keep[s.Name] = true
		deps, err := jsonText(s.Dependencies)
		if err != nil {
			return err
		}
		config, err := jsonText(s.Config)
		if err != nil {
			return err
		}
		if err := w.put(ctx, deploymentStacksTable, id, s.Name, s.Program, boolInt(s.Enabled), deps, config, s.Layer, i); err != nil {
			return err
		}
	}
	return w.tombstoneOthers(ctx, deploymentStacksTable, `SELECT name FROM deployment_stacks WHERE deployment_id = ? AND deleted = 0`, id, keep)
}

// tombstoneOthers tombstones the rows (parent, name) that query lists for
// parent and keep does not contain.
func (w *writer) tombstoneOthers(ctx context.Context, t *table, query, parent string, keep map[string]bool) error {
	names, err := w.strings(ctx, query, parent)
	if err != nil {
		return err
	}
	for _, n := range names {
		if keep[n] {
			continue
		}
		if _, err := w.tombstone(ctx, t, parent, n); err != nil {
			return err
		}
	}
	return nil
}

// strings runs a one-column query inside the transaction.
func (w *writer) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := w.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: query: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: query: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Deployment returns the deployment with the given id. It returns an error
// wrapping ErrNotFound if there is none or it was deleted.
func (db *DB) Deployment(ctx context.Context, id string) (*Deployment, error) {
	return liveDeployment(ctx, db.reader, id)
}

// Deployments returns the deployments not deleted, oldest first.
func (db *DB) Deployments(ctx context.Context) ([]Deployment, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+deploymentCols+` FROM deployments WHERE deleted = 0 ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list deployments: %w", err)
	}
	defer rows.Close()
	var out []Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list deployments: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

// DeleteDeployment tombstones the deployment with its environments, stacks,
// stack states and outputs; its manifest revisions, operations and events
// stay as history. It returns an error wrapping ErrNotFound if there is no
// such deployment, and a *BusyError if one of its operations is active.
func (db *DB) DeleteDeployment(ctx context.Context, id string) error {
	return db.write(ctx, func(w *writer) error {
		if _, err := liveDeployment(ctx, w.tx, id); err != nil {
			return err
		}
		active, err := activeOperation(ctx, w.tx, id, "")
		if err != nil {
			return err
		}
		if active != nil {
			return &BusyError{Holder: *active}
		}
		if _, err := w.tombstone(ctx, deploymentsTable, id); err != nil {
			return err
		}
		none := map[string]bool{}
		if err := w.tombstoneOthers(ctx, environmentsTable, `SELECT name FROM environments WHERE deployment_id = ? AND deleted = 0`, id, none); err != nil {
			return err
		}
		if err := w.tombstoneOthers(ctx, deploymentStacksTable, `SELECT name FROM deployment_stacks WHERE deployment_id = ? AND deleted = 0`, id, none); err != nil {
			return err
		}
		rows, err := w.tx.QueryContext(ctx, `SELECT environment, stack, name FROM outputs WHERE deployment_id = ? AND deleted = 0`, id)
		if err != nil {
			return fmt.Errorf("store: list outputs of %s: %w", id, err)
		}
		var outs [][3]string
		for rows.Next() {
			var o [3]string
			if err := rows.Scan(&o[0], &o[1], &o[2]); err != nil {
				rows.Close()
				return fmt.Errorf("store: list outputs of %s: %w", id, err)
			}
			outs = append(outs, o)
		}
		rows.Close()
		for _, o := range outs {
			if _, err := w.tombstone(ctx, outputsTable, id, o[0], o[1], o[2]); err != nil {
				return err
			}
		}
		states, err := stackStates(ctx, w.tx, id, "")
		if err != nil {
			return err
		}
		for _, s := range states {
			if _, err := w.tombstone(ctx, stackStatesTable, id, s.Environment, s.Stack); err != nil {
				return err
			}
		}
		return nil
	})
}

// Revision returns revision rev of the deployment's manifest; rev 0 means
// the current one. It returns an error wrapping ErrNotFound if either the
// deployment or the revision does not exist.
func (db *DB) Revision(ctx context.Context, id string, rev int) (*ManifestRevision, error) {
	if rev == 0 {
		d, err := liveDeployment(ctx, db.reader, id)
		if err != nil {
			return nil, err
		}
		rev = d.CurrentRevision
	}
	revs, err := db.revisions(ctx, `WHERE deployment_id = ? AND revision = ? AND deleted = 0`, id, rev)
	if err != nil {
		return nil, err
	}
	if len(revs) == 0 {
		return nil, notFound("store: revision %d of deployment %s", rev, id)
	}
	return &revs[0], nil
}

// Revisions returns every manifest revision of the deployment, oldest
// first (empty if there is none).
func (db *DB) Revisions(ctx context.Context, id string) ([]ManifestRevision, error) {
	return db.revisions(ctx, `WHERE deployment_id = ? AND deleted = 0`, id)
}

func (db *DB) revisions(ctx context.Context, where string, args ...any) ([]ManifestRevision, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT deployment_id, revision, yaml, sha256, author, created_at
		FROM manifest_revisions `+where+` ORDER BY revision`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: read revisions: %w", err)
	}
	defer rows.Close()
	var out []ManifestRevision
	for rows.Next() {
		var r ManifestRevision
		var created string
		if err := rows.Scan(&r.DeploymentID, &r.Revision, &r.YAML, &r.SHA256, &r.Author, &created); err != nil {
			return nil, fmt.Errorf("store: read revisions: %w", err)
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Environments returns the deployment's environments in manifest order.
func (db *DB) Environments(ctx context.Context, id string) ([]Environment, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT deployment_id, name, enabled, region, account_id
		FROM environments WHERE deployment_id = ? AND deleted = 0 ORDER BY position, name`, id)
	if err != nil {
		return nil, fmt.Errorf("store: read environments of %s: %w", id, err)
	}
	defer rows.Close()
	var out []Environment
	for rows.Next() {
		var e Environment
		if err := rows.Scan(&e.DeploymentID, &e.Name, &e.Enabled, &e.Region, &e.AccountID); err != nil {
			return nil, fmt.Errorf("store: read environments of %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeploymentStacks returns the deployment's stacks in manifest order.
func (db *DB) DeploymentStacks(ctx context.Context, id string) ([]DeploymentStack, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT deployment_id, name, program, enabled, dependencies, config, layer
		FROM deployment_stacks WHERE deployment_id = ? AND deleted = 0 ORDER BY position, name`, id)
	if err != nil {
		return nil, fmt.Errorf("store: read stacks of %s: %w", id, err)
	}
	defer rows.Close()
	var out []DeploymentStack
	for rows.Next() {
		var s DeploymentStack
		var deps, config sql.NullString
		if err := rows.Scan(&s.DeploymentID, &s.Name, &s.Program, &s.Enabled, &deps, &config, &s.Layer); err != nil {
			return nil, fmt.Errorf("store: read stacks of %s: %w", id, err)
		}
		if err := scanJSON(deps, &s.Dependencies); err != nil {
			return nil, err
		}
		if err := scanJSON(config, &s.Config); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetEnvironmentEnabled sets the enabled flag of one environment. It
// returns an error wrapping ErrNotFound if the deployment has no such
// environment. Setting the flag it already has changes nothing.
func (db *DB) SetEnvironmentEnabled(ctx context.Context, id, env string, enabled bool) error {
	return db.write(ctx, func(w *writer) error {
		var e Environment
		var position int
		err := w.tx.QueryRowContext(ctx, `SELECT enabled, region, account_id, position FROM environments
			WHERE deployment_id = ? AND name = ? AND deleted = 0`, id, env).Scan(&e.Enabled, &e.Region, &e.AccountID, &position)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("store: environment %s of deployment %s", env, id)
		}
		if err != nil {
			return fmt.Errorf("store: read environment %s of %s: %w", env, id, err)
		}
		if e.Enabled == enabled {
			return nil
		}
		return w.put(ctx, environmentsTable, id, env, boolInt(enabled), e.Region, e.AccountID, position)
	})
}
