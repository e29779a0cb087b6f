-- A background response's claim: a random token set by the job delivery that generates it (its claim,
-- `queued` → `in_progress`, or its takeover of an `in_progress` one whose generator stopped showing signs of
-- life). Its generator's writes — the liveness mark, the finish and its items, a requeue — are conditional on
-- it, so a generator that was only slow, and was taken over meanwhile, writes nothing. It stays set once the
-- response ends (which delivery ended it: the one whose webhook event is sent).
-- While a response is `in_progress`, `updated_at` is its liveness mark: its claim's or its takeover's time,
-- then refreshed by the generator every 30 s (no other statement writes an `in_progress` row without ending
-- or requeueing it). runner/responses.py has the limits.
ALTER TABLE responses ADD COLUMN claim TEXT;
