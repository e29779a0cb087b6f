"""``/v1/vector_stores/{vector_store_id}/file_batches``: attach many files at once, retrieve the batch
(its status and ``file_counts`` follow from its files), cancel it (files not yet ingested end
``cancelled``, and what they stored is deleted), and list its files. See docs/vector_stores.md."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest, NotFound
from ..ids import new_sortable_id
from ..pagination import list_object, page
from ..ports import Job
from ..replies import json_response, polled
from ..repositories import vector_store_file_batches, vector_store_files
from ..repositories.vector_store_file_batches import BatchRow
from ..repositories.vector_stores import StoreRow
from ..runner import vectors
from ..types.vector_stores import CreateVectorStoreFileBatchRequest
from ..validation import parse_json
from ._vector_stores import (
    BATCH_ID,
    MAX_LIMIT,
    POLL_AFTER_MS,
    batch_object,
    file_object,
    filenames,
    new_file_row,
    start_ingestion,
    status_filter,
    visible_store,
)


async def _visible_batch(request: Request, store: StoreRow) -> BatchRow:
    """The batch the path names in ``store`` (404 otherwise). An id without a batch's prefix is OpenAI's 400
    naming ``batch_id`` (its words, quoted in webgptorg/promptbook's
    prompts/2026-01-0461-agents-server-agents-taking-sooooooo-long-to-prepare-and-answer.md: ``400 Invalid
    'batch_id': 'vs_…'. Expected an ID that begins with 'vsfb_'.``, a cancel given the store's id)."""
    batch_id: str = request.path_params["batch_id"]
    if not batch_id.startswith("vsfb_"):
        raise InvalidRequest(f"Invalid 'batch_id': '{batch_id}'. Expected an ID that begins with 'vsfb_'.",
                             param="batch_id", code="invalid_value")
    row = None
    if BATCH_ID.match(batch_id):
        row = await vector_store_file_batches.get(context(request).backends.db, store.id, batch_id)
    if row is None:
        raise NotFound(f"No file batch found with id '{batch_id}' in vector store '{store.id}'.")
    return row


async def _batch(request: Request, row: BatchRow) -> dict[str, Any]:
    counts = await vector_store_files.counts(context(request).backends.db, row.vector_store_id, row.id)
    return batch_object(row, counts)


async def _render(request: Request, row: BatchRow) -> Response:
    return json_response(await _batch(request, row))


async def create(request: Request) -> Response:
    store = await visible_store(request, usable=True)
    body = await parse_json(request, CreateVectorStoreFileBatchRequest)
    ctx = context(request)
    now_ms = int(ctx.clock() * 1000)
    now = now_ms // 1000
    batch = BatchRow(new_sortable_id("vsfb_", now_ms), store.id, now, False)
    if body.files is not None:
        names = await filenames(request, [f.file_id for f in body.files], "files")
        rows = [new_file_row(store.id, f.file_id, names[f.file_id], f.chunking_strategy, f.attributes, batch.id, now)
                for f in body.files]
    else:
        names = await filenames(request, body.file_ids or [], "file_ids")
        rows = [new_file_row(store.id, file_id, names[file_id], body.chunking_strategy, body.attributes, batch.id, now)
                for file_id in names]
    await vector_store_file_batches.create(ctx.backends.db, batch)
    await vectors.clear_earlier_attempts(ctx.backends, store.id, [row.id for row in rows])
    await vector_store_files.attach(ctx.backends.db, rows)
    await start_ingestion(request, Job("vector_stores.ingest_batch", f"{store.id}/{batch.id}", store.owner))
    return await _render(request, batch)


async def retrieve(request: Request) -> Response:
    store = await visible_store(request)
    batch = await _batch(request, await _visible_batch(request, store))
    return polled(json_response(batch), batch["status"] == "in_progress", POLL_AFTER_MS)


async def cancel(request: Request) -> Response:
    """Its files still in progress end ``cancelled``. A batch cancelled already is answered as it is (a
    retry of a cancel whose cleanup failed); one that has ended otherwise (``completed``, ``failed``: no file
    in progress) is a 400, as a run that has ended is, and keeps its status."""
    store = await visible_store(request)
    batch = await _visible_batch(request, store)
    ctx = context(request)
    if batch.cancelled:
        return await _render(request, batch)
    cancelled = await vector_store_files.cancel_batch(ctx.backends.db, store.id, batch.id, ctx.now())
    if not cancelled:
        fresh = await vector_store_file_batches.get(ctx.backends.db, store.id, batch.id) or batch
        if fresh.cancelled:  # a cancel at the same time took its files
            return await _render(request, fresh)
        status = (await _batch(request, fresh))["status"]
        raise InvalidRequest(f"Cannot cancel a vector store file batch with status '{status}'.", param=None)
    await vector_store_file_batches.cancel(ctx.backends.db, batch.id)
    await vectors.purge_cancelled(ctx.backends, store.id, [row.stored for row in cancelled])
    return await _render(request, BatchRow(batch.id, batch.vector_store_id, batch.created_at, True))


async def list_files(request: Request) -> Response:
    store = await visible_store(request)
    batch = await _visible_batch(request, store)
    rows, has_more = await vector_store_files.list_page(
        context(request).backends.db, store.id, page(request.query_params, max_limit=MAX_LIMIT),
        status=status_filter(request), batch_id=batch.id,
    )
    return json_response(list_object([file_object(r) for r in rows], has_more))
