-- A response whose input is one item it gave the id to (a text input, or one item sent without an id) keeps that
-- item in its own row, not in a row of `items` (a conversation it is in still gets its copy as a row): the item's id
-- is its type's prefix (`msg_`, `fco_` …) and the response's own hex digits, so an `item_reference` to it finds the
-- row by the response's key. A stored response with a text input then writes 7 rows on D1, not 12 (its row: 2; its
-- output message: 5; 0022 takes it to 2). NULL for every other response (its input is rows of `items`, as before:
-- more than one item, one sent with its id, one over 64 KiB of JSON), and for every response stored before this.
ALTER TABLE responses ADD COLUMN input_item TEXT;
