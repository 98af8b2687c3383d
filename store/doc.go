// Package store is the local SQLite store of cloud: deployments and their
// manifest revisions, environments and stacks, operations and their
// per-stack results, the event log, stack states and outputs, and the stack
// and deployment templates.
//
// # Layout
//
// One database file in WAL mode, opened twice: a single-connection writer
// whose transactions start with BEGIN IMMEDIATE (so writers queue on the
// busy timeout instead of failing on lock upgrades), and a pool of
// read-only connections, so reads never wait behind a write. The schema
// lives in the migrations package and is applied at Open.
//
// # Sync columns and the outbox
//
// Every mutable row carries version (1 on insert, +1 on each write), hlc
// (a hybrid logical clock timestamp, see package hlc), replica_id and
// deleted (a tombstone: rows are never deleted, only marked). Every write
// appends an outbox row in the same transaction holding the entity (table
// name), the entity key (a JSON array of the primary key values), the
// row's version and hlc, the op (put, delete or append) and, for an append,
// the row itself as a JSON object. A put or delete carries no copy of the
// row ({}): sync pushes a mutable row as it is then (PendingChanges), so a
// copy per write would only grow the database (a manifest revision stored
// twice over). The sync engine reads the outbox with PendingChanges and
// acknowledges what it pushed with AckPending.
//
// Exceptions: the replica and schema_migrations tables are local and never
// synced; operations.last_seq is a local counter of the event sequence,
// bumped by AppendEvent without a new version or outbox row (the events
// themselves are in the outbox, and last_seq equals their highest seq);
// events.gseq, the event's position in this database (Event.GlobalSeq), is
// local too and left out of the events' outbox payload: another replica
// numbers the events it applies itself.
//
// # Event streams
//
// Events have two positions: Seq, gapless per operation, and GlobalSeq,
// increasing across the whole database in commit order (assigned as the
// last one + 1 inside the serialised write transaction). EventsAfter pages
// an operation's events by Seq or a deployment's by GlobalSeq, and
// EventsChanged wakes in-process waiters when events commit; package
// store/feed builds subscriptions on them.
//
// # Locks
//
// There is no locks table: an operation that is queued or running holds its
// deployment and environment. BeginOperation checks for one inside its
// (immediate) transaction, so two processes on one machine can never both
// start; ReapInterrupted releases operations whose process died.
//
// # Time
//
// Timestamps are stored as RFC 3339 UTC text with a fixed nine-digit
// fraction, so they sort as text; they parse with time.RFC3339Nano.
//
// # Secrets
//
// Secret output values are JSON-encoded, then sealed with AES-256-GCM under
// a 32-byte key read from Options.KeyFile (created, mode 0600, if missing).
// The additional data binds each ciphertext to its deployment, environment,
// stack and output name, so a value copied to another row does not
// decrypt.
package store
