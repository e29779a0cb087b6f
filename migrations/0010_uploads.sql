-- Uploads API (/v1/uploads): a file sent in parts, joined into a file (the `files` table) when completed.
-- An upload's row says what the file will be; each part's bytes are their own R2 object under
-- `object_key`, with a row in `upload_parts` (the "blob + row" protocol of src/openai_workers_ai/storage.py).
CREATE TABLE IF NOT EXISTS uploads (
    id            TEXT PRIMARY KEY,           -- upload_<time-ordered base62>
    owner         TEXT NOT NULL,              -- SHA-256 (hex) of the API key that created it
    filename      TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    bytes         INTEGER NOT NULL,           -- the size the joined parts must have
    mime_type     TEXT NOT NULL,              -- the file's content type
    file_expires_after INTEGER,               -- expires_after.seconds for the file; NULL: the purpose's default
    created_at    INTEGER NOT NULL,           -- Unix seconds
    expires_at    INTEGER NOT NULL,           -- an hour after created_at: then parts are no longer taken
    status        TEXT NOT NULL,              -- pending | completing | completed | cancelled
    file_id       TEXT,                       -- the file made by completing it
    updated_at    INTEGER NOT NULL
);
-- The cleanup drops the rows of uploads long expired (`WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`).
CREATE INDEX IF NOT EXISTS uploads_expires_at ON uploads (expires_at);

CREATE TABLE IF NOT EXISTS upload_parts (
    id           TEXT PRIMARY KEY,            -- part_<time-ordered base62>
    upload_id    TEXT NOT NULL,
    object_key   TEXT NOT NULL UNIQUE,        -- R2 key: upload_parts/<id>/<random>
    bytes        INTEGER NOT NULL,
    status       TEXT NOT NULL,               -- uploading | ready | deleting
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,                     -- the upload's (now, once it is completed or cancelled):
                                              -- storage.sweep deletes the parts left behind
    updated_at   INTEGER NOT NULL
);
-- An upload's parts (completing, cancelling): `WHERE upload_id = ?`.
CREATE INDEX IF NOT EXISTS upload_parts_upload ON upload_parts (upload_id, id);
-- storage.sweep: stale writes (partial, as files_unsettled in 0007) and expired parts.
CREATE INDEX IF NOT EXISTS upload_parts_unsettled ON upload_parts (updated_at) WHERE status IN ('uploading', 'deleting');
CREATE INDEX IF NOT EXISTS upload_parts_expires_at ON upload_parts (expires_at) WHERE expires_at IS NOT NULL;
