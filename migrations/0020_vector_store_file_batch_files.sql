-- The files each vector store file batch named. A batch's files were the store's files whose `batch_id` was
-- the batch's, and a file has one `batch_id`: a file a later batch named again (in the store already, or
-- started over after it failed or was cancelled) left the batch it was in, whose file_counts and list then
-- lost it. A file is in every batch that named it now, counted and listed by each with its status (the
-- store's one row of it: the store's own file_counts count it once). `vector_store_files.batch_id` still
-- names the batch whose job ingests the file. Taking a file out of the store (or deleting the store) takes it
-- out of its batches (the foreign key).
CREATE TABLE IF NOT EXISTS vector_store_file_batch_files (
    batch_id        TEXT NOT NULL,                  -- vsfb_…
    vector_store_id TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    PRIMARY KEY (batch_id, file_id),                -- a batch's counts, list and cancel
    FOREIGN KEY (vector_store_id, file_id) REFERENCES vector_store_files (vector_store_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- The foreign key's own look-up: a file taken out of the store finds its batches' rows by it.
CREATE INDEX IF NOT EXISTS vector_store_file_batch_files_file ON vector_store_file_batch_files (vector_store_id, file_id);

INSERT OR IGNORE INTO vector_store_file_batch_files (batch_id, vector_store_id, file_id)
SELECT batch_id, vector_store_id, id FROM vector_store_files WHERE batch_id IS NOT NULL;
