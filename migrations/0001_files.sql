-- Files API (/v1/files): one row per uploaded file; the bytes live in R2 under `object_key`.
-- The columns id/object_key/bytes/status/updated_at/expires_at are the "blob + row" protocol's
-- (src/openai_workers_ai/storage.py); every table of R2-backed objects has them.
CREATE TABLE IF NOT EXISTS files (
    id           TEXT PRIMARY KEY,            -- file-<time-ordered base62>: ORDER BY id = creation order
    owner        TEXT NOT NULL,               -- SHA-256 (hex) of the API key that created it, never the key
    object_key   TEXT NOT NULL UNIQUE,        -- R2 key: files/<id>/<random>, not guessable from the id
    filename     TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    created_at   INTEGER NOT NULL,            -- Unix seconds
    expires_at   INTEGER,                     -- Unix seconds; NULL: kept until deleted
    status       TEXT NOT NULL,               -- uploading | processed | deleting (only processed is served)
    updated_at   INTEGER NOT NULL             -- last status change: finds stale uploading/deleting rows
);

CREATE INDEX IF NOT EXISTS files_owner_id ON files (owner, id);
CREATE INDEX IF NOT EXISTS files_status_updated ON files (status, updated_at);
CREATE INDEX IF NOT EXISTS files_expires_at ON files (expires_at) WHERE expires_at IS NOT NULL;
