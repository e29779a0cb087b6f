-- A conversation holds an item id at most once (POST /v1/conversations/{id}/items, and a response made
-- in the conversation, which appends its input and output). The requests check first, for their 400;
-- this unique index makes it hold against concurrent requests too (another process, another isolate):
-- the insert that would repeat an id fails, and with it the whole batch it is in (the request maps the
-- error to the same 400). Conversations may already repeat an id (stored before this check existed):
-- those rows stay, each repeat after the first flagged `legacy_duplicate` and left out of the index.
-- (A trigger would need no flag, but would run for every item any response stores: ~5 µs a response.)
ALTER TABLE items ADD COLUMN legacy_duplicate INTEGER NOT NULL DEFAULT 0;

UPDATE items SET legacy_duplicate = 1
WHERE role = 'item' AND EXISTS (
    SELECT 1 FROM items AS earlier
    WHERE earlier.container = items.container AND earlier.item_id = items.item_id
      AND earlier.role = 'item' AND earlier.id < items.id
);

CREATE UNIQUE INDEX IF NOT EXISTS items_conversation_item_once ON items (container, item_id)
WHERE role = 'item' AND legacy_duplicate = 0;
