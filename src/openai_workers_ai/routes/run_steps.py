"""``/v1/threads/{thread_id}/runs/{run_id}/steps``: what a run did, step by step (list, retrieve); a file
search's results show their content when ``include[]`` names it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..pagination import list_object, page
from ..replies import json_response
from ..repositories import run_steps, runs
from ._assistants import check_include, not_found, shown_step, thread_of


async def _run_id(request: Request) -> str:
    """The run the path names, in the caller's thread (404 otherwise)."""
    thread = await thread_of(request)
    run_id: str = request.path_params["run_id"]
    if await runs.get(context(request).backends.db, thread.id, run_id) is None:
        raise not_found("run", run_id)
    return run_id


async def list_steps(request: Request) -> Response:
    include = check_include(request)
    run_id = await _run_id(request)
    found, has_more = await run_steps.list_page(context(request).backends.db, run_id, page(request.query_params))
    return json_response(list_object([shown_step(s, include).model_dump() for s in found], has_more))


async def retrieve(request: Request) -> Response:
    include = check_include(request)
    run_id = await _run_id(request)
    step_id: str = request.path_params["step_id"]
    found = await run_steps.get(context(request).backends.db, run_id, step_id)
    if found is None:
        raise not_found("run step", step_id)
    return json_response(shown_step(found, include))
