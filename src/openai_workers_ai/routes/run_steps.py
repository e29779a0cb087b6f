"""``/v1/threads/{thread_id}/runs/{run_id}/steps``: what a run did, step by step (list, retrieve); a file
search's results show their content when ``include[]`` names it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..context import context
from ..pagination import list_object, page
from ..replies import json_response
from ..repositories import run_steps, runs
from ..types.runs import Run
from ._assistants import check_include, not_found, shown_step, thread_of


async def _run(request: Request) -> Run:
    """The run the path names, in the caller's thread (404 otherwise)."""
    thread = await thread_of(request)
    run_id: str = request.path_params["run_id"]
    stored = await runs.get(context(request).backends.db, thread.id, run_id)
    if stored is None:
        raise not_found("run", run_id)
    return stored.run


async def list_steps(request: Request) -> Response:
    include = check_include(request)
    run = await _run(request)
    found, has_more = await run_steps.list_page(context(request).backends.db, run.id, page(request.query_params))
    return json_response(list_object([shown_step(s, include, run).model_dump() for s in found], has_more))


async def retrieve(request: Request) -> Response:
    include = check_include(request)
    run = await _run(request)
    step_id: str = request.path_params["step_id"]
    found = await run_steps.get(context(request).backends.db, run.id, step_id)
    if found is None:
        raise not_found("run step", step_id)
    return json_response(shown_step(found, include, run))
