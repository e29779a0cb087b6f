-- A streamed response's stream, as much of it as its stored object does not say: each event's type and output
-- index, and the length of each delta (JSON). `GET /v1/responses/{id}?stream=true` rebuilds the same events
-- from it and the stored items, numbered as they were sent. NULL for a response that was not streamed.
ALTER TABLE responses ADD COLUMN stream_shape TEXT;
