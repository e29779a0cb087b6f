-- Assistants API (/v1/assistants, /v1/threads): assistants, threads, their messages, runs and run steps.
-- Ids are <prefix><time-ordered base62> (ids.new_sortable_id): ORDER BY id is creation order.
-- JSON columns hold the API's own objects (tools, content parts, step_details …) as JSON text.
-- No foreign keys: deleting an assistant leaves its threads and runs (as OpenAI does); deleting a thread
-- removes its messages, runs and steps in one D1 batch (repositories/threads.py).

CREATE TABLE IF NOT EXISTS assistants (
    id               TEXT PRIMARY KEY,        -- asst_…
    owner            TEXT NOT NULL,           -- SHA-256 (hex) of the API key that created it
    created_at       INTEGER NOT NULL,        -- Unix seconds
    model            TEXT NOT NULL,           -- as the client named it (an alias or a Workers AI id)
    name             TEXT,
    description      TEXT,
    instructions     TEXT,
    tools            TEXT NOT NULL,           -- JSON array
    tool_resources   TEXT,                    -- JSON object
    metadata         TEXT NOT NULL,           -- JSON object
    temperature      REAL,
    top_p            REAL,
    response_format  TEXT NOT NULL,           -- JSON: "auto" or an object
    reasoning_effort TEXT
);
CREATE INDEX IF NOT EXISTS assistants_owner_id ON assistants (owner, id);

CREATE TABLE IF NOT EXISTS threads (
    id             TEXT PRIMARY KEY,          -- thread_…
    owner          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    tool_resources TEXT,                      -- JSON object
    metadata       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS threads_owner_id ON threads (owner, id);

CREATE TABLE IF NOT EXISTS messages (
    id                 TEXT PRIMARY KEY,      -- msg_…
    thread_id          TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    role               TEXT NOT NULL,         -- user | assistant
    content            TEXT NOT NULL,         -- JSON array of content parts, as the API shows them
    attachments        TEXT,                  -- JSON array, or NULL
    metadata           TEXT NOT NULL,
    status             TEXT NOT NULL,         -- in_progress | incomplete | completed
    assistant_id       TEXT,
    run_id             TEXT,                  -- the run that wrote it (assistant replies)
    completed_at       INTEGER,
    incomplete_at      INTEGER,
    incomplete_details TEXT                   -- JSON {reason}, or NULL
);
CREATE INDEX IF NOT EXISTS messages_thread_id ON messages (thread_id, id);
CREATE INDEX IF NOT EXISTS messages_run_id ON messages (run_id) WHERE run_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS runs (
    id                    TEXT PRIMARY KEY,   -- run_…
    thread_id             TEXT NOT NULL,
    owner                 TEXT NOT NULL,
    assistant_id          TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    status                TEXT NOT NULL,      -- queued | in_progress | requires_action | cancelling | cancelled
                                              -- | failed | completed | incomplete | expired
    model                 TEXT NOT NULL,      -- the Workers AI id that runs it
    instructions          TEXT NOT NULL,      -- the assistant's (or the override) + additional_instructions
    tools                 TEXT NOT NULL,
    metadata              TEXT NOT NULL,
    temperature           REAL,
    top_p                 REAL,
    max_prompt_tokens     INTEGER,
    max_completion_tokens INTEGER,
    truncation_strategy   TEXT NOT NULL,
    tool_choice           TEXT NOT NULL,
    parallel_tool_calls   INTEGER NOT NULL,
    response_format       TEXT NOT NULL,
    reasoning_effort      TEXT,
    required_action       TEXT,               -- JSON, while requires_action
    tool_outputs          TEXT,               -- JSON: outputs submitted, for the executor to record
    last_error            TEXT,
    incomplete_details    TEXT,
    prompt_tokens         INTEGER,            -- usage so far (NULL: none yet)
    completion_tokens     INTEGER,
    started_at            INTEGER,
    expires_at            INTEGER,            -- an active run past it becomes expired (cron and on read)
    cancelled_at          INTEGER,
    failed_at             INTEGER,
    completed_at          INTEGER,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_thread_id ON runs (thread_id, id);
CREATE INDEX IF NOT EXISTS runs_active_expiry ON runs (expires_at)
    WHERE status IN ('queued', 'in_progress', 'requires_action', 'cancelling');

CREATE TABLE IF NOT EXISTS run_steps (
    id                TEXT PRIMARY KEY,       -- step_…
    run_id            TEXT NOT NULL,
    thread_id         TEXT NOT NULL,
    assistant_id      TEXT NOT NULL,
    created_at        INTEGER NOT NULL,
    type              TEXT NOT NULL,          -- message_creation | tool_calls
    status            TEXT NOT NULL,          -- in_progress | cancelled | failed | completed | expired
    step_details      TEXT NOT NULL,          -- JSON, as the API shows it
    last_error        TEXT,
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    expired_at        INTEGER,
    cancelled_at      INTEGER,
    failed_at         INTEGER,
    completed_at      INTEGER
);
CREATE INDEX IF NOT EXISTS run_steps_run_id ON run_steps (run_id, id);
CREATE INDEX IF NOT EXISTS run_steps_thread_id ON run_steps (thread_id);
