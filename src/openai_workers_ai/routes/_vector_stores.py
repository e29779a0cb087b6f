"""What the vector-store doors share: their API objects, finding what the caller may see, attaching
files, and starting ingestion (a job, or inline where there is no job queue)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from .. import jobs
from ..context import AppContext, context, owner, principal
from ..errors import InvalidRequest, NotFound
from ..ids import new_sortable_id
from ..ports import Job
from ..repositories import files, vector_store_files, vector_stores
from ..repositories.vector_store_file_batches import BatchRow
from ..repositories.vector_store_files import IN_PROGRESS, STATUSES, Counts, StoreFileRow
from ..repositories.vector_stores import ACTIVE, StoreRow, expiry
from ..runner.chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS
from ..translate.responses import check_id
from ..types.vector_stores import ChunkingStrategy, StaticChunkingStrategy

STORE_ID = re.compile(r"^vs_[0-9A-Za-z]{24}$")
BATCH_ID = re.compile(r"^vsfb_[0-9A-Za-z]{24}$")
FILE_ID = re.compile(r"^file-[0-9A-Za-z]{24}$")
MAX_LIMIT = 100

POLL_AFTER_MS = 250
"""``openai-poll-after-ms`` on a file or batch still being ingested (:func:`..replies.polled`)."""


def store_object(row: StoreRow, counts: Counts, usage: int, now: int) -> dict[str, Any]:
    """OpenAI's ``vector_store`` object."""
    status = "expired" if row.expired(now) else "in_progress" if counts.in_progress else "completed"
    return {
        "id": row.id,
        "object": "vector_store",
        "created_at": row.created_at,
        "name": row.name or None,  # a store with no name: null, as OpenAI sends it (stored as "")
        "description": row.description,
        "usage_bytes": usage,
        "file_counts": counts.as_dict(),
        "status": status,
        # null when unset, as OpenAI sends it (the spec has no null for it; its recorded answers do)
        "expires_after": None if row.expires_after_days is None
        else {"anchor": "last_active_at", "days": row.expires_after_days},
        "expires_at": row.expires_at,
        "last_active_at": row.last_active_at,
        "metadata": row.metadata,
    }


def file_object(row: StoreFileRow) -> dict[str, Any]:
    """OpenAI's ``vector_store.file`` object."""
    error = None
    if row.last_error_code is not None:
        error = {"code": row.last_error_code, "message": row.last_error_message or ""}
    return {
        "id": row.id,
        "object": "vector_store.file",
        "usage_bytes": row.usage_bytes,
        "created_at": row.created_at,
        "vector_store_id": row.vector_store_id,
        "status": row.status,
        "last_error": error,
        "chunking_strategy": {"type": "static", "static": {
            "max_chunk_size_tokens": row.chunk_tokens, "chunk_overlap_tokens": row.overlap_tokens}},
        "attributes": row.attributes,
    }


def batch_object(row: BatchRow, counts: Counts) -> dict[str, Any]:
    """OpenAI's ``vector_store.file_batch`` object (so named in its answers, though its spec's enum says
    ``vector_store.files_batch``); its status follows from its files."""
    if row.cancelled:
        status = "cancelled"
    elif counts.in_progress:
        status = "in_progress"
    elif counts.total and counts.failed == counts.total:
        status = "failed"
    else:
        status = "completed"
    return {"id": row.id, "object": "vector_store.file_batch", "created_at": row.created_at, "status": status,
            "vector_store_id": row.vector_store_id, "file_counts": counts.as_dict()}


async def render_store(ctx: AppContext, row: StoreRow) -> dict[str, Any]:
    return store_object(row, row.file_counts, row.usage_bytes, ctx.now())


def store_not_found(store_id: str) -> NotFound:
    return NotFound(f"No vector store found with id '{store_id}'.")


def path_store_id(request: Request) -> str:
    """The path's ``vector_store_id``; one with characters no id has is OpenAI's 400 naming it (BerriAI/litellm#34788
    quotes OpenAI's answer: ``Invalid 'vector_store_id': '…'. Expected an ID that contains letters, numbers,
    underscores, or dashes, …``, param ``vector_store_id``, code ``invalid_value``), not a 404."""
    store_id: str = request.path_params["vector_store_id"]
    check_id(store_id, "vector_store_id", "invalid_value")
    return store_id


async def visible_store(request: Request, *, usable: bool = False) -> StoreRow:
    """The store the path names, if the caller may see it (404 otherwise); ``usable``: and unexpired (400)."""
    store_id = path_store_id(request)
    row = None
    if STORE_ID.match(store_id):
        row = await vector_stores.get(context(request).backends.db, store_id, owner(request))
    if row is None:
        raise store_not_found(store_id)
    if usable and row.expired(context(request).now()):
        raise InvalidRequest(f"Vector store {store_id} has expired; it cannot be changed or searched.")
    return row


async def visible_file(request: Request, store: StoreRow) -> StoreFileRow:
    file_id: str = request.path_params["file_id"]
    row = None
    if FILE_ID.match(file_id):
        row = await vector_store_files.get(context(request).backends.db, store.id, file_id)
    if row is None:
        raise NotFound(f"No file found with id '{file_id}' in vector store '{store.id}'.")
    return row


def status_filter(request: Request) -> str | None:
    """The ``filter`` query parameter of file lists: one of the statuses, or none."""
    status = request.query_params.get("filter") or None
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"Invalid value for 'filter': '{status}' is not one of {', '.join(STATUSES)}.",
                             param="filter")
    return status


def chunking(strategy: ChunkingStrategy | None) -> tuple[int, int]:
    """``(max_chunk_size_tokens, chunk_overlap_tokens)`` of a request's strategy (auto: 800 and 400)."""
    if isinstance(strategy, StaticChunkingStrategy):
        return strategy.static.max_chunk_size_tokens, strategy.static.chunk_overlap_tokens
    return DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS


async def filenames(request: Request, file_ids: Sequence[str], param: str) -> dict[str, str]:
    """The name of each file the caller may attach (their own, unexpired); a 404 naming ``param`` for any other."""
    ctx = context(request)
    found = await files.get_many(ctx.backends.db, [i for i in file_ids if FILE_ID.match(i)], owner(request), ctx.now())
    out: dict[str, str] = {}
    for n, file_id in enumerate(file_ids):
        row = found.get(file_id)
        if row is None:
            where = {"file_id": "file_id", "files": f"files[{n}].file_id"}.get(param, f"{param}[{n}]")
            raise NotFound(f"No file found with id '{file_id}'.", param=where)
        out[file_id] = row.filename
    return out


def new_file_row(store_id: str, file_id: str, filename: str, strategy: ChunkingStrategy | None,
                 attributes: dict[str, Any] | None, batch_id: str | None, now: int) -> StoreFileRow:
    tokens, overlap = chunking(strategy)
    return StoreFileRow(store_id, file_id, batch_id, filename, IN_PROGRESS, None, None, dict(attributes or {}),
                        tokens, overlap, 0, 0, now, now)


async def start_ingestion(request: Request, job: Job) -> None:
    """Queue ``job``; with no job queue (``Backends.jobs`` None), run it now, within the request."""
    ctx = context(request)
    if not await jobs.send(ctx, job):
        await jobs.execute(ctx, job)


async def create_store(request: Request, *, file_ids: Sequence[str], param: str = "file_ids", name: str = "",
                       description: str | None = None, metadata: dict[str, str] | None = None,
                       expires_after_days: int | None = None,
                       chunking_strategy: ChunkingStrategy | None = None) -> StoreRow:
    """A new store of the caller's, with ``file_ids`` attached and their ingestion started (a 404 naming
    ``param`` for a file the caller cannot attach)."""
    ctx = context(request)
    now_ms = int(ctx.clock() * 1000)
    now = now_ms // 1000
    names = await filenames(request, file_ids, param)
    row = StoreRow(
        id=new_sortable_id("vs_", now_ms), owner=principal(request).key_hash, name=name, description=description,
        metadata=dict(metadata or {}), expires_after_days=expires_after_days,
        expires_at=expiry(expires_after_days, now), last_active_at=now, created_at=now, status=ACTIVE,
    )
    await vector_stores.create(ctx.backends.db, row)
    if names:
        await vector_store_files.attach(ctx.backends.db, [
            new_file_row(row.id, file_id, filename, chunking_strategy, None, None, now)
            for file_id, filename in names.items()])
        await start_ingestion(request, Job("vector_stores.ingest_batch", row.id, row.owner))
        # read again for its file_counts (its files' triggers counted them in its row)
        return await vector_stores.get(ctx.backends.db, row.id, None) or row
    return row
