-- A background response's or an Assistants run's claim: a random token set by the job delivery (or the
-- stream) that generates it — its claim (`queued` → `in_progress`), or its takeover of an `in_progress` one
-- whose generator stopped showing signs of life. That generator's writes (the liveness mark, its end, its
-- items / a run's reply and steps, a requeue) are conditional on it, so a generator that was only slow, and
-- was taken over meanwhile, writes nothing. It stays set once the row ends.
-- While a row is `in_progress`, `updated_at` is its liveness mark: its claim's or its takeover's time, then
-- refreshed by a job's generator every 30 s (no other statement writes an `in_progress` row without moving
-- it out of `in_progress`). runner/responses.py and runner/runs.py have the limits.
ALTER TABLE responses ADD COLUMN claim TEXT;
ALTER TABLE runs ADD COLUMN claim TEXT;
