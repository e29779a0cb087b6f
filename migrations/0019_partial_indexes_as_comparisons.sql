-- The partial indexes whose condition was a list of three or more values (`status IN ('a', 'b', 'c')`) are
-- written as comparisons (`status = 'a' OR status = 'b' OR status = 'c'`): the same rows, the same queries
-- (which now write their condition the same way: a query reads through a partial index only when its WHERE
-- holds the index's condition). Every insert into the table evaluates the condition for its rows, and SQLite
-- runs a list of three or more constants through a temporary B-tree built each time a statement runs, where
-- the comparisons are three opcodes (`EXPLAIN` shows `OpenEphemeral` for the one, not for the other; a list of
-- two is compiled to comparisons already). A stored response's items paid it on every write: SQLite's share of
-- a stored response ~8 µs less here (docs/benchmarks.md).
DROP INDEX IF EXISTS items_referable;
CREATE INDEX IF NOT EXISTS items_referable ON items (item_id, owner)
    WHERE role = 'input' OR role = 'output' OR role = 'item';

DROP INDEX IF EXISTS runs_active_expiry;
CREATE INDEX IF NOT EXISTS runs_active_expiry ON runs (expires_at)
    WHERE status = 'queued' OR status = 'in_progress' OR status = 'requires_action' OR status = 'cancelling';

DROP INDEX IF EXISTS runs_thread_active;
CREATE INDEX IF NOT EXISTS runs_thread_active ON runs (thread_id, expires_at)
    WHERE status = 'queued' OR status = 'in_progress' OR status = 'requires_action' OR status = 'cancelling';

DROP INDEX IF EXISTS batches_unsettled;
CREATE INDEX IF NOT EXISTS batches_unsettled ON batches (updated_at)
    WHERE status = 'validating' OR status = 'in_progress' OR status = 'finalizing' OR status = 'cancelling';
