-- Batch API (/v1/batches): a JSONL file of requests run in the background, their answers joined into an
-- output file and an error file (the `files` table). A batch is a row; each run of its job answers a slice
-- of its requests (the input file read by byte range: `offsets`) and writes their lines to R2 objects of
-- its own (`batches/<id>/output/<slice>-<run>` and `.../errors/...`); finalizing joins those of the runs that
-- counted their slice (`runs`) into the files.
CREATE TABLE IF NOT EXISTS batches (
    id                 TEXT PRIMARY KEY,         -- batch_<time-ordered base62>
    owner              TEXT NOT NULL,            -- SHA-256 (hex) of the API key that created it (its requests run
                                                 -- as that key is configured when they run)
    endpoint           TEXT NOT NULL,
    model              TEXT,                     -- the model its requests name (one for all)
    input_file_id      TEXT NOT NULL,
    completion_window  TEXT NOT NULL,
    status             TEXT NOT NULL,            -- validating | failed | in_progress | finalizing | completed
                                                 -- | expired | cancelling | cancelled
    errors             TEXT,                     -- JSON list of {code, message, param, line}: why it failed
    output_file_id     TEXT,
    error_file_id      TEXT,
    output_expires_after INTEGER,                -- output_expires_after.seconds; NULL: batch files' default
    metadata           TEXT NOT NULL,            -- JSON object
    created_at         INTEGER NOT NULL,
    in_progress_at     INTEGER,
    expires_at         INTEGER NOT NULL,         -- created_at + the completion window
    finalizing_at      INTEGER,
    completed_at       INTEGER,
    failed_at          INTEGER,
    expired_at         INTEGER,
    cancelling_at      INTEGER,
    cancelled_at       INTEGER,
    total              INTEGER NOT NULL DEFAULT 0,
    completed          INTEGER NOT NULL DEFAULT 0,
    failed             INTEGER NOT NULL DEFAULT 0,
    usage              TEXT NOT NULL DEFAULT '{}', -- JSON: input_tokens, output_tokens, cached and reasoning tokens
    offsets            TEXT,                     -- JSON list: byte offset of every slice's first line, then the end
    next_slice         INTEGER NOT NULL DEFAULT 0, -- the slice the next run answers
    claimed_by         TEXT,                     -- the run answering next_slice (two deliveries at once: one runs)
    claimed_until      INTEGER,                  -- when that claim lapses (its run killed), Unix seconds
    runs               TEXT NOT NULL DEFAULT '[]', -- JSON list: the run whose lines count, slice by slice (the
                                                 -- R2 objects finalizing joins; other runs' are left out)
    updated_at         INTEGER NOT NULL
);
-- A key's batches, newest first (`WHERE owner = ? … ORDER BY id DESC`), and every batch for an admin key.
CREATE INDEX IF NOT EXISTS batches_owner ON batches (owner, id);
-- The cleanup: batches whose job stopped, or whose window passed (partial: those still running).
CREATE INDEX IF NOT EXISTS batches_unsettled ON batches (updated_at)
    WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');
