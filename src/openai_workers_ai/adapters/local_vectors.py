"""The local stand-in for Vectorize: :class:`ports.VectorIndex` as an exact (brute-force) cosine search
over a numpy matrix, written through to a SQLite file (CPython only; never imported by the Worker).
Processes sharing the file (``serve --workers N``) see each other's writes: :class:`LocalVectorIndex`.

Why exact search over numpy rather than an approximate index: at the sizes a local server holds it
answers as fast as the HNSW libraries, returns the true nearest neighbours (so tests can assert exact
orders) and builds in no time, where HNSW took tens of seconds to index 10,000 vectors and missed most
of the true top 50 at its default settings, and sqlite-vec needs a ``sqlite3`` that can load
extensions and was far slower per query. The figures, measured by ``bench/vector_index_choice.py``,
are in docs/vector_stores.md, "The local index".
"""

from __future__ import annotations

from collections.abc import Sequence
from json import dumps, loads
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import UpstreamError
from ..ports import MetadataValue, Vector, VectorMatch
from .local import Transaction, connect

MAX_TOP_K = 100  # Vectorize's limit without returned values or metadata
_OPERATORS = ("$eq", "$ne", "$in", "$nin")
KEEP_DELETIONS = 1000
"""Generations (write calls) whose deletions are kept for other processes to catch up with; one
further behind reloads the whole index."""
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, vector BLOB NOT NULL, metadata TEXT NOT NULL,"
    " generation INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS vectors_deleted (id TEXT PRIMARY KEY, generation INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vectors_generation (one INTEGER PRIMARY KEY CHECK (one = 1),"
    " generation INTEGER NOT NULL, forgotten INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO vectors_generation (one, generation, forgotten) VALUES (1, 0, 0)",
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS vectors_by_generation ON vectors (generation)",
    "CREATE INDEX IF NOT EXISTS vectors_deleted_by_generation ON vectors_deleted (generation)",
)


class LocalVectorIndex:
    """Vectors in memory (unit length, float32, one row each) and in ``path`` (``:memory:``: not kept).

    Several processes may share ``path`` (``serve --workers N``), each with its own copy in memory.
    Every write is one transaction that bumps the file's generation and stamps what it upserted with
    it (what it deleted goes to ``vectors_deleted``, stamped likewise); before each call a process
    asks SQLite whether another connection committed since (``PRAGMA data_version``, no I/O) and, if
    one did, applies the rows stamped after the generation it holds — or reloads everything when it
    fell more than :data:`KEEP_DELETIONS` generations behind.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.conn = connect(path)  # as the local D1's: WAL, waiting for another process's write
        with self._writing():  # processes starting at once: one creates (or upgrades) the tables
            for statement in _SCHEMA:
                self.conn.execute(statement)
            columns = [row[1] for row in self.conn.execute("PRAGMA table_info(vectors)")]
            if "generation" not in columns:  # a file from before generations: every row is generation 0
                self.conn.execute("ALTER TABLE vectors ADD COLUMN generation INTEGER NOT NULL DEFAULT 0")
            for statement in _INDEXES:
                self.conn.execute(statement)
        self._generation = -1  # none yet: the first catch-up loads everything
        self._data_version: int | None = None
        self._reset()
        self._catch_up()

    def _reset(self) -> None:
        self._slot: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._metadata: list[dict[str, MetadataValue] | None] = []
        self._postings: dict[str, dict[tuple[str, MetadataValue], set[int]]] = {}
        """Metadata key → value → slots holding it: filters are set operations, not a scan."""

    def _writing(self) -> Transaction:
        """A write transaction: the write lock taken at ``BEGIN`` (waiting up to
        :data:`.local.BUSY_TIMEOUT` for another process's)."""
        return Transaction(self.conn, "BEGIN IMMEDIATE")

    def _catch_up(self, *, locked: bool = False) -> None:
        """Apply what other processes wrote since this one last looked. Unless ``locked`` (in a write
        transaction, which reads the generation anyway), nothing is read when SQLite's
        ``data_version`` says no other connection committed."""
        if not locked:
            version = self.conn.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version:
                return
        with Transaction(self.conn):  # one snapshot for the generation and the rows (or the write's own)
            generation, forgotten = self.conn.execute(
                "SELECT generation, forgotten FROM vectors_generation").fetchone()
            if generation != self._generation:
                if self._generation < forgotten or generation < self._generation:  # missed deletions: start over
                    self._reset()
                    self._generation = -1
                if self._generation >= 0:
                    deleted = self.conn.execute("SELECT id FROM vectors_deleted WHERE generation > ?",
                                                (self._generation,)).fetchall()
                    self._remove([i for (i,) in deleted])
                rows = self.conn.execute("SELECT id, vector, metadata FROM vectors WHERE generation > ?",
                                         (self._generation,)).fetchall()
                if rows:
                    self._place([(i, np.frombuffer(v, dtype=np.float32), loads(m)) for i, v, m in rows])
                self._generation = generation
        if not locked:
            self._data_version = version

    def __len__(self) -> int:
        self._catch_up()
        return len(self._slot)

    @property
    def dimensions(self) -> int | None:
        """The index's dimensions (set by the first vector), or None while it is empty of any."""
        self._catch_up()
        return self._dimensions()

    def _dimensions(self) -> int | None:
        return self._matrix.shape[1] if self._matrix.shape[1] else None

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        with self._writing():  # the write lock first: what it checks against is what it writes over
            self._catch_up(locked=True)
            prepared = []
            for vector in vectors:
                values = np.asarray(vector.values, dtype=np.float32)
                if values.ndim != 1 or not values.size or not np.isfinite(values).all():
                    raise UpstreamError(f"VECTOR_UPSERT_ERROR: vector {vector.id!r} is not a list of finite numbers")
                if self._dimensions() is not None and values.size != self._dimensions():
                    raise UpstreamError(f"VECTOR_UPSERT_ERROR: vector {vector.id!r} has {values.size} dimensions,"
                                        f" the index {self._dimensions()}")
                if len(vector.id.encode()) > 64:
                    raise UpstreamError(f"VECTOR_UPSERT_ERROR: vector id {vector.id!r} is longer than 64 bytes")
                norm = float(np.linalg.norm(values))
                prepared.append((vector.id, values / norm if norm else values, dict(vector.metadata)))
            if not prepared:
                return
            generation = self._next_generation()
            self.conn.executemany(  # one transaction: one sync to disk per upsert, not one per vector
                "INSERT OR REPLACE INTO vectors (id, vector, metadata, generation) VALUES (?, ?, ?, ?)",
                [(i, v.tobytes(), dumps(m), generation) for i, v, m in prepared],
            )
        self._place(prepared)
        self._generation = generation

    def _next_generation(self) -> int:
        """This write's generation (in the write transaction, caught up); every :data:`KEEP_DELETIONS`
        generations, deletions older than that many are forgotten."""
        generation = self._generation + 1
        self.conn.execute("UPDATE vectors_generation SET generation = ?", (generation,))
        if generation % KEEP_DELETIONS == 0:
            forgotten = generation - KEEP_DELETIONS
            self.conn.execute("DELETE FROM vectors_deleted WHERE generation <= ?", (forgotten,))
            self.conn.execute("UPDATE vectors_generation SET forgotten = ?", (forgotten,))
        return generation

    def _place(self, vectors: list[tuple[str, npt.NDArray[np.float32], dict[str, MetadataValue]]]) -> None:
        if not self._matrix.shape[1]:
            self._matrix = np.zeros((0, vectors[0][1].size), dtype=np.float32)
        for vector_id, values, metadata in vectors:
            slot = self._slot.get(vector_id)
            if slot is None:
                slot = self._free.pop() if self._free else self._grow()
                self._slot[vector_id] = slot
                self._ids[slot] = vector_id
            self._unindex(slot)
            self._matrix[slot] = values
            self._metadata[slot] = metadata
            for key, value in metadata.items():
                self._postings.setdefault(key, {}).setdefault(_term(value), set()).add(slot)

    def _unindex(self, slot: int) -> None:
        for key, value in (self._metadata[slot] or {}).items():
            self._postings[key][_term(value)].discard(slot)

    def _grow(self) -> int:
        used = len(self._ids)
        if used == self._matrix.shape[0]:  # double the rows: amortised O(1) appends
            bigger = np.zeros((max(64, 2 * used), self._matrix.shape[1]), dtype=np.float32)
            bigger[:used] = self._matrix[:used]
            self._matrix = bigger
        self._ids.append(None)
        self._metadata.append(None)
        return used

    async def query(
        self, values: Sequence[float], *, top_k: int, filter: dict[str, Any] | None = None
    ) -> list[VectorMatch]:
        if not 1 <= top_k <= MAX_TOP_K:
            raise UpstreamError(f"VECTOR_QUERY_ERROR: topK must be between 1 and {MAX_TOP_K}")
        self._catch_up()
        if not self._slot:
            return []
        query = np.asarray(values, dtype=np.float32)
        if query.shape != (self._matrix.shape[1],):
            raise UpstreamError(
                f"VECTOR_QUERY_ERROR: the query has {query.size} dimensions, the index {self._matrix.shape[1]}"
            )
        norm = float(np.linalg.norm(query))
        query = query / norm if norm else query
        chosen = self._filtered(filter)
        slots = np.fromiter(sorted(chosen), dtype=np.intp, count=len(chosen))
        if not slots.size:
            return []
        used = len(self._ids)
        if slots.size * 4 > used:  # most rows: one product over all of them beats copying the chosen ones
            scores = (self._matrix[:used] @ query)[slots]
        else:
            scores = self._matrix[slots] @ query
        k = min(top_k, slots.size)
        best = np.argpartition(-scores, k - 1)[:k] if k < slots.size else np.arange(slots.size)
        best = best[np.lexsort((slots[best], -scores[best]))]  # ties: the older slot first, deterministic
        return [VectorMatch(str(self._ids[slots[i]]), float(scores[i])) for i in best]

    def _filtered(self, filter: dict[str, Any] | None) -> set[int]:
        """The slots whose metadata passes Vectorize's filter: every key's condition holds (a missing
        key equals nothing)."""
        chosen = set(self._slot.values())
        for key, condition in (filter or {}).items():
            if not isinstance(condition, dict):
                condition = {"$eq": condition}
            postings = self._postings.get(key, {})
            for operator, operand in condition.items():
                if operator not in _OPERATORS:
                    raise UpstreamError(f"VECTOR_QUERY_ERROR: unsupported filter operator {operator!r}")
                values = operand if operator in ("$in", "$nin") else [operand]
                if not isinstance(values, list):
                    raise UpstreamError(f"VECTOR_QUERY_ERROR: {operator} takes an array")
                holding: set[int] = set()
                for value in values:
                    holding |= postings.get(_term(value), set())
                chosen = chosen & holding if operator in ("$eq", "$in") else chosen - holding
        return chosen

    async def delete(self, ids: Sequence[str]) -> None:
        with self._writing():
            self._catch_up(locked=True)
            held = [i for i in dict.fromkeys(ids) if i in self._slot]  # caught up: what the file holds
            if not held:
                return
            generation = self._next_generation()
            self.conn.executemany("DELETE FROM vectors WHERE id = ?", [(i,) for i in held])
            self.conn.executemany("INSERT OR REPLACE INTO vectors_deleted (id, generation) VALUES (?, ?)",
                                  [(i, generation) for i in held])
        self._remove(held)
        self._generation = generation

    def _remove(self, ids: Sequence[str]) -> None:
        for vector_id in ids:
            slot = self._slot.pop(vector_id, None)
            if slot is not None:
                self._unindex(slot)
                self._ids[slot] = None
                self._metadata[slot] = None
                self._free.append(slot)


def _term(value: Any) -> tuple[str, Any]:
    """A metadata value as a dictionary key: ``True`` is not ``1`` (Python's ``True == 1`` is)."""
    kind = "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "string"
    return kind, value
