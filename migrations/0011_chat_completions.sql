-- Stored chat completions (POST /v1/chat/completions with `store: true`; GET/POST/DELETE
-- /v1/chat/completions[/{completion_id}[/messages]]). A row says whose completion it is and what the list
-- filters on; the completion object and the request's messages are rows of `items` (container: the
-- completion's id; role `completion`, one row, and `message`, one a message in order), so one larger than
-- 64 KiB (an image sent as a data URL) lives in R2 as any item does (src/openai_workers_ai/repositories/items.py).
-- Stored completions do not expire.
CREATE TABLE IF NOT EXISTS chat_completions (
    id         TEXT PRIMARY KEY,              -- the completion's own id: chatcmpl-<24 random letters and digits>
    owner      TEXT NOT NULL,                 -- SHA-256 (hex) of the API key that created it
    model      TEXT NOT NULL,                 -- the completion's `model` (the Workers AI model id)
    metadata   TEXT NOT NULL,                 -- JSON object of strings (updated by POST /chat/completions/{id})
    created_at INTEGER NOT NULL               -- the completion's `created` (Unix seconds)
);

-- Lists are ordered by created_at (ids are random), then id: a caller's, a caller's of one model, everyone's
-- (an admin key).
CREATE INDEX IF NOT EXISTS chat_completions_owner_created ON chat_completions (owner, created_at, id);
CREATE INDEX IF NOT EXISTS chat_completions_owner_model_created ON chat_completions (owner, model, created_at, id);
CREATE INDEX IF NOT EXISTS chat_completions_created ON chat_completions (created_at, id);
