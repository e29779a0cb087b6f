"""``/v1/vector_stores/{vector_store_id}/files``: attach a file (ingested in the background), list,
retrieve, update attributes, take a file out of the store (its vectors and chunks go, the file stays),
and read the parsed text of its chunks. See docs/vector_stores.md."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..errors import InvalidRequest
from ..pagination import list_object, page
from ..ports import Job
from ..replies import json_response, polled
from ..repositories import chunks, vector_store_files
from ..repositories.vector_store_files import IN_PROGRESS
from ..runner import vectors
from ..types.vector_stores import CreateVectorStoreFileRequest, UpdateVectorStoreFileAttributesRequest
from ..validation import parse_json
from ._vector_stores import (
    MAX_LIMIT,
    POLL_AFTER_MS,
    file_object,
    filenames,
    new_file_row,
    start_ingestion,
    status_filter,
    visible_file,
    visible_store,
)

CONTENT_PAGE = 200
"""Chunks per page of ``…/content``."""
PAGE_TOKEN = re.compile(r"-?[0-9]{1,19}")
"""A ``page`` token: the index of the last chunk of the page before (ASCII digits; D1 holds 64-bit integers)."""


async def create(request: Request) -> Response:
    store = await visible_store(request, usable=True)
    body = await parse_json(request, CreateVectorStoreFileRequest)
    ctx = context(request)
    names = await filenames(request, [body.file_id], "file_id")
    now = ctx.now()
    row = new_file_row(store.id, body.file_id, names[body.file_id], body.chunking_strategy, body.attributes,
                       None, now)
    await vectors.clear_earlier_attempts(ctx.backends, store.id, [row.id])
    await vector_store_files.attach(ctx.backends.db, [row])
    await start_ingestion(request, Job("vector_stores.ingest", f"{store.id}/{body.file_id}", store.owner))
    attached = await vector_store_files.get(ctx.backends.db, store.id, body.file_id)
    return json_response(file_object(attached or row))


async def list_files(request: Request) -> Response:
    store = await visible_store(request)
    rows, has_more = await vector_store_files.list_page(
        context(request).backends.db, store.id, page(request.query_params, max_limit=MAX_LIMIT),
        status=status_filter(request),
    )
    return json_response(list_object([file_object(r) for r in rows], has_more))


async def retrieve(request: Request) -> Response:
    store = await visible_store(request)
    row = await visible_file(request, store)
    return polled(json_response(file_object(row)), row.status == IN_PROGRESS, POLL_AFTER_MS)


async def update(request: Request) -> Response:
    store = await visible_store(request)
    row = await visible_file(request, store)
    body = await parse_json(request, UpdateVectorStoreFileAttributesRequest)
    db = context(request).backends.db
    await vector_store_files.set_attributes(db, store.id, row.id, dict(body.attributes or {}))
    return json_response(file_object(await visible_file(request, store)))


async def delete(request: Request) -> Response:
    store = await visible_store(request)
    row = await visible_file(request, store)
    ctx = context(request)
    await vectors.delete_file(ctx.backends, store.id, row.id, ctx.now())  # a large file's rest in a job
    return json_response({"id": row.id, "object": "vector_store.file.deleted", "deleted": True})


async def content(request: Request) -> Response:
    """The parsed text of the file's chunks, a page of them at a time (``next_page`` → ``?page=``)."""
    store = await visible_store(request)
    row = await visible_file(request, store)
    raw = request.query_params.get("page") or "-1"
    if not PAGE_TOKEN.fullmatch(raw) or not -1 <= int(raw) < 2**63:  # a chunk index, as next_page gives it
        raise InvalidRequest(f"Invalid value for 'page': '{raw}' is not a page token.", param="page")
    texts = await chunks.texts(context(request).backends.db, store.id, row.id, row.attempt, int(raw), CONTENT_PAGE + 1)
    more = len(texts) > CONTENT_PAGE
    texts = texts[:CONTENT_PAGE]
    return json_response({
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": text} for _, text in texts],
        "has_more": more,
        "next_page": str(texts[-1][0]) if more else None,
    })
