"""The local stand-in for Vectorize: :class:`ports.VectorIndex` as an exact (brute-force) cosine search
over a numpy matrix, written through to a SQLite file (CPython only; never imported by the Worker).

Why exact search over numpy rather than an approximate index: at the sizes a local server holds
(thousands to a few hundred thousand chunks) a matrix product answers in about a millisecond per
10,000 vectors of 1,024 dimensions, returns the true nearest neighbours (so tests can assert exact
orders), and builds in no time; HNSW libraries (usearch, hnswlib) took 8–10 s to index 10,000 such
vectors on two cores and, at their default settings, missed most of the true top 50, and sqlite-vec
needs a Python whose ``sqlite3`` can load extensions (many builds cannot) and was 16x slower per query.
Figures: ``bench/vector_stores.py`` and docs/vector_stores.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from json import dumps, loads
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import UpstreamError
from ..ports import MetadataValue, Vector, VectorMatch

MAX_TOP_K = 100  # Vectorize's limit without returned values or metadata
_OPERATORS = ("$eq", "$ne", "$in", "$nin")


class LocalVectorIndex:
    """Vectors in memory (unit length, float32, one row each) and in ``path`` (``:memory:``: not kept)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, vector BLOB NOT NULL, metadata TEXT NOT NULL)"
        )
        self._slot: dict[str, int] = {}
        self._ids: list[str | None] = []
        self._free: list[int] = []
        self._matrix: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._metadata: list[dict[str, MetadataValue] | None] = []
        self._postings: dict[str, dict[tuple[str, MetadataValue], set[int]]] = {}
        """Metadata key → value → slots holding it: filters are set operations, not a scan."""
        rows = self.conn.execute("SELECT id, vector, metadata FROM vectors").fetchall()
        if rows:
            self._place([(i, np.frombuffer(v, dtype=np.float32), loads(m)) for i, v, m in rows])

    def __len__(self) -> int:
        return len(self._slot)

    @property
    def dimensions(self) -> int | None:
        """The index's dimensions (set by the first vector), or None while it is empty of any."""
        return self._matrix.shape[1] if self._matrix.shape[1] else None

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        prepared = []
        for vector in vectors:
            values = np.asarray(vector.values, dtype=np.float32)
            if values.ndim != 1 or not values.size or not np.isfinite(values).all():
                raise UpstreamError(f"VECTOR_UPSERT_ERROR: vector {vector.id!r} is not a list of finite numbers")
            if self.dimensions is not None and values.size != self.dimensions:
                raise UpstreamError(
                    f"VECTOR_UPSERT_ERROR: vector {vector.id!r} has {values.size} dimensions, the index {self.dimensions}"
                )
            if len(vector.id.encode()) > 64:
                raise UpstreamError(f"VECTOR_UPSERT_ERROR: vector id {vector.id!r} is longer than 64 bytes")
            norm = float(np.linalg.norm(values))
            prepared.append((vector.id, values / norm if norm else values, dict(vector.metadata)))
        self.conn.execute("BEGIN")  # one transaction: one sync to disk per upsert, not one per vector
        try:
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors (id, vector, metadata) VALUES (?, ?, ?)",
                [(i, v.tobytes(), dumps(m)) for i, v, m in prepared],
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        self._place(prepared)

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
        self.conn.execute("BEGIN")
        self.conn.executemany("DELETE FROM vectors WHERE id = ?", [(i,) for i in ids])
        self.conn.execute("COMMIT")
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
