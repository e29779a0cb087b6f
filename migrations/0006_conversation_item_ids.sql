-- A conversation holds an item id at most once (POST /v1/conversations/{id}/items, and a response made
-- in the conversation, which appends its input and output). The requests check first, for their 400;
-- this trigger makes it hold against concurrent requests too (another process, another isolate): the
-- insert that would repeat an id aborts, and with it the whole batch it is in (the request maps the
-- message below to the same 400). A trigger, not a UNIQUE index: an index could not be created on a
-- database that already holds a repeated id, and those rows stay as they are.
CREATE TRIGGER IF NOT EXISTS items_conversation_item_once BEFORE INSERT ON items
WHEN NEW.role = 'item' AND EXISTS (SELECT 1 FROM items WHERE container = NEW.container AND item_id = NEW.item_id)
BEGIN
    SELECT RAISE(ABORT, 'conversation_item_id_taken');
END;
