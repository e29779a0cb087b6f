"""The ``vector_store_chunks`` table and its FTS5 index: the text of every chunk ingestion made, under
the id of its vector; keyword search; the chunks a vector query matched, with their files.

Only chunks of ``completed`` files are ever returned by a search: an ingestion writes its chunks
(and vectors) before its file is complete, and a failed one deletes them.
"""

from __future__ import annotations

import hashlib
import re
from base64 import urlsafe_b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from json import loads
from typing import Any

from ..ports import Database, MetadataValue

D1_MAX_PARAMS = 100  # D1 binds at most 100 parameters per statement
_WORD = re.compile(r"\w+")


def vector_id(store_id: str, file_id: str, index: int, attempt: int = 0) -> str:
    """The id of a chunk's vector: the same for the same store, file, attempt and chunk (so a redelivered
    ingestion overwrites rather than duplicates), another for another attempt at the file (attached again
    after it failed or was cancelled: ``migrations/0012``), and under Vectorize's 64 bytes. Attempt 0's
    ids are the ones chunks had before attempts were counted."""
    key = f"{store_id}\x00{file_id}" + (f"\x00{attempt}" if attempt else "")
    digest = hashlib.sha256(key.encode()).digest()[:16]
    return f"{urlsafe_b64encode(digest).decode().rstrip('=')}.{index}"


@dataclass(frozen=True, slots=True)
class Stored:
    """What one attempt at ingesting a file of a store may have stored: its first ``count`` chunks, each a
    row here and a vector in the index (ingestion counts a chunk before it stores it)."""

    store_id: str
    file_id: str
    attempt: int
    count: int

    def vector_ids(self, start: int = 0, end: int | None = None) -> list[str]:
        """The vector ids of chunks ``start`` to ``end`` (excluded; ``count`` by default)."""
        return [vector_id(self.store_id, self.file_id, i, self.attempt)
                for i in range(start, self.count if end is None else end)]


@dataclass(frozen=True, slots=True)
class Found:
    """A chunk a search found, with what a result shows of its file."""

    vector_id: str
    vector_store_id: str
    file_id: str
    index: int
    text: str
    filename: str
    attributes: dict[str, MetadataValue]


async def upsert(db: Database, store_id: str, file_id: str, attempt: int,
                 chunks: Sequence[tuple[int, str, int]]) -> None:
    """Store ``(index, text, tokens)`` chunks of an attempt at a file (one transaction per 100), replacing
    any with the same index: an upsert, so the FTS triggers see an update, not a silent replace."""
    statements = [
        db.prepare(
            "INSERT INTO vector_store_chunks (vector_id, vector_store_id, file_id, attempt, idx, text, tokens)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (vector_id) DO UPDATE SET text = excluded.text,"
            " tokens = excluded.tokens"
        ).bind(vector_id(store_id, file_id, index, attempt), store_id, file_id, attempt, index, text, tokens)
        for index, text, tokens in chunks
    ]
    for start in range(0, len(statements), 100):
        await db.batch(statements[start : start + 100])


async def delete_for_file(db: Database, stored: Stored, *, start: int = 0) -> None:
    """The chunk rows of an attempt at a file from index ``start`` on."""
    await db.prepare(
        "DELETE FROM vector_store_chunks WHERE vector_store_id = ? AND file_id = ? AND idx >= ? AND attempt = ?"
    ).bind(stored.store_id, stored.file_id, start, stored.attempt).run()


async def texts(db: Database, store_id: str, file_id: str, attempt: int, after: int, limit: int) -> list[tuple[int, str]]:
    """``(index, text)`` of the chunks of an attempt at a file past ``after``, in order."""
    rows = await db.prepare(
        "SELECT idx, text FROM vector_store_chunks WHERE vector_store_id = ? AND file_id = ? AND idx > ?"
        " AND attempt = ? ORDER BY idx LIMIT ?"
    ).bind(store_id, file_id, after, attempt, limit).all()
    return [(int(r["idx"]), r["text"]) for r in rows]


_FOUND = ("SELECT c.vector_id, c.vector_store_id, c.file_id, c.idx, c.text, f.filename, f.attributes"
          " FROM vector_store_chunks c JOIN vector_store_files f"
          " ON f.vector_store_id = c.vector_store_id AND f.id = c.file_id AND f.attempt = c.attempt")


def _found(row: dict[str, Any]) -> Found:
    return Found(row["vector_id"], row["vector_store_id"], row["file_id"], int(row["idx"]), row["text"],
                 row["filename"], loads(row["attributes"]))


async def by_vector_ids(db: Database, ids: Sequence[str]) -> dict[str, Found]:
    """The chunks (of completed files, their current attempt) under these vector ids; ids of nothing are left out."""
    out: dict[str, Found] = {}
    step = D1_MAX_PARAMS - 1
    for start in range(0, len(ids), step):
        part = ids[start : start + step]
        marks = ", ".join("?" * len(part))
        rows = await db.prepare(f"{_FOUND} WHERE c.vector_id IN ({marks}) AND f.status = ?").bind(
            *part, "completed"
        ).all()
        out.update((r["vector_id"], _found(r)) for r in rows)
    return out


def match_expression(query: str) -> str | None:
    """An FTS5 query for the words of ``query``, any of them (each quoted: no FTS5 syntax gets
    through), or None when it has no words."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:64]
    return " OR ".join(f'"{w}"' for w in words) or None


async def keyword_search(db: Database, store_ids: Sequence[str], query: str, limit: int) -> list[Found]:
    """The chunks of completed files (their current attempt) in the stores that best match ``query``'s words (BM25), best first."""
    expression = match_expression(query)
    if expression is None:
        return []
    stores = " OR ".join(f'vector_store_id : "{store_id}"' for store_id in store_ids)  # ids: letters, digits, _
    marks = ", ".join("?" * len(store_ids))
    rows = await db.prepare(  # the stores matched first: only their chunks are read and ranked (by their text)
        "SELECT c.vector_id, c.vector_store_id, c.file_id, c.idx, c.text, f.filename, f.attributes"
        " FROM vector_store_chunks_fts s JOIN vector_store_chunks c ON c.rowid = s.rowid"
        " JOIN vector_store_files f ON f.vector_store_id = c.vector_store_id AND f.id = c.file_id"
        " AND f.attempt = c.attempt"
        f" WHERE vector_store_chunks_fts MATCH ? AND c.vector_store_id IN ({marks}) AND f.status = ?"
        " ORDER BY bm25(vector_store_chunks_fts, 1.0, 0.0), c.vector_id LIMIT ?"
    ).bind(f"({stores}) AND ({expression})", *store_ids, "completed", limit).all()
    return [_found(r) for r in rows]
