-- Fewer index entries a write makes. D1 bills and limits by rows written, and a write counts one row for the
-- table and one more for each index it adds an entry to (a partial index only for the rows it holds).
-- A stored response wrote 15 (its row: 3; each of its two items: 6); it now writes 12 (2 and 5 each). A
-- conversation's item wrote 7, now 6; a stored chat completion's item 6, now 4 (tests/test_index_entries.py).
--
-- 1. A conversation's items by id (retrieve, delete, the `after` / `before` cursors of its list, the check
-- that an id is new) are read through one partial index of the conversations' items, which now holds the
-- repeats of an id stored before 0006 too: each of those is numbered (`legacy_duplicate` 1, 2 … in the order
-- they were stored), so (container, item_id, legacy_duplicate) is unique, and the id is still held once by
-- the rows numbered 0 (the ones written since 0006). A response's and a chat completion's items are looked up
-- by id only within the container's own items of one role (items_container): items_container_item, which held
-- every item, is gone.
UPDATE items SET legacy_duplicate = 1 + (
    SELECT count(*) FROM items AS earlier
    WHERE earlier.container = items.container AND earlier.item_id = items.item_id
      AND earlier.role = 'item' AND earlier.legacy_duplicate != 0 AND earlier.id < items.id
)
WHERE role = 'item' AND legacy_duplicate != 0;

CREATE UNIQUE INDEX IF NOT EXISTS items_conversation_item ON items (container, item_id, legacy_duplicate)
WHERE role = 'item';
DROP INDEX IF EXISTS items_conversation_item_once;
DROP INDEX IF EXISTS items_container_item;

-- 2. item_reference look-ups (`WHERE item_id IN (…) AND owner = ? AND role IN ('input', 'output', 'item')`):
-- led by the item id, so that an admin key's look-up (no owner) reads the ids asked for, not every item in the
-- table; and partial, so that a stored chat completion's items (which no item_reference names) add nothing.
CREATE INDEX IF NOT EXISTS items_referable ON items (item_id, owner) WHERE role IN ('input', 'output', 'item');
DROP INDEX IF EXISTS items_owner_item;

-- 3. No statement reads responses or conversations by owner (there is no list of either: each is read by its
-- id, then its owner checked).
DROP INDEX IF EXISTS responses_owner_id;
DROP INDEX IF EXISTS conversations_owner_id;
