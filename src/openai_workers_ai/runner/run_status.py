"""A run's status changes made outside its execution: cancel, submitted tool outputs, expiry, a run that cannot start.

OpenAI's status machine (and the gateway's own arrow for a run nothing will execute, ``queued → failed``)::

    queued ──► in_progress ──► completed | requires_action | incomplete | failed
      │            │                          │
      │            └──► cancelling ──► cancelled ◄── (cancel, from queued or requires_action)
      ├─────────── any of queued / in_progress / requires_action past expires_at ──► expired
      └─────────── its job not sent, or its stream failed before it started ──► failed
                                                      requires_action ──(tool outputs)──► queued

Each arrow is one conditional ``UPDATE`` (:func:`..repositories.runs.transition`) whose one changed
row the caller checks; the run's unfinished reply and steps are then ended in one batch. A run that
nothing executes (queued, requires_action) is cancelled at once; an executing one is ``cancelling``
until its executor notices. Expiry runs on read (every route that reads a thread's runs) and in the
scheduled cleanup (:func:`cleanup`).
"""

from __future__ import annotations

import logging
from typing import Any

from ..context import AppContext
from ..errors import InvalidRequest
from ..limits import check_fits_a_row
from ..ports import Backends, Database, Job
from ..repositories import messages, run_steps, runs
from ..settings import Settings
from ..types.runs import AssistantStreamEvent, LastError, Run, RunStatus, RunStep, StepStatus
from ..types.threads import Message, text_part
from . import liveness

log = logging.getLogger(__name__)

RUN_TTL = 600
"""Seconds a run may stay queued or in progress, or wait for tool outputs, before it expires (OpenAI: 10 minutes),
counted from its creation: OpenAI's ``expires_at`` stays the same through ``requires_action`` and the tool outputs
(openai/openai-dotnet tests/SessionRecords/AssistantsTests/FunctionToolsWork.json, StreamingToolCall().json)."""
SWEEP_BATCH = 100
"""Overdue runs expired per scheduled cleanup."""

_ENDING: dict[str, tuple[str, StepStatus]] = {
    "cancelled": ("run_cancelled", "cancelled"), "expired": ("run_expired", "expired"), "failed": ("run_failed", "failed"),
}


def event_for(run: Run) -> AssistantStreamEvent:
    """The stream event that reports the run in its current status (``thread.run.<status>``)."""
    return AssistantStreamEvent(f"thread.run.{run.status}", run)


async def tidy(db: Database, run_id: str, status: str, now: int, reply: Message | None = None, text: str = "") -> None:
    """End what the run left unfinished when it ended ``status``: its reply ``incomplete`` (with the text
    it had, when the executor knows it), its open steps ``cancelled`` / ``expired`` / ``failed``."""
    if status not in _ENDING:
        return
    reason, step_status = _ENDING[status]
    statements = []
    if reply is not None:
        statements.append(messages.finish_statement(db, reply.model_copy(update={
            "content": [text_part(text)], "status": "incomplete", "incomplete_at": now,
            "incomplete_details": {"reason": reason}})))
    statements.append(messages.close_statement(db, run_id, reason, now))
    statements.append(run_steps.close_statement(db, run_id, step_status, now))
    await db.batch(statements)


async def expire(db: Database, run_id: str, now: int) -> bool:
    """End an overdue active run: ``expired`` (a ``cancelling`` one: ``cancelled``); whether this call did."""
    if await runs.transition(db, run_id, ("cancelling",), "cancelled", now,
                             {"cancelled_at": now, "expires_at": None}, deadline="passed"):
        await tidy(db, run_id, "cancelled", now)
        return True
    if await runs.transition(db, run_id, ("queued", "in_progress", "requires_action"), "expired", now,
                             {"required_action": None}, deadline="passed"):
        await tidy(db, run_id, "expired", now)
        return True
    return False


async def expire_overdue(ctx: AppContext, thread_id: str) -> None:
    """Expire the thread's overdue runs (before its runs are read or a new one is checked for)."""
    now = ctx.now()
    for run_id in await runs.overdue(ctx.backends.db, now, SWEEP_BATCH, thread_id):
        await expire(ctx.backends.db, run_id, now)


async def expire_if_overdue(ctx: AppContext, run_id: str) -> Run | None:
    """The run as it now is, expired first if it is past its deadline — and ``cancelled`` if it is
    ``cancelling`` and its executor died (:func:`cancel_abandoned`) — (None: it is gone)."""
    db, now = ctx.backends.db, ctx.now()
    stored = await runs.get_by_id(db, run_id)
    if stored is None:
        return None
    run = stored.run
    if run.status in ("queued", "in_progress", "requires_action", "cancelling") and (run.expires_at or now + 1) <= now:
        await expire(db, run_id, now)
        stored = await runs.get_by_id(db, run_id)
    elif run.status == "cancelling" and await cancel_abandoned(db, stored, now):
        stored = await runs.get_by_id(db, run_id)
    return None if stored is None else stored.run


async def cancel_abandoned(db: Database, stored: runs.StoredRun, now: int) -> bool:
    """A run ``in_progress`` or ``cancelling`` whose executor died — its liveness mark older than
    :data:`.liveness.STALE_AFTER` — ``cancelled`` at once, its reply and steps ended as a cancel ends them:
    no executor is left to end the cancel. One conditional statement, on the run's claim and its mark
    still stale, so an executor that is only slow (it refreshed meanwhile) is never overtaken, and a
    delivery that took the run over first wins. Whether this call cancelled it."""
    if stored.run.status not in ("in_progress", "cancelling") or liveness.alive(stored.updated_at, now):
        return False
    if not await runs.transition(db, stored.run.id, (stored.run.status,), "cancelled", now,
                                 {"cancelled_at": now, "expires_at": None}, claim=stored.claim,
                                 stale_before=now - liveness.STALE_AFTER):
        return False
    log.warning("run %s: cancelled, its executor having stopped refreshing its mark", stored.run.id)
    await tidy(db, stored.run.id, "cancelled", now)
    return True


async def settle(ctx: AppContext, run_id: str, reply: Message | None, text: str) -> Run | None:
    """For an executor whose run left ``in_progress`` under it: a ``cancelling`` run becomes ``cancelled``;
    the reply it was writing keeps its text, ``incomplete``; open steps end. The run as it now is."""
    db, now = ctx.backends.db, ctx.now()
    run = await expire_if_overdue(ctx, run_id)
    if run is None:
        return None
    if run.status == "cancelling" and await runs.transition(db, run_id, ("cancelling",), "cancelled", now,
                                                            {"cancelled_at": now, "expires_at": None}):
        run = run.model_copy(update={"status": "cancelled", "cancelled_at": now, "expires_at": None})
    await tidy(db, run_id, run.status, now, reply, text)
    return run


async def fail_unstarted(ctx: AppContext, run_id: str, error: LastError,
                         sources: tuple[RunStatus, ...] = ("queued",)) -> Run | None:
    """End ``failed``, with ``error`` as its ``last_error``, a run that nothing will execute: its job
    could not be sent, or the stream that was to execute it failed before it started. Its open steps
    (a tool-calls step whose outputs it was to record) end ``failed`` too. The run as it now is when
    this call ended it; None when it had left ``sources`` meanwhile."""
    db, now = ctx.backends.db, ctx.now()
    if not await runs.transition(db, run_id, sources, "failed", now,
                                 {"failed_at": now, "last_error": error.model_dump(), "expires_at": None}):
        return None
    try:
        await tidy(db, run_id, "failed", now)
    except Exception:  # the run has ended, as it must; its steps stay as they were
        log.warning("run %s failed, but its steps could not be closed", run_id, exc_info=True)
    stored = await runs.get_by_id(db, run_id)
    return None if stored is None else stored.run


async def hand_off(ctx: AppContext, run: Run, owner: str, reply: Message | None, steps: list[RunStep],
                   claim: str | None = None) -> None:
    """A streamed run whose client went away mid-run goes on in the background, as at OpenAI: the reply
    and steps it had started are dropped, and it is ``queued`` again with a ``runs.execute`` job (which
    starts the generation over). Without a job queue it fails instead, rather than wait for its expiry.
    Only while the run is its executor's (``claim``): one taken over is left to its taker."""
    db, now = ctx.backends.db, ctx.now()
    if ctx.backends.jobs is None:
        error = {"code": "server_error", "message": "The stream was closed before the run ended."}
        if await runs.transition(db, run.id, ("in_progress",), "failed", now,
                                 {"failed_at": now, "last_error": error, "expires_at": None}, claim=claim):
            await tidy(db, run.id, "failed", now, reply)
        return
    if not await runs.transition(db, run.id, ("in_progress",), "queued", now,
                                 {"expires_at": now + RUN_TTL, "claim": None}, claim=claim):
        return
    unfinished = [run_steps.delete_unfinished_statement(db, s.id) for s in steps if s.status == "in_progress"]
    if reply is not None:
        unfinished.append(messages.delete_unfinished_statement(db, reply.id))
    if unfinished:
        await db.batch(unfinished)
    await ctx.backends.jobs.send(Job("runs.execute", run.id, owner))


async def cancel(ctx: AppContext, run: Run) -> Run:
    """Cancel the run: at once when nothing executes it (queued, requires_action, or in progress with an
    executor that died: :func:`cancel_abandoned`), else ``cancelling`` for its executor to end. A 400 when
    it has already ended."""
    db = ctx.backends.db
    for _ in range(3):  # the status may change between the read and the update: read again
        now = ctx.now()
        if run.status in ("queued", "requires_action"):
            if await runs.transition(db, run.id, (run.status,), "cancelled", now,
                                     {"cancelled_at": now, "expires_at": None, "required_action": None}):
                await tidy(db, run.id, "cancelled", now)
                return await _reread(db, run)
        elif run.status == "in_progress":
            stored = await runs.get_by_id(db, run.id)
            if stored is not None and await cancel_abandoned(db, stored, now):
                return await _reread(db, run)
            if await runs.transition(db, run.id, ("in_progress",), "cancelling", now):
                return await _reread(db, run)
        else:
            raise InvalidRequest(f"Cannot cancel run with status '{run.status}'.", param=None)
        run = await _reread(db, run)
    raise InvalidRequest("The run changed status while it was being cancelled; please retry.")


async def submit_tool_outputs(ctx: AppContext, run: Run, outputs: list[dict[str, Any]]) -> Run:
    """Take the outputs of every pending tool call; the run is ``queued`` again for its executor,
    which writes them into the tool-calls step. The 400s OpenAI answers otherwise."""
    if run.status != "requires_action" or run.required_action is None:
        raise InvalidRequest(f"Runs in status \"{run.status}\" do not accept tool outputs.", param=None)
    pending = [c["id"] for c in run.required_action["submit_tool_outputs"]["tool_calls"]]
    given: dict[str, str] = {}
    for i, output in enumerate(outputs):
        call = output.get("tool_call_id")
        if not call:
            raise InvalidRequest(f"Missing required parameter: 'tool_outputs[{i}].tool_call_id'.",
                                 param=f"tool_outputs[{i}].tool_call_id")
        if call not in pending:
            raise InvalidRequest(f"Invalid 'tool_outputs[{i}].tool_call_id': no pending tool call has id '{call}'.",
                                 param=f"tool_outputs[{i}].tool_call_id")
        if call in given:
            raise InvalidRequest(f"Duplicate tool output for tool call '{call}'.", param=f"tool_outputs[{i}]")
        given[call] = output.get("output") or ""
    missing = [c for c in pending if c not in given]
    if missing:
        raise InvalidRequest(f"Expected tool outputs for call_ids {pending}, got {list(given)}.", param="tool_outputs")
    check_fits_a_row(given, "tool_outputs", "The tool outputs")
    now = ctx.now()
    if not await runs.transition(ctx.backends.db, run.id, ("requires_action",), "queued", now, {
        "required_action": None, "tool_outputs": [{"tool_call_id": c, "output": o} for c, o in given.items()],
    }, deadline="ahead"):
        current = await expire_if_overdue(ctx, run.id)
        status = current.status if current else "expired"
        raise InvalidRequest(f"Runs in status \"{status}\" do not accept tool outputs.", param=None)
    return await _reread(ctx.backends.db, run)


async def _reread(db: Database, run: Run) -> Run:
    stored = await runs.get_by_id(db, run.id)
    return run if stored is None else stored.run


async def cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """The scheduled cleanup (:data:`openai_workers_ai.maintenance.CLEANUPS`): overdue runs expired.
    Reports ``runs_expired`` only when there were some."""
    expired = 0
    for run_id in await runs.overdue(backends.db, now, SWEEP_BATCH):
        expired += await expire(backends.db, run_id, now)
    return {"runs_expired": expired} if expired else {}
