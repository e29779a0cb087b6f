-- A response whose output is one item (a message, a function call) keeps that item in its own row (written with the
-- row, or as a background response ends), as it keeps its input (0021; a conversation it is in still gets its copy
-- as a row): its id is its type's prefix and the response's hex digits with the last one moved up by one (mod 16),
-- so an `item_reference` to it finds the row by the response's key. A stored response with a text input and one
-- output item then writes 2 rows on D1, not 7 (its row and its id), and is read back with one query. NULL for every
-- other response (its output is rows of `items`, as before: more than one item, one over 64 KiB of JSON), and for
-- every response stored before this.
ALTER TABLE responses ADD COLUMN output_item TEXT;
