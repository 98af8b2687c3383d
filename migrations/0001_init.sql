-- 0001_init: the initial schema of the cloud store.
--
-- Conventions:
--   * Timestamps are RFC 3339 UTC text with a fixed nine-digit fraction
--     (2006-01-02T15:04:05.000000000Z), so they sort correctly as text.
--   * Every mutable row carries the sync columns: version (1 on insert,
--     +1 on every write), hlc (hybrid logical clock, fixed-width hex),
--     replica_id (the replica that wrote it) and deleted (tombstone).
--   * Every write to any table but outbox, replica and schema_migrations
--     appends a row to outbox in the same transaction.
--   * JSON columns hold JSON text; NULL means "not set".
--   * There are no foreign keys: sync applies rows from other replicas in
--     any order, and tombstones (not deletes) end a row's life.

-- The local replica: one row. last_hlc persists the clock across restarts.
CREATE TABLE replica (
    id       TEXT NOT NULL PRIMARY KEY,
    last_hlc TEXT NOT NULL DEFAULT ''
);

-- Every local change, in commit order, waiting to be pushed by sync.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    entity     TEXT NOT NULL,    -- table name
    entity_key TEXT NOT NULL,    -- JSON array of the primary key values
    version    INTEGER NOT NULL,
    hlc        TEXT NOT NULL,
    replica_id TEXT NOT NULL,
    op         TEXT NOT NULL,    -- put | delete | append
    payload    TEXT NOT NULL,    -- JSON object of the row as written
    created_at TEXT NOT NULL
);

CREATE TABLE deployments (
    id               TEXT NOT NULL PRIMARY KEY,
    organization     TEXT NOT NULL,
    project          TEXT NOT NULL,
    domain           TEXT NOT NULL,
    template         TEXT NOT NULL,
    pulumi_org       TEXT NOT NULL,
    backend          TEXT NOT NULL,
    current_revision INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL,
    hlc              TEXT NOT NULL,
    replica_id       TEXT NOT NULL,
    deleted          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deployments_created ON deployments (created_at);

CREATE TABLE manifest_revisions (
    deployment_id TEXT NOT NULL,
    revision      INTEGER NOT NULL,
    yaml          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    author        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    replica_id    TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, revision)
);

-- position keeps the manifest's order (dev, stage, prod) for listings.
CREATE TABLE environments (
    deployment_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    region        TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    position      INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    replica_id    TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, name)
);

CREATE TABLE deployment_stacks (
    deployment_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    program       TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    dependencies  TEXT,          -- JSON array of stack names
    config        TEXT,          -- JSON object
    layer         INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    replica_id    TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, name)
);

CREATE TABLE stack_states (
    deployment_id     TEXT NOT NULL,
    environment       TEXT NOT NULL,
    stack             TEXT NOT NULL,
    status            TEXT NOT NULL,
    reason            TEXT NOT NULL,
    last_operation_id TEXT NOT NULL,
    resource_count    INTEGER NOT NULL,
    config_hash       TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    version           INTEGER NOT NULL,
    hlc               TEXT NOT NULL,
    replica_id        TEXT NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, environment, stack)
);

-- An operation that is queued or running is also the lock on its
-- deployment and environment: there is no separate locks table.
CREATE TABLE operations (
    id            TEXT NOT NULL PRIMARY KEY,
    deployment_id TEXT NOT NULL,
    environment   TEXT NOT NULL,
    kind          TEXT NOT NULL,  -- deploy | destroy | preview | refresh | rollback
    status        TEXT NOT NULL,  -- queued | running | succeeded | failed | cancelled | interrupted
    revision      INTEGER NOT NULL,
    command       TEXT NOT NULL,
    flags         TEXT,           -- JSON object
    actor         TEXT NOT NULL,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    pid_start     TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    error         TEXT NOT NULL,
    summary       TEXT,           -- JSON object
    last_seq      INTEGER NOT NULL DEFAULT 0,
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    replica_id    TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX operations_by_env ON operations (deployment_id, environment, started_at);
CREATE INDEX operations_active ON operations (status) WHERE status IN ('queued', 'running');

CREATE TABLE operation_stacks (
    operation_id   TEXT NOT NULL,
    stack          TEXT NOT NULL,
    status         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    changes        TEXT,          -- JSON object: change kind -> count
    error          TEXT NOT NULL,
    resource_count INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    hlc            TEXT NOT NULL,
    replica_id     TEXT NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (operation_id, stack)
);

-- Append-only.
CREATE TABLE events (
    operation_id  TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    deployment_id TEXT NOT NULL,
    environment   TEXT NOT NULL,
    stack         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    time          TEXT NOT NULL,
    payload       TEXT,           -- JSON
    hlc           TEXT NOT NULL,
    replica_id    TEXT NOT NULL,
    PRIMARY KEY (operation_id, seq)
);
CREATE INDEX events_by_env ON events (deployment_id, environment, time);

-- value is JSON text, or base64(nonce || AES-256-GCM ciphertext of the JSON
-- text) when secret = 1.
CREATE TABLE outputs (
    deployment_id TEXT NOT NULL,
    environment   TEXT NOT NULL,
    stack         TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    secret        INTEGER NOT NULL,
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    replica_id    TEXT NOT NULL,
    deleted       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deployment_id, environment, stack, name)
);

-- template_version is the version of the current registration in
-- stack_template_history.
CREATE TABLE stack_templates (
    name             TEXT NOT NULL PRIMARY KEY,
    description      TEXT NOT NULL,
    template         TEXT NOT NULL,  -- JSON
    source           TEXT NOT NULL,
    program_hash     TEXT NOT NULL,
    registered_at    TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    hlc              TEXT NOT NULL,
    replica_id       TEXT NOT NULL,
    deleted          INTEGER NOT NULL DEFAULT 0
);

-- Append-only.
CREATE TABLE stack_template_history (
    name          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    template      TEXT NOT NULL,  -- JSON
    source        TEXT NOT NULL,
    program_hash  TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE deployment_templates (
    name        TEXT NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    body        TEXT NOT NULL,  -- YAML
    builtin     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    hlc         TEXT NOT NULL,
    replica_id  TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0
);
