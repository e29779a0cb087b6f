-- A stored chat completion keeps its `chat.completion` object and its request's messages (a JSON array, each message
-- with its id) in its own row, not in rows of `items`, when they are small: the object at most 64 KiB of JSON, each
-- message too (as an item is kept in its row) and the messages 1 MiB together (half a D1 row, which holds 2 MB: the
-- row with both stays well under it). A stored completion then writes its row alone, one INSERT: 5 rows on D1 (the
-- row and its 4 index entries), not 13 (its object and one message as items: 4 each). NULL when they are rows of
-- `items`, as before (a message over 64 KiB, as an image sent as a data URL makes one, or messages over 1 MiB
-- together; every completion stored before this).
ALTER TABLE chat_completions ADD COLUMN completion TEXT;
ALTER TABLE chat_completions ADD COLUMN messages TEXT;
