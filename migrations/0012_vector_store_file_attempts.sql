-- A file attached to a store again after it failed or was cancelled starts a new attempt, and the ids of
-- the new attempt's vectors (and its chunk rows) are its own: a cleanup of the earlier attempt still
-- running (a queued purge) deletes only what that attempt stored. Vector ids of attempt 0 are the ids
-- every chunk had before (repositories/chunks.py vector_id), so what is stored keeps its ids.
ALTER TABLE vector_store_files ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vector_store_chunks ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
