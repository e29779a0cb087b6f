-- Every statement the app runs reads through an index (tests/test_query_plans.py checks each one's plan):
-- D1 bills and limits by rows read, and these tables grow with use.
--
-- An index led by `status` (a handful of values) is a trap: without statistics (D1 runs no ANALYZE)
-- SQLite rates `status = ?` as selective as `container = ? AND item_id = ?`, and chose it for look-ups
-- by container, owner or store, reading every `ready` item / `processed` file / `completed` store file
-- (50,000 rows in a table of 50,000). The cleanups' look-ups of rows in flight (`uploading`, `deleting`,
-- `in_progress`) use partial indexes instead, which hold only those rows: nothing to write for the rest.

-- storage.sweep, stale writes: `WHERE status IN ('uploading', 'deleting') AND updated_at <= ? ORDER BY updated_at`.
DROP INDEX IF EXISTS files_status_updated;
CREATE INDEX IF NOT EXISTS files_unsettled ON files (updated_at) WHERE status IN ('uploading', 'deleting');
DROP INDEX IF EXISTS items_status_updated;
CREATE INDEX IF NOT EXISTS items_unsettled ON items (updated_at) WHERE status IN ('uploading', 'deleting');
-- storage.sweep, expired rows: `WHERE status = ? AND expires_at IS NOT NULL AND expires_at <= ?` (as
-- files_expires_at for files). An item's expires_at is always NULL: this index stays empty.
CREATE INDEX IF NOT EXISTS items_expires_at ON items (expires_at) WHERE expires_at IS NOT NULL;

-- vector_store_files.stale: `WHERE status IN ('in_progress', 'deleting') AND updated_at <= ? ORDER BY updated_at`.
DROP INDEX IF EXISTS vector_store_files_status;
CREATE INDEX IF NOT EXISTS vector_store_files_unsettled ON vector_store_files (updated_at)
    WHERE status IN ('in_progress', 'deleting');
-- ... and failed or cancelled files whose cleanup left chunks (the index failed): nearly always none.
CREATE INDEX IF NOT EXISTS vector_store_files_left_behind ON vector_store_files (updated_at)
    WHERE status IN ('failed', 'cancelled') AND chunk_count > 0;

-- A thread's active run (at most one): adding a message or a run checks there is none (`NOT EXISTS`),
-- runs.active_in names it, runs.overdue(thread_id) expires it. runs_thread_id read every run of the thread.
CREATE INDEX IF NOT EXISTS runs_thread_active ON runs (thread_id, expires_at)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

-- vector_stores.to_clean: stores whose delete failed halfway (`WHERE status = 'deleting'`), which was a
-- scan of every store (the expired ones are found by vector_stores_expires_at).
CREATE INDEX IF NOT EXISTS vector_stores_deleting ON vector_stores (id) WHERE status = 'deleting';
