"""A keyword search reads the searched stores' chunks, not every store's: its cost does not grow with
the chunks other stores (other users') hold, however many of them match its words. Counted in SQLite's
own virtual-machine steps (deterministic), not time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.repositories import chunks

from .conftest import ROOT, migrated_before


def store_with_chunks(db: SQLiteD1, store_id: str, texts: list[str]) -> None:
    db.conn.execute("INSERT INTO vector_stores (id, owner, name, metadata, last_active_at, created_at, status)"
                    " VALUES (?, 'o', 'n', '{}', 0, 0, 'active')", (store_id,))
    db.conn.execute("INSERT INTO vector_store_files (vector_store_id, id, filename, status, attributes, chunk_tokens,"
                    " overlap_tokens, chunk_count, created_at, updated_at) VALUES (?, 'file-1', 'f.txt', 'completed',"
                    " '{}', 100, 0, ?, 0, 0)", (store_id, len(texts)))
    db.conn.executemany(
        "INSERT INTO vector_store_chunks (vector_id, vector_store_id, file_id, idx, text, tokens)"
        " VALUES (?, ?, 'file-1', ?, ?, 10)",
        [(chunks.vector_id(store_id, "file-1", i), store_id, i, text) for i, text in enumerate(texts)])


async def steps_of_search(db: SQLiteD1, store_id: str) -> tuple[int, list[str]]:
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0

    db.conn.set_progress_handler(count, 100)
    try:
        found = await chunks.keyword_search(db, [store_id], "invoice total", 5)
    finally:
        db.conn.set_progress_handler(None, 0)
    return steps[0], [f.text for f in found]


async def test_a_search_reads_its_stores_chunks_not_every_stores(db: SQLiteD1) -> None:
    mine = [f"invoice {i} total due" if i % 3 == 0 else f"note {i} about lunch" for i in range(30)]
    store_with_chunks(db, "vs_mine", mine)
    alone, found_alone = await steps_of_search(db, "vs_mine")
    assert found_alone and all("invoice" in text for text in found_alone)
    others: list[Any] = [f"invoice {i} total for another customer" for i in range(5000)]
    store_with_chunks(db, "vs_theirs", others)
    beside, found_beside = await steps_of_search(db, "vs_mine")
    assert found_beside == found_alone  # the other store's matches are not among them, nor change the ranking
    assert beside < 2 * alone + 20, (alone, beside)  # not ~170x: 5,000 more matching chunks were not read


async def test_the_migration_indexes_the_chunks_already_stored(tmp_path: Path) -> None:
    db = migrated_before(tmp_path, "0008_keyword_search_by_store.sql")
    store_with_chunks(db, "vs_old", [f"invoice {i} total" for i in range(12)])
    assert "0008_keyword_search_by_store.sql" in db.apply_migrations(ROOT / "migrations")
    indexed = db.conn.execute("SELECT COUNT(*) FROM vector_store_chunks_fts WHERE vector_store_chunks_fts MATCH"
                              " 'vector_store_id : \"vs_old\"'").fetchone()[0]
    assert indexed == 12
    _, found = await steps_of_search(db, "vs_old")
    assert len(found) == 5 and all(text.startswith("invoice") for text in found)
