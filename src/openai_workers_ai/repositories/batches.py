"""The ``batches`` table (``migrations/0013_batches.sql``): every SQL statement of the Batch API.

A batch's life: ``validating`` (its input file read, its lines checked, its slices found) → ``in_progress``
(a slice of requests answered a run) → ``finalizing`` (the lines written joined into files) → ``completed``;
or ``failed`` (its input is bad), ``expired`` (its window passed first), ``cancelling`` → ``cancelled``. Each
change of state is one conditional ``UPDATE … WHERE status = ?``, so a redelivered job and a cancel can race
without a batch ending in two states. Ownership is a filter, as for files: ``owner`` is the caller's key
hash, or ``None`` for an admin key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from json import dumps, loads
from typing import Any

from ..pagination import Page
from ..ports import Database
from .columns import any_of
from .pages import page_of

VALIDATING, FAILED, IN_PROGRESS, FINALIZING = "validating", "failed", "in_progress", "finalizing"
COMPLETED, EXPIRED, CANCELLING, CANCELLED = "completed", "expired", "cancelling", "cancelled"
RUNNING = (VALIDATING, IN_PROGRESS, FINALIZING, CANCELLING)
"""The statuses a batch's job still has work in."""

_COLUMNS = ("id, owner, endpoint, model, input_file_id, completion_window, status, errors, output_file_id,"
            " error_file_id, output_expires_after, metadata, created_at, in_progress_at, expires_at, finalizing_at,"
            " completed_at, failed_at, expired_at, cancelling_at, cancelled_at, total, completed, failed, usage,"
            " offsets, next_slice, runs")
_JSON = {"errors", "metadata", "usage", "offsets", "runs"}


@dataclass(frozen=True, slots=True)
class BatchRow:
    """A row of ``batches`` (its JSON columns decoded)."""

    id: str
    owner: str
    endpoint: str
    model: str | None
    input_file_id: str
    completion_window: str
    status: str
    errors: list[dict[str, Any]] | None
    output_file_id: str | None
    error_file_id: str | None
    output_expires_after: int | None
    metadata: dict[str, str]
    created_at: int
    in_progress_at: int | None
    expires_at: int
    finalizing_at: int | None
    completed_at: int | None
    failed_at: int | None
    expired_at: int | None
    cancelling_at: int | None
    cancelled_at: int | None
    total: int
    completed: int
    failed: int
    usage: dict[str, int]
    offsets: list[int] | None
    next_slice: int
    runs: list[str]
    """The run whose lines count, for each slice done (``runs[i]``: slice ``i``'s)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> BatchRow:
        values = {f.name: row[f.name] for f in fields(cls)}
        for name in _JSON:
            values[name] = None if values[name] is None else loads(values[name])
        return cls(**values)

    @property
    def slices(self) -> int:
        """How many slices its requests come in (0 before it was validated)."""
        return 0 if self.offsets is None else len(self.offsets) - 1


async def create(db: Database, row: BatchRow, now: int) -> None:
    await db.prepare(
        f"INSERT INTO batches ({_COLUMNS}, updated_at) VALUES ({', '.join('?' * (len(fields(BatchRow)) + 1))})"
    ).bind(*(_value(f.name, getattr(row, f.name)) for f in fields(BatchRow)), now).run()


def _value(name: str, value: Any) -> Any:
    if name in _JSON and value is not None:
        return dumps(value, separators=(",", ":"))
    return int(value) if isinstance(value, bool) else value


async def get(db: Database, batch_id: str, owner: str | None) -> BatchRow | None:
    """The batch (the caller's unless admin), or None."""
    params: list[object] = [batch_id]
    where = "id = ?"
    if owner is not None:
        where += " AND owner = ?"
        params.append(owner)
    row = await db.prepare(f"SELECT {_COLUMNS} FROM batches WHERE {where}").bind(*params).first()
    return BatchRow.from_row(row) if row else None


async def list_page(db: Database, owner: str | None, page: Page) -> tuple[list[BatchRow], bool]:
    """One page of the caller's batches (every batch for an admin key), newest first."""
    where, params = ("owner = ?", [owner]) if owner is not None else ("1 = 1", [])
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM batches", where, list(params), page)
    return [BatchRow.from_row(r) for r in rows], has_more


async def transition(db: Database, batch_id: str, expected: str | Sequence[str], status: str, now: int,
                     **columns: object) -> bool:
    """Move the batch from ``expected`` (a status or several) to ``status``, setting ``columns`` (names from
    code; JSON ones encoded); True when it was in ``expected`` and moved."""
    olds = [expected] if isinstance(expected, str) else list(expected)
    assignments = "".join(f", {column} = ?" for column in columns)
    changed = await db.prepare(
        f"UPDATE batches SET status = ?, updated_at = ?{assignments}"
        f" WHERE id = ? AND status IN ({', '.join('?' * len(olds))})"
    ).bind(status, now, *(_value(k, v) for k, v in columns.items()), batch_id, *olds).run()
    return changed == 1


async def claim_slice(db: Database, row: BatchRow, run: str, now: int, lease: int) -> bool:
    """Run ``run`` takes slice ``row.next_slice`` for ``lease`` seconds; False when the batch moved on, left
    ``in_progress``, or another run holds the slice (a delivery of the job twice at once: one answers it)."""
    changed = await db.prepare(
        "UPDATE batches SET claimed_by = ?, claimed_until = ?, updated_at = ? WHERE id = ? AND next_slice = ?"
        " AND status = ? AND (claimed_by IS NULL OR claimed_until <= ?)"
    ).bind(run, now + lease, now, row.id, row.next_slice, IN_PROGRESS, now).run()
    return changed == 1


async def release_slice(db: Database, batch_id: str, run: str) -> None:
    """Run ``run`` lets its slice go (it failed: a retry may take it at once)."""
    await db.prepare("UPDATE batches SET claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?").bind(
        batch_id, run).run()


async def slice_done(db: Database, row: BatchRow, run: str, completed: int, failed: int, usage: dict[str, int],
                     now: int) -> bool:
    """The slice ``row.next_slice`` answered by ``run``, its claimant (its lines written): the counts and usage
    added, ``run`` recorded as the one whose lines count for it, the next slice due, the claim let go; False when the claim was lost (it lapsed and another run
    took the slice, or the batch left ``in_progress``), and nothing changed."""
    changed = await db.prepare(
        "UPDATE batches SET next_slice = next_slice + 1, completed = completed + ?, failed = failed + ?,"
        " usage = ?, runs = ?, claimed_by = NULL, claimed_until = NULL, updated_at = ?"
        " WHERE id = ? AND next_slice = ? AND status = ? AND claimed_by = ?"
    ).bind(completed, failed, _value("usage", usage), _value("runs", [*row.runs, run]), now, row.id, row.next_slice,
           IN_PROGRESS, run).run()
    return changed == 1


async def record_file(db: Database, batch_id: str, column: str, file_id: str) -> None:
    """The output or error file (``column``: ``output_file_id`` / ``error_file_id``, from code) made for the
    batch, as soon as it is made: a run that stops before the batch ends makes it no second time."""
    await db.prepare(f"UPDATE batches SET {column} = ? WHERE id = ? AND {column} IS NULL").bind(file_id, batch_id).run()


async def touch(db: Database, batch_id: str, now: int) -> None:
    """The batch's job is alive (``updated_at``: the cleanup resumes batches untouched for long)."""
    await db.prepare("UPDATE batches SET updated_at = ? WHERE id = ?").bind(now, batch_id).run()


async def stalled(db: Database, before: int, limit: int) -> list[BatchRow]:
    """Batches with work left whose job has not been heard of since ``before``, oldest first."""
    rows = await db.prepare(  # the statuses written out: the partial index batches_unsettled is on them
        f"SELECT {_COLUMNS} FROM batches WHERE {any_of('status', RUNNING)} AND updated_at <= ? ORDER BY updated_at LIMIT ?"
    ).bind(before, limit).all()
    return [BatchRow.from_row(r) for r in rows]
