-- Vector stores (/v1/vector_stores): stores, the files attached to them, file batches, and the chunks
-- ingestion cut each file into. Chunk text lives here (with an FTS5 index for keyword search); the
-- vectors live in the vector index (Vectorize in the Worker), one per chunk, under the chunk's
-- `vector_id`. Deleting a store deletes its files, batches and chunks (foreign keys; D1 enforces them).
CREATE TABLE IF NOT EXISTS vector_stores (
    id                 TEXT PRIMARY KEY,            -- vs_<time-ordered base62>: ORDER BY id = creation order
    owner              TEXT NOT NULL,               -- SHA-256 (hex) of the API key that created it
    name               TEXT NOT NULL,
    description        TEXT,
    metadata           TEXT NOT NULL,               -- JSON object of strings
    expires_after_days INTEGER,                     -- expires_after {anchor: last_active_at, days}; NULL: never
    expires_at         INTEGER,                     -- last_active_at + days; NULL: never
    last_active_at     INTEGER NOT NULL,            -- Unix seconds: created, searched, or a file attached
    created_at         INTEGER NOT NULL,
    status             TEXT NOT NULL                -- active | deleting (a delete that failed halfway)
);

CREATE INDEX IF NOT EXISTS vector_stores_owner_id ON vector_stores (owner, id);
CREATE INDEX IF NOT EXISTS vector_stores_expires_at ON vector_stores (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS vector_store_file_batches (
    id              TEXT PRIMARY KEY,               -- vsfb_<time-ordered base62>
    vector_store_id TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    cancelled       INTEGER NOT NULL DEFAULT 0      -- 1 once cancelled; other statuses follow from its files
);

CREATE INDEX IF NOT EXISTS vector_store_file_batches_store ON vector_store_file_batches (vector_store_id);

CREATE TABLE IF NOT EXISTS vector_store_files (
    vector_store_id    TEXT NOT NULL REFERENCES vector_stores (id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,               -- the Files API id (file-…): a file is in a store once
    batch_id           TEXT,                        -- the file batch that attached it, if any
    filename           TEXT NOT NULL,               -- copied when attached: results name it after the file is gone
    status             TEXT NOT NULL,               -- in_progress | completed | failed | cancelled | deleting
    last_error_code    TEXT,                        -- server_error | unsupported_file | invalid_file
    last_error_message TEXT,
    attributes         TEXT NOT NULL,               -- JSON object: strings, numbers, booleans
    chunk_tokens       INTEGER NOT NULL,            -- the static chunking strategy it was (or is being) cut with
    overlap_tokens     INTEGER NOT NULL,
    chunk_count        INTEGER NOT NULL DEFAULT 0,  -- set before any vector is stored: the vectors it may own
    usage_bytes        INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,            -- a running ingestion's heartbeat; finds stale work
    PRIMARY KEY (vector_store_id, id)
);

CREATE INDEX IF NOT EXISTS vector_store_files_status ON vector_store_files (status, updated_at);
CREATE INDEX IF NOT EXISTS vector_store_files_batch ON vector_store_files (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS vector_store_chunks (
    vector_id       TEXT PRIMARY KEY,               -- the vector's id in the index: derived from store, file and idx
    vector_store_id TEXT NOT NULL,
    file_id         TEXT NOT NULL,
    idx             INTEGER NOT NULL,               -- the chunk's place in the file, from 0
    text            TEXT NOT NULL,
    tokens          INTEGER NOT NULL,
    FOREIGN KEY (vector_store_id, file_id) REFERENCES vector_store_files (vector_store_id, id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS vector_store_chunks_file ON vector_store_chunks (vector_store_id, file_id, idx);

-- Keyword search: an external-content FTS5 index over the chunks' text, kept in step by triggers.
CREATE VIRTUAL TABLE IF NOT EXISTS vector_store_chunks_fts USING fts5 (
    text, content = 'vector_store_chunks', content_rowid = 'rowid', tokenize = 'porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS vector_store_chunks_ai AFTER INSERT ON vector_store_chunks BEGIN
    INSERT INTO vector_store_chunks_fts (rowid, text) VALUES (new.rowid, new.text);
END;

CREATE TRIGGER IF NOT EXISTS vector_store_chunks_ad AFTER DELETE ON vector_store_chunks BEGIN
    INSERT INTO vector_store_chunks_fts (vector_store_chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;

CREATE TRIGGER IF NOT EXISTS vector_store_chunks_au AFTER UPDATE ON vector_store_chunks BEGIN
    INSERT INTO vector_store_chunks_fts (vector_store_chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO vector_store_chunks_fts (rowid, text) VALUES (new.rowid, new.text);
END;
