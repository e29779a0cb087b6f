"""Removing what ingestion stored: a file's vectors and chunks, a file from its store or from every
store (its upload deleted or expired), a whole store; and the scheduled sweep that finishes what
stopped halfway (``maintenance.CLEANUPS``).

The vector index and D1 share no transaction, so the file row is the journal: ingestion records
``chunk_count`` before it stores the vectors of those chunks, and a file or store is marked
``deleting`` before its vectors go, and its rows only after. Every step is idempotent (deleting
ids that are gone is no error), so a delete that failed halfway is retried from the start, by
the client or by :func:`sweep`. Chunks and vectors of a file that is not ``completed`` are never
returned by a search, whatever is left of them.

A delete is bounded, whatever it deletes: a Worker invocation may make 1,000 calls to Cloudflare
services, and a store may hold a million chunks. Each run (a request, a job, the sweep) takes at most a
:class:`Budget` of steps — a step is one call to the vector index (up to :data:`DELETE_BATCH` ids) and a
statement or two of D1 — and queues the rest as a job (:data:`STORE_JOB`, :data:`FILE_JOB`,
:data:`FORGET_JOB`, :data:`PURGE_JOB`) that does the same. What a
stopped run did stays done: a store's files go as their vectors go, and a large file's ``chunk_count``
is lowered to what is left of it. The store or file is marked ``deleting`` first, so it has already
left every list, count and search.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..ports import Backends, Job
from ..repositories import chunks, vector_store_files, vector_stores
from ..repositories.chunks import Stored
from ..repositories.vector_store_files import DELETING, FAILED, IN_PROGRESS, STATUSES
from ..settings import Settings

log = logging.getLogger(__name__)

DELETE_BATCH = 1000
"""Vector ids per delete call (Vectorize's ``deleteByIds`` takes up to 1,000)."""
STALE_AFTER = 6 * 3600
"""An ``in_progress`` or ``deleting`` file untouched this long (seconds) was abandoned by a crash."""
SWEEP_BATCH = 20
STEPS_PER_RUN = 25
"""Steps one run of a delete takes before it queues the rest: each is at most 3 calls to Cloudflare
services (~1,000 vectors), ~75 of an invocation's 1,000 (sized for ten jobs to share one; ``wrangler.toml``
now gives each job its own)."""
FILES_PER_STEP = 98
"""Files of a store one step takes on (their ids are bound in one statement: D1 binds at most 100)."""

STORE_JOB = "vector_stores.delete"
"""Job: go on deleting a store (id ``vs_…``), already marked ``deleting``."""
FILE_JOB = "vector_store_files.delete"
"""Job: go on taking a file out of a store (id ``vs_…/file-…``), already marked ``deleting``."""
FORGET_JOB = "files.leave_vector_stores"
"""Job: go on taking a deleted file out of every store that held it (id ``file-…``)."""
PURGE_JOB = "vector_stores.purge"
"""Job: go on purging what cancelled (or failed) files of a store (id ``vs_…``) stored."""


class Budget:
    """The steps a run may still take (:data:`STEPS_PER_RUN`), shared by everything that run deletes."""

    def __init__(self, steps: int | None = None) -> None:
        self.steps = STEPS_PER_RUN if steps is None else steps

    def take(self) -> bool:
        """One step, if any is left."""
        if self.steps <= 0:
            return False
        self.steps -= 1
        return True


async def delete_vectors(backends: Backends, ids: Sequence[str]) -> None:
    if backends.vectors is None:
        return
    for start in range(0, len(ids), DELETE_BATCH):
        await backends.vectors.delete(ids[start : start + DELETE_BATCH])


async def purge(backends: Backends, stored: Stored, budget: Budget | None = None) -> bool:
    """Delete the vectors and chunk rows of an attempt's first ``stored.count`` chunks, the last first, up
    to :data:`DELETE_BATCH` a step, and bring the file's ``chunk_count`` down to 0; True when none is left.
    Out of ``budget``, the count is lowered to what is left, and False. (The count is lowered only from
    ``stored.count`` of that attempt: a twin ingestion that raised it meanwhile keeps it, and the next purge
    starts there; a file that started over meanwhile keeps its own.) A count of 0 (a file whose ingestion
    has not started) has nothing to delete: a chunk is counted before it is stored. Only that attempt's
    chunks are deleted: a new attempt at the file, started meanwhile, stores under ids of its own."""
    left = stored.count
    while left > 0:
        if budget is not None and not budget.take():
            break
        start = max(0, left - DELETE_BATCH)
        await delete_vectors(backends, stored.vector_ids(start, left))
        await chunks.delete_for_file(backends.db, stored, start=start)
        left = start
    if left != stored.count:
        await vector_store_files.lower_chunk_count(backends.db, stored, left)
    return left == 0


async def purge_cancelled(backends: Backends, store_id: str, files: Sequence[Stored] | None = None,
                          budget: Budget | None = None) -> bool:
    """Purge what cancelled or failed files of the store stored (``files``: the ones just cancelled; by
    default those ``chunk_counts(left_behind=True)`` finds), within ``budget`` (a run's own by default),
    the rest queued as a job; True when it is done."""
    budget = budget or Budget()
    todo = files if files is not None else await vector_store_files.chunk_counts(
        backends.db, store_id, FILES_PER_STEP, left_behind=True)
    for stored in todo:
        if not await purge(backends, stored, budget):
            break
    else:
        if files is not None or len(todo) < FILES_PER_STEP:  # else more may be left than one look finds
            return True
    await _later(backends, Job(PURGE_JOB, store_id))
    return False


async def clear_earlier_attempts(backends: Backends, store_id: str, file_ids: Sequence[str]) -> None:
    """Before files start over (attached again after they failed or were cancelled, which sets their
    ``chunk_count`` back to 0): what an earlier attempt stored and its cleanup left (it failed, or has
    not run yet) is purged first, so no vector outlives the count that named it."""
    for stored in await vector_store_files.left_behind(backends.db, store_id, file_ids):
        await purge(backends, stored)


async def remove_file(backends: Backends, store_id: str, file_id: str, now: int, budget: Budget) -> bool:
    """Take a file out of its store: marked ``deleting``, its vectors deleted, then its row (and chunks);
    True when done (or nothing was there), False when ``budget`` ran out first."""
    db = backends.db
    if not budget.take():
        return False
    await vector_store_files.transition(db, store_id, file_id, (*STATUSES, DELETING), DELETING, now)
    row = await vector_store_files.get(db, store_id, file_id, deleting=True)
    if row is None:
        return True
    if not await purge(backends, row.stored, budget):
        return False
    await vector_store_files.remove(db, store_id, file_id)
    return True


async def delete_file(backends: Backends, store_id: str, file_id: str, now: int, budget: Budget | None = None) -> bool:
    """:func:`remove_file` within ``budget`` (a run's own by default), the rest queued as a job; True when
    it is done."""
    if await remove_file(backends, store_id, file_id, now, budget or Budget()):
        return True
    await _later(backends, Job(FILE_JOB, f"{store_id}/{file_id}"))
    return False


async def forget_file(backends: Backends, file_id: str, now: int, budget: Budget | None = None) -> None:
    """Take a file whose upload is being deleted (``DELETE /v1/files``, expiry) out of every store that
    holds it, whoever owns the store: all its rows marked ``deleting`` in one statement (gone from
    lists, counts, ``usage_bytes`` and searches at once), then each removed as :func:`remove_file`
    does, the rest queued as a job. A removal that fails is logged and left, marked, for :func:`sweep`;
    a failure to mark raises, and the file's delete is retried (``storage.delete``'s ``detach``)."""
    db = backends.db
    budget = budget or Budget()
    await vector_store_files.mark_file_deleting(db, file_id, now)
    for store_id in await vector_store_files.stores_holding(db, file_id, limit=budget.steps + 1):  # each takes a step
        try:
            if not await remove_file(backends, store_id, file_id, now, budget):
                await _later(backends, Job(FORGET_JOB, file_id))
                return
        except Exception:  # marked: the sweep finishes it
            log.warning("could not take file %s out of vector store %s (the sweep will)", file_id, store_id,
                        exc_info=True)


async def remove_store(backends: Backends, store_id: str, budget: Budget) -> bool:
    """Delete a store: marked ``deleting``; then, a step at a time, the vectors of some of its files (up to
    :data:`DELETE_BATCH` ids, or a larger file's in ranges) and those files' rows (and chunks); at last its
    row (and batches). True when it is gone, False when ``budget`` ran out first."""
    db = backends.db
    await vector_stores.mark_deleting(db, store_id)
    while budget.take():
        left = await vector_store_files.chunk_counts(db, store_id, FILES_PER_STEP)
        if not left:
            await vector_stores.delete(db, store_id)
            return True
        ids: list[str] = []
        done: list[str] = []
        for stored in left:
            if len(ids) + stored.count > DELETE_BATCH:
                if not done:  # too many chunks for one call: this file alone, in ranges
                    if not await purge(backends, stored, budget):
                        return False
                    done.append(stored.file_id)
                break
            ids += stored.vector_ids()
            done.append(stored.file_id)
        await delete_vectors(backends, ids)
        await vector_store_files.remove_many(db, store_id, done)
    return False


async def delete_store(backends: Backends, store_id: str, budget: Budget | None = None) -> bool:
    """:func:`remove_store` within ``budget`` (a run's own by default), the rest queued as a job; True when
    it is done."""
    if await remove_store(backends, store_id, budget or Budget()):
        return True
    await _later(backends, Job(STORE_JOB, store_id))
    return False


async def _later(backends: Backends, job: Job) -> None:
    """Queue the rest of a delete; with no job queue, the next :func:`sweep` goes on with it."""
    if backends.jobs is not None:
        await backends.jobs.send(job)


async def sweep(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """The scheduled cleanup: expired stores and stores whose delete stopped halfway are deleted;
    files whose ingestion stopped (no heartbeat for :data:`STALE_AFTER`) fail, files whose delete
    stopped are deleted, and failed or cancelled files whose chunks their cleanup left are purged — all
    within one :class:`Budget`: the rest of a delete is queued as its job, the rest of a purge left for
    the next run. Counts (of what was finished): ``vector_stores_deleted``, ``vector_store_files_stale``."""
    done = {"vector_stores_deleted": 0, "vector_store_files_stale": 0}
    budget = Budget()
    for store_id in await vector_stores.to_clean(backends.db, now, SWEEP_BATCH):
        try:
            done["vector_stores_deleted"] += await delete_store(backends, store_id, budget)
        except Exception:  # the next run retries it
            log.warning("sweep could not delete vector store %s", store_id, exc_info=True)
    for row in await vector_store_files.stale(backends.db, now - STALE_AFTER, SWEEP_BATCH):
        try:
            if row.status == DELETING:
                finished = await delete_file(backends, row.vector_store_id, row.id, now, budget)
            else:  # a stopped ingestion, or a failed or cancelled file with chunks its cleanup left
                finished = await purge(backends, row.stored, budget)
            if finished and row.status == IN_PROGRESS:
                await vector_store_files.transition(
                    backends.db, row.vector_store_id, row.id, IN_PROGRESS, FAILED, now, attempt=row.attempt,
                    last_error_code="server_error", last_error_message="The file's ingestion was interrupted.")
        except Exception:
            log.warning("sweep could not finish vector store file %s", row.id, exc_info=True)
            continue
        done["vector_store_files_stale"] += finished
    return done
