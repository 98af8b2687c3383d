-- 0003_event_gseq: a store-wide event sequence.
--
-- events.seq counts per operation; a stream over a whole deployment needs
-- one position that increases across operations. gseq is that position:
-- 1, 2, 3, … in commit order over the whole database. It is assigned by the
-- writer as MAX(gseq) + 1 inside the (immediate, hence serialised) write
-- transaction that appends the event, so a reader that sees gseq N has
-- also seen every event with a smaller gseq.
--
-- gseq is local to this database: it is not part of an event's synced
-- payload, and events applied from another replica get a gseq of their own
-- when they are inserted here (the trigger below).
--
-- rowid is not used as the sequence for new rows because VACUUM may
-- renumber the rowids of a table without an INTEGER PRIMARY KEY; existing
-- rows were appended by one writer in rowid order, so they are numbered in
-- that order.
ALTER TABLE events ADD COLUMN gseq INTEGER;

UPDATE events SET gseq = numbered.n
FROM (SELECT rowid AS r, row_number() OVER (ORDER BY rowid) AS n FROM events) AS numbered
WHERE events.rowid = numbered.r;

CREATE UNIQUE INDEX events_by_gseq ON events (gseq);
CREATE INDEX events_by_deployment_gseq ON events (deployment_id, gseq);

-- The safety net for inserts that do not set gseq (fixtures written with
-- plain SQL, events applied by sync): they get the next one, in the same
-- transaction. The store's own append path sets gseq itself.
CREATE TRIGGER events_gseq_default AFTER INSERT ON events WHEN NEW.gseq IS NULL
BEGIN
    UPDATE events SET gseq = (SELECT COALESCE(MAX(gseq), 0) + 1 FROM events) WHERE rowid = NEW.rowid;
END;
