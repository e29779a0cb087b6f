"""``/v1/batches``: a file of requests answered in the background, within 24 hours.

``POST /v1/batches`` checks the batch's input file (yours, purpose ``batch``, at most 200 MB) and queues
its job: the file's lines are checked, then answered a slice at a time through the app's own routes, then
joined into an output file and an error file (``runner/batches.py``). ``GET`` one or a page of them;
``…/cancel`` stops it (``cancelling``, then ``cancelled`` with what was answered). Each batch belongs to
the API key that created it, as files do.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context, owner, principal
from ..errors import InvalidRequest, NotFound, UpstreamError
from ..ids import dated_hex_id_pattern, new_dated_hex_id
from ..pagination import list_object, page
from ..ports import Job
from ..replies import json_response
from ..repositories import batches, files
from ..repositories.batches import BatchRow
from ..runner import batches as runner
from ..types.batches import CreateBatchBody
from ..validation import parse_json
from ..webhooks import notify

# ``batch_`` and 32 hex digits, the first 8 its created_at, as OpenAI's (openai/openai-dotnet
# tests/SessionRecords/BatchTests/ListBatchesProtocol.json: batch_68c98953e66c…, created_at 1758038355 =
# 0x68c98953); or 24 letters and digits, as the ids made here before. The hex ones sort after those (a
# digit 6 and on, against their 0), so a list by id stays newest first across both.
BATCH_ID = re.compile(dated_hex_id_pattern("batch_"))


def batch_object(row: BatchRow) -> dict[str, Any]:
    """OpenAI's ``batch`` object, its members in the order OpenAI answers them (openai/openai-dotnet,
    tests/SessionRecords/BatchTests/CreateGetAndCancelBatchProtocol.json; ``usage``: input, output and total
    tokens, then the two details)."""
    usage = row.usage
    return {
        "id": row.id,
        "object": "batch",
        "endpoint": row.endpoint,
        "model": row.model,
        "errors": {"object": "list", "data": row.errors} if row.errors else None,
        "input_file_id": row.input_file_id,
        "completion_window": row.completion_window,
        "status": row.status,
        "output_file_id": row.output_file_id,
        "error_file_id": row.error_file_id,
        "created_at": row.created_at,
        "in_progress_at": row.in_progress_at,
        "expires_at": row.expires_at,
        "finalizing_at": row.finalizing_at,
        "completed_at": row.completed_at,
        "failed_at": row.failed_at,
        "expired_at": row.expired_at,
        "cancelling_at": row.cancelling_at,
        "cancelled_at": row.cancelled_at,
        "request_counts": {"total": row.total, "completed": row.completed, "failed": row.failed},
        "usage": {
            "input_tokens": usage.get("input_tokens", 0),
            "output_tokens": usage.get("output_tokens", 0),
            "total_tokens": usage.get("input_tokens", 0) + usage.get("output_tokens", 0),
            "input_tokens_details": {"cached_tokens": usage.get("cached_tokens", 0)},
            "output_tokens_details": {"reasoning_tokens": usage.get("reasoning_tokens", 0)},
        },
        "metadata": row.metadata or None,
    }


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateBatchBody)
    if body.endpoint not in runner.ENDPOINTS:
        raise InvalidRequest(f"Batches of '{body.endpoint}' are not available here (Workers AI); a batch may run "
                             f"{', '.join(runner.ENDPOINTS)}.", param="endpoint")
    if ctx.backends.jobs is None:
        raise InvalidRequest("Batches need a job queue, and this deployment has none (the JOBS Queue binding).",
                             param="input_file_id")
    now = ctx.now()
    input_file = await files.get(ctx.backends.db, body.input_file_id, owner(request), now)
    if input_file is None:
        raise NotFound(f"No such File object: {body.input_file_id}", param="input_file_id")
    if input_file.purpose != "batch":
        raise InvalidRequest(f"The input file must have been uploaded with purpose 'batch'; {input_file.id}'s is "
                             f"'{input_file.purpose}'.", param="input_file_id")
    if input_file.bytes > runner.MAX_INPUT_BYTES:
        raise InvalidRequest(f"The input file is {input_file.bytes} bytes; a batch's may be at most "
                             f"{runner.MAX_INPUT_BYTES} (200 MB).", param="input_file_id")
    row = BatchRow(
        id=new_dated_hex_id("batch_", now), owner=principal(request).key_hash, endpoint=body.endpoint,
        model=None, input_file_id=input_file.id, completion_window=body.completion_window,
        status=batches.VALIDATING, errors=None, output_file_id=None, error_file_id=None,
        output_expires_after=body.output_expires_after.seconds if body.output_expires_after else None,
        metadata=body.metadata or {}, created_at=now, in_progress_at=None,
        expires_at=now + runner.WINDOW_SECONDS[body.completion_window], finalizing_at=None, completed_at=None,
        failed_at=None, expired_at=None, cancelling_at=None, cancelled_at=None, total=0, completed=0, failed=0,
        usage={}, offsets=None, next_slice=0, runs=[],
    )
    await batches.create(ctx.backends.db, row, now)
    try:
        await ctx.backends.jobs.send(Job(runner.JOB_KIND, row.id, row.owner))
    except Exception as exc:  # not left validating for a day: failed at once
        error = {"code": "server_error", "message": "The batch's job could not be queued.", "param": None,
                 "line": None}
        if await batches.transition(ctx.backends.db, row.id, batches.VALIDATING, batches.FAILED, now, failed_at=now,
                                    errors=[error]):
            await notify(ctx.backends, ctx.settings, "batch.failed", row.id, row.owner, now)
        raise UpstreamError(f"The job queue failed: {exc}") from exc
    return json_response(batch_object(row))


async def _batch(request: Request) -> BatchRow:
    batch_id: str = request.path_params["batch_id"]
    row = None
    if BATCH_ID.match(batch_id):
        row = await batches.get(context(request).backends.db, batch_id, owner(request))
    if row is None:
        raise NotFound(f"No batch found with id '{batch_id}'.", param="batch_id")
    return row


async def retrieve(request: Request) -> Response:
    return json_response(batch_object(await _batch(request)))


async def list_batches(request: Request) -> Response:
    rows, has_more = await batches.list_page(context(request).backends.db, owner(request),
                                             page(request.query_params, default_order="desc"))
    return json_response(list_object([batch_object(row) for row in rows], has_more))


async def cancel(request: Request) -> Response:
    """``cancelling`` now; the batch's job ends it ``cancelled`` with what was answered (sent again here,
    so a batch waiting on a slow slice ends soon after)."""
    ctx = context(request)
    row = await _batch(request)
    now = ctx.now()
    if row.status not in (batches.VALIDATING, batches.IN_PROGRESS, batches.CANCELLING):  # OpenAI's 409 (ConflictError)
        raise InvalidRequest(f"Cannot cancel a batch with status '{row.status}'.", status=409)
    if await batches.transition(ctx.backends.db, row.id, (batches.VALIDATING, batches.IN_PROGRESS),
                                batches.CANCELLING, now, cancelling_at=now) and ctx.backends.jobs is not None:
        await ctx.backends.jobs.send(Job(runner.JOB_KIND, row.id, row.owner))
    fresh = await batches.get(ctx.backends.db, row.id, None)
    return json_response(batch_object(fresh or row))
