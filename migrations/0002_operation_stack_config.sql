-- The resolved config a stack was deployed with in an operation, sealed
-- like secret outputs (it may hold secrets), so that a rollback replays
-- exactly what that operation ran rather than resolving placeholders again.
ALTER TABLE operation_stacks ADD COLUMN config TEXT;
