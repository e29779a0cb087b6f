-- Keyword search reads only the searched stores' chunks. The FTS5 index held the chunks' text alone, so
-- a search matched the query's words in every store's chunks (every user's), ranked all of them and only
-- then kept the searched stores' (a common word in a million chunks: a million rows read for one search).
-- The index now holds each chunk's store id too, as a column the search matches first
-- (`vector_store_id : "vs_…" AND (words)`): FTS5 intersects the two, and ranks what is left.
--
-- The index is made again from the chunks: in ranges of rowids, so that no statement runs long (D1 stops
-- a query at 30 s); a range with no chunks costs nothing.
DROP TRIGGER IF EXISTS vector_store_chunks_ai;
DROP TRIGGER IF EXISTS vector_store_chunks_ad;
DROP TRIGGER IF EXISTS vector_store_chunks_au;
DROP TABLE IF EXISTS vector_store_chunks_fts;

CREATE VIRTUAL TABLE IF NOT EXISTS vector_store_chunks_fts USING fts5 (
    text, vector_store_id, content = 'vector_store_chunks', content_rowid = 'rowid', tokenize = 'porter unicode61'
);

CREATE TRIGGER IF NOT EXISTS vector_store_chunks_ai AFTER INSERT ON vector_store_chunks BEGIN
    INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id) VALUES (new.rowid, new.text, new.vector_store_id);
END;

CREATE TRIGGER IF NOT EXISTS vector_store_chunks_ad AFTER DELETE ON vector_store_chunks BEGIN
    INSERT INTO vector_store_chunks_fts (vector_store_chunks_fts, rowid, text, vector_store_id)
    VALUES ('delete', old.rowid, old.text, old.vector_store_id);
END;

CREATE TRIGGER IF NOT EXISTS vector_store_chunks_au AFTER UPDATE ON vector_store_chunks BEGIN
    INSERT INTO vector_store_chunks_fts (vector_store_chunks_fts, rowid, text, vector_store_id)
    VALUES ('delete', old.rowid, old.text, old.vector_store_id);
    INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id) VALUES (new.rowid, new.text, new.vector_store_id);
END;

INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 0 AND rowid <= 500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 500000 AND rowid <= 1000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 1000000 AND rowid <= 1500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 1500000 AND rowid <= 2000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 2000000 AND rowid <= 2500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 2500000 AND rowid <= 3000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 3000000 AND rowid <= 3500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 3500000 AND rowid <= 4000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 4000000 AND rowid <= 4500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 4500000 AND rowid <= 5000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 5000000 AND rowid <= 5500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 5500000 AND rowid <= 6000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 6000000 AND rowid <= 6500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 6500000 AND rowid <= 7000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 7000000 AND rowid <= 7500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 7500000 AND rowid <= 8000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 8000000 AND rowid <= 8500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 8500000 AND rowid <= 9000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 9000000 AND rowid <= 9500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 9500000 AND rowid <= 10000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 10000000 AND rowid <= 10500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 10500000 AND rowid <= 11000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 11000000 AND rowid <= 11500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 11500000 AND rowid <= 12000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 12000000 AND rowid <= 12500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 12500000 AND rowid <= 13000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 13000000 AND rowid <= 13500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 13500000 AND rowid <= 14000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 14000000 AND rowid <= 14500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 14500000 AND rowid <= 15000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 15000000 AND rowid <= 15500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 15500000 AND rowid <= 16000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 16000000 AND rowid <= 16500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 16500000 AND rowid <= 17000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 17000000 AND rowid <= 17500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 17500000 AND rowid <= 18000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 18000000 AND rowid <= 18500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 18500000 AND rowid <= 19000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 19000000 AND rowid <= 19500000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 19500000 AND rowid <= 20000000;
INSERT INTO vector_store_chunks_fts (rowid, text, vector_store_id)
    SELECT rowid, text, vector_store_id FROM vector_store_chunks WHERE rowid > 20000000;
