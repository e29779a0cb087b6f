"""Ingestion: a file attached to a vector store → text → chunks → embeddings → vectors.

Run by the ``vector_stores.ingest`` job (one file) and ``vector_stores.ingest_batch`` (a store's or a
batch's files, a few per job), or inline where there is no job queue; a job runs at most
:data:`STEPS_PER_JOB` steps and queues the rest (the next run resumes after the stored steps). Each step of
:data:`STEP` chunks is one heartbeat (the file still ``in_progress``? its ``chunk_count`` raised
first, so the file row always names every vector it may own), one D1 batch of chunk rows, the
embeddings (Workers AI, in the model's batches) and one upsert into the vector index.

- A file that cannot be read ends ``failed`` with ``unsupported_file`` / ``invalid_file``; a Workers
  AI or vector-index failure ends it ``failed`` with ``server_error``. Either way its vectors and
  chunks are deleted first (if that fails too, the job fails and is retried).
- A redelivered job finds the file no longer ``in_progress`` and does nothing; a twin running at
  the same time writes the same ids and vectors (derived from store, file and chunk index).
- A file cancelled or deleted mid-ingestion: the next heartbeat finds it, and the ingestion
  deletes what it stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice

from ..context import AppContext
from ..errors import APIError
from ..ports import Vector
from ..repositories import chunks, files, vector_store_files
from ..repositories.vector_store_files import COMPLETED, FAILED, IN_PROGRESS, StoreFileRow
from ..workers_ai.embeddings import embed
from . import vectors
from .chunking import Chunk, iter_chunks
from .extract import Unreadable, check, extract

log = logging.getLogger(__name__)

STEP = 100
"""Chunks per step: one D1 batch, one vector upsert (a 1 MB text file is ~700 chunks)."""
FILES_PER_JOB = 4
"""Files one ``vector_stores.ingest_batch`` job takes on before it queues the rest."""
STEPS_PER_JOB = 20
"""Steps one job runs (over all its files) before it queues the rest as a job of its own. A step is ~4
calls to Cloudflare services (a heartbeat, the chunk rows, the embeddings, the upsert): ~80 of a Worker
invocation's 1,000 (sized for ten jobs to share one; ``wrangler.toml`` now gives each job its own); a 16 MiB
file in the smallest chunks is ~800 steps."""


@dataclass(frozen=True, slots=True)
class Progress:
    """What one ingestion run did: ``steps`` run, and whether the file needs no more (False: it stopped
    after its last step allowed, still ``in_progress``, to be resumed by another run)."""

    steps: int
    finished: bool


async def ingest(ctx: AppContext, store_id: str, file_id: str, max_steps: int | None = None) -> Progress:
    """Ingest one file of a store if it is still ``in_progress`` (else nothing: a redelivery), at most
    ``max_steps`` steps of it (:data:`STEPS_PER_JOB`). A run resumes where an earlier one stopped: the
    steps up to the file's ``chunk_count`` are stored, but the last one, counted before it is stored, is
    run again."""
    max_steps = STEPS_PER_JOB if max_steps is None else max_steps
    db = ctx.backends.db
    row = await vector_store_files.get(db, store_id, file_id)
    if row is None or row.status != IN_PROGRESS:
        return Progress(0, True)
    count = steps = 0
    try:
        text = await _text(ctx, store_id, row)
        for step in _steps(text, row):
            end = step[-1].index + 1
            if end < row.chunk_count:  # stored by an earlier run
                count = end
                continue
            if steps == max_steps:
                return Progress(steps, False)
            count, steps = end, steps + 1
            if not await vector_store_files.heartbeat(db, store_id, file_id, row.attempt, ctx.now(), chunk_count=count):
                await _abandon(ctx, row, count)
                return Progress(steps, True)
            await chunks.upsert(db, store_id, file_id, row.attempt, [(c.index, c.text, c.tokens) for c in step])
            await _store_vectors(ctx, row, step)
        if count == 0:
            raise Unreadable("invalid_file", f"{row.filename} has no text to index.")
    except Unreadable as exc:
        return await _fail(ctx, row, count, exc.code, exc.message)
    except APIError as exc:  # Workers AI, the vector index or D1 failed (translated at the adapters)
        log.warning("ingesting %s into %s failed: %s", file_id, store_id, exc.message)
        return await _fail(ctx, row, count, "server_error", exc.message)
    usage = len(text.encode()) + 4 * _dimensions(ctx) * count
    if not await vector_store_files.transition(db, store_id, file_id, IN_PROGRESS, COMPLETED, ctx.now(),
                                               attempt=row.attempt, usage_bytes=usage):
        await _abandon(ctx, row, count)
    return Progress(steps, True)


async def ingest_pending(ctx: AppContext, store_id: str, batch_id: str | None, limit: int = FILES_PER_JOB) -> bool:
    """Ingest files of the store (or batch) still ``in_progress``: up to ``limit`` of them, within
    :data:`STEPS_PER_JOB` steps in all; True when more are left."""
    waiting = await vector_store_files.pending(ctx.backends.db, store_id, batch_id, limit + 1)
    budget = STEPS_PER_JOB
    for file_id in waiting[:limit]:
        progress = await ingest(ctx, store_id, file_id, budget)
        budget -= progress.steps
        if not progress.finished or budget <= 0:
            return True
    return len(waiting) > limit


def _steps(text: str, row: StoreFileRow) -> Iterator[list[Chunk]]:
    chunked = iter_chunks(text, row.chunk_tokens, row.overlap_tokens)
    while step := list(islice(chunked, STEP)):
        yield step


async def _text(ctx: AppContext, store_id: str, row: StoreFileRow) -> str:
    """The file's text, read from R2 (the file must still exist; its owner is the store's)."""
    stored_file = await files.get(ctx.backends.db, row.id, None, ctx.now())
    if stored_file is not None:
        check(stored_file.filename, stored_file.content_type, stored_file.bytes)
    stored = None if stored_file is None else await ctx.backends.bucket.get(stored_file.object_key)
    if stored_file is None or stored is None or stored.body is None:
        raise Unreadable("invalid_file", f"The file {row.id} no longer exists.")
    data = bytearray()
    async for piece in stored.body:
        data += piece
    return await extract(ctx.backends.ai, stored_file.filename, stored_file.content_type, bytes(data))


def _dimensions(ctx: AppContext) -> int:
    if ctx.backends.vectors is None:
        return 0
    model = ctx.catalog.models.get(ctx.settings.vector_store_embedding_model)
    return (model.dimensions or 0) if model is not None else 0


async def _store_vectors(ctx: AppContext, row: StoreFileRow, step: list[Chunk]) -> None:
    index = ctx.backends.vectors
    if index is None:  # keyword search only
        return
    model = ctx.catalog.resolve(ctx.settings.vector_store_embedding_model, task="text-embeddings")
    values, _ = await embed(ctx.backends.ai, model, [c.text for c in step])
    metadata = {"vector_store_id": row.vector_store_id, "file_id": row.id}
    await index.upsert([Vector(chunks.vector_id(row.vector_store_id, row.id, c.index, row.attempt), v, dict(metadata))
                        for c, v in zip(step, values, strict=True)])


async def _fail(ctx: AppContext, row: StoreFileRow, count: int, code: str, message: str) -> Progress:
    """Delete what the ingestion stored, then mark the file ``failed`` (if it still is in progress: if
    the delete fails, the file stays in progress and the job is retried).

    A twin ingestion of the same file (its own job and a store's batch job) may have completed it
    meanwhile: the chunks it stored have the same ids as ours, so the delete took them too. Then the
    file starts over, here: the rest of the twin's chunks deleted, its count back to 0 (the file row
    never names fewer chunks than are stored), and ingested again."""
    store_id, db, now = row.vector_store_id, ctx.backends.db, ctx.now()
    await vectors.purge(ctx.backends, replace(row.stored, count=max(count, row.chunk_count)))
    if await vector_store_files.transition(db, store_id, row.id, IN_PROGRESS, FAILED, now, attempt=row.attempt,
                                           last_error_code=code, last_error_message=message[:1000]):
        return Progress(0, True)
    if not await vector_store_files.transition(db, store_id, row.id, COMPLETED, IN_PROGRESS, now, attempt=row.attempt):
        return Progress(0, True)
    log.warning("a twin ingestion completed %s in %s while this one cleaned up: ingesting it again", row.id, store_id)
    twin = await vector_store_files.get(db, store_id, row.id)
    if twin is not None and twin.attempt == row.attempt:
        await vectors.purge(ctx.backends, twin.stored)
    await vector_store_files.transition(db, store_id, row.id, IN_PROGRESS, IN_PROGRESS, now, attempt=row.attempt,
                                        chunk_count=0)
    return await ingest(ctx, store_id, row.id)


async def _abandon(ctx: AppContext, started: StoreFileRow, count: int) -> None:
    """The file stopped being ``in_progress`` (at this attempt) under us: unless a twin completed it, delete
    what we stored — of our attempt only (the file may have started over meanwhile)."""
    row = await vector_store_files.get(ctx.backends.db, started.vector_store_id, started.id, deleting=True)
    if row is not None and row.attempt != started.attempt:
        row = None  # the file started over: the new attempt is not ours to touch
    if row is not None and row.status == COMPLETED:
        return
    await vectors.purge(ctx.backends, replace(started.stored, count=max(count, row.chunk_count if row else 0)))
