"""``/v1/vector_stores``: create, list, retrieve, modify and delete vector stores, and search one.

A store belongs to the key that created it (other keys get 404; admin keys see all). Files attached
on creation are ingested in the background (``runner/ingest.py``); the search is hybrid (vectors and
keywords, fused, reranked: ``runner/file_search.py``). Expired stores are shown with ``status:
expired`` until the scheduled cleanup deletes them. See docs/vector_stores.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import context, owner
from ..pagination import list_object, page
from ..replies import json_response
from ..repositories import vector_stores
from ..repositories.vector_stores import expiry
from ..runner import vectors
from ..runner.file_search import file_search, queries_for
from ..types.vector_stores import CreateVectorStoreRequest, UpdateVectorStoreRequest, VectorStoreSearchRequest
from ..validation import parse_json
from ._vector_stores import (
    MAX_LIMIT,
    STORE_ID,
    create_store,
    path_store_id,
    render_store,
    store_not_found,
    visible_store,
)


async def create(request: Request) -> Response:
    body = await parse_json(request, CreateVectorStoreRequest)
    row = await create_store(request, file_ids=body.file_ids or [], name=body.name or "",
                             description=body.description, metadata=body.metadata,
                             expires_after_days=body.expires_after.days if body.expires_after else None,
                             chunking_strategy=body.chunking_strategy)
    return json_response(await render_store(context(request), row))


async def list_stores(request: Request) -> Response:
    ctx = context(request)
    rows, has_more = await vector_stores.list_page(
        ctx.backends.db, owner=owner(request), page=page(request.query_params, max_limit=MAX_LIMIT)
    )
    return json_response(list_object([await render_store(ctx, row) for row in rows], has_more))


async def retrieve(request: Request) -> Response:
    return json_response(await render_store(context(request), await visible_store(request)))


async def modify(request: Request) -> Response:
    row = await visible_store(request)
    body = await parse_json(request, UpdateVectorStoreRequest)
    ctx = context(request)
    changes: dict[str, object] = {}
    sent = body.model_fields_set
    if "name" in sent:  # null: no name, as a store created without one
        changes["name"] = body.name or ""
    if "metadata" in sent:  # null clears it, as every other update endpoint here does
        changes["metadata"] = dict(body.metadata or {})
    if "expires_after" in sent:  # null removes the expiry
        days = body.expires_after.days if body.expires_after else None
        changes.update(expires_after_days=days, expires_at=expiry(days, row.last_active_at))
    await vector_stores.update(ctx.backends.db, row.id, changes)
    updated = await vector_stores.get(ctx.backends.db, row.id, owner(request))
    if updated is None:  # deleted meanwhile
        raise store_not_found(row.id)
    return json_response(await render_store(ctx, updated))


async def delete(request: Request) -> Response:
    ctx = context(request)
    store_id = path_store_id(request)
    row = None
    if STORE_ID.match(store_id):
        row = await vector_stores.get_deletable(ctx.backends.db, store_id, owner(request))
    if row is None:
        raise store_not_found(store_id)
    await vectors.delete_store(ctx.backends, row.id)  # gone from the API now; a large store's rest in a job
    return json_response({"id": row.id, "object": "vector_store.deleted", "deleted": True})


async def search(request: Request) -> Response:
    """Hybrid search of one store: every matching chunk is one result, best first."""
    row = await visible_store(request, usable=True)
    body = await parse_json(request, VectorStoreSearchRequest)
    results = await file_search(
        context(request), [row.id], body.query, max_num_results=body.max_num_results or 10,
        filters=body.filters, ranking_options=body.ranking_options, owner=owner(request),
        rewrite_query=bool(body.rewrite_query),
    )
    return json_response({
        "object": "vector_store.search_results.page",
        "search_query": queries_for(body.query, bool(body.rewrite_query)),
        "data": [{"file_id": r.file_id, "filename": r.filename, "score": r.score, "attributes": r.attributes,
                  "content": r.content} for r in results],
        "has_more": False,
        "next_page": None,
    })
