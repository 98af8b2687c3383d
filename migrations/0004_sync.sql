-- 0004_sync: what the sync engine keeps in the store.
--
-- synced_hlc is, per row of every mutable table, the HLC of the version of
-- the row last known to be in the team's table (pushed from here, or pulled
-- from there). A row whose hlc equals its synced_hlc is a clean copy; one
-- that differs has a local change not yet pushed. It is what tells a
-- concurrent edit (both sides changed the row since the version they share)
-- from a plain successor, exactly, with no version vectors. It is local:
-- not part of a row's synced payload.
ALTER TABLE deployments ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE manifest_revisions ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE environments ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE deployment_stacks ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE stack_states ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE operations ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE operation_stacks ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE outputs ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE stack_templates ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';
ALTER TABLE deployment_templates ADD COLUMN synced_hlc TEXT NOT NULL DEFAULT '';

-- The engine's own bookkeeping: the change-feed cursor, the times of the
-- last push and pull, and the like, by name.
CREATE TABLE sync_state (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- Concurrent edits of one row: the version that lost (last-writer-wins by
-- HLC, replica id breaking ties) is kept here with the one that won, until
-- someone resolves it. id is the entity, the key and the loser's HLC and
-- replica, so the same loss seen twice (by the pusher and by the puller)
-- is one conflict.
CREATE TABLE sync_conflicts (
    id             TEXT NOT NULL PRIMARY KEY,
    entity         TEXT NOT NULL,
    entity_key     TEXT NOT NULL,   -- JSON array of the primary key values
    winner_hlc     TEXT NOT NULL,
    winner_replica TEXT NOT NULL,
    winner_payload TEXT NOT NULL,   -- JSON object of the row
    loser_hlc      TEXT NOT NULL,
    loser_replica  TEXT NOT NULL,
    loser_payload  TEXT NOT NULL,
    detected_at    TEXT NOT NULL,
    resolved_at    TEXT,
    resolution     TEXT NOT NULL DEFAULT ''  -- '', 'kept' (the winner) or 'restored' (the loser)
);
CREATE INDEX sync_conflicts_open ON sync_conflicts (resolved_at, detected_at);
