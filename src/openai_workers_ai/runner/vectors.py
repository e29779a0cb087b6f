"""Removing what ingestion stored: a file's vectors and chunks, a file from its store or from every
store (its upload deleted or expired), a whole store; and the scheduled sweep that finishes what
stopped halfway (``maintenance.CLEANUPS``).

The vector index and D1 share no transaction, so the file row is the journal: ingestion records
``chunk_count`` before it stores the vectors of those chunks, and a file or store is marked
``deleting`` before its vectors go, and its rows only after. Every step is idempotent (deleting
ids that are gone is no error), so a delete that failed halfway is retried from the start, by
the client or by :func:`sweep`. Chunks and vectors of a file that is not ``completed`` are never
returned by a search, whatever is left of them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..ports import Backends
from ..repositories import chunks, vector_store_files, vector_stores
from ..repositories.vector_store_files import DELETING, FAILED, IN_PROGRESS, STATUSES
from ..settings import Settings

log = logging.getLogger(__name__)

DELETE_BATCH = 1000
"""Vector ids per delete call (Vectorize's ``deleteByIds`` takes up to 1,000)."""
STALE_AFTER = 6 * 3600
"""An ``in_progress`` or ``deleting`` file untouched this long (seconds) was abandoned by a crash."""
SWEEP_BATCH = 20


async def delete_vectors(backends: Backends, ids: Sequence[str]) -> None:
    if backends.vectors is None:
        return
    for start in range(0, len(ids), DELETE_BATCH):
        await backends.vectors.delete(ids[start : start + DELETE_BATCH])


async def purge(backends: Backends, store_id: str, file_id: str, count: int) -> None:
    """Delete the vectors of a file's first ``count`` chunks, then its chunk rows. A count of 0 (a file
    whose ingestion has not started) has nothing to delete: a chunk is counted before it is stored."""
    if count == 0:
        return
    await delete_vectors(backends, chunks.vector_ids(store_id, file_id, count))
    await chunks.delete_for_file(backends.db, store_id, file_id)


async def remove_file(backends: Backends, store_id: str, file_id: str, now: int) -> None:
    """Take a file out of its store: marked ``deleting``, its vectors deleted, then its row (and chunks)."""
    db = backends.db
    await vector_store_files.transition(db, store_id, file_id, (*STATUSES, DELETING), DELETING, now)
    row = await vector_store_files.get(db, store_id, file_id, deleting=True)
    if row is None:
        return
    await purge(backends, store_id, file_id, row.chunk_count)
    await vector_store_files.remove(db, store_id, file_id)


async def forget_file(backends: Backends, file_id: str, now: int) -> None:
    """Take a file whose upload is being deleted (``DELETE /v1/files``, expiry) out of every store that
    holds it, whoever owns the store: all its rows marked ``deleting`` in one statement (gone from
    lists, counts, ``usage_bytes`` and searches at once), then each removed as :func:`remove_file`
    does. A removal that fails is logged and left, marked, for :func:`sweep`; a failure to mark
    raises, and the file's delete is retried (``storage.delete``'s ``detach``)."""
    db = backends.db
    await vector_store_files.mark_file_deleting(db, file_id, now)
    for store_id in await vector_store_files.stores_holding(db, file_id):
        try:
            await remove_file(backends, store_id, file_id, now)
        except Exception:  # marked: the sweep finishes it
            log.warning("could not take file %s out of vector store %s (the sweep will)", file_id, store_id,
                        exc_info=True)


async def remove_store(backends: Backends, store_id: str) -> None:
    """Delete a store: marked ``deleting``, every file's vectors deleted, then its rows."""
    db = backends.db
    await vector_stores.mark_deleting(db, store_id)
    ids: list[str] = []
    for row in await vector_store_files.all_of(db, store_id):
        ids += chunks.vector_ids(store_id, row.id, row.chunk_count)
    await delete_vectors(backends, ids)
    await vector_stores.delete(db, store_id)


async def sweep(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """The scheduled cleanup: expired stores and stores whose delete stopped halfway are deleted;
    files whose ingestion stopped (no heartbeat for :data:`STALE_AFTER`) fail, and files whose
    delete stopped are deleted. Counts: ``vector_stores_deleted``, ``vector_store_files_stale``."""
    done = {"vector_stores_deleted": 0, "vector_store_files_stale": 0}
    for store_id in await vector_stores.to_clean(backends.db, now, SWEEP_BATCH):
        try:
            await remove_store(backends, store_id)
        except Exception:  # the next run retries it
            log.warning("sweep could not delete vector store %s", store_id, exc_info=True)
            continue
        done["vector_stores_deleted"] += 1
    for row in await vector_store_files.stale(backends.db, now - STALE_AFTER, SWEEP_BATCH):
        try:
            if row.status == DELETING:
                await remove_file(backends, row.vector_store_id, row.id, now)
            else:
                await purge(backends, row.vector_store_id, row.id, row.chunk_count)
                await vector_store_files.transition(
                    backends.db, row.vector_store_id, row.id, IN_PROGRESS, FAILED, now,
                    last_error_code="server_error", last_error_message="The file's ingestion was interrupted.")
        except Exception:
            log.warning("sweep could not finish vector store file %s", row.id, exc_info=True)
            continue
        done["vector_store_files_stale"] += 1
    return done
