"""A job's hold on what it generates in the background — a background response, an Assistants run —
while it generates, so that a delivery of the job finding its generator dead (a killed process, an
evicted Queue consumer) takes it over, and one finding it alive leaves it be.

The generator refreshes a liveness mark on the row (``updated_at``) every :data:`REFRESH_EVERY` seconds
(:func:`refreshing`; a generation streamed in its request, which no job runs: :func:`kept`, with a
watchdog job sent when it starts, :func:`watch`); a mark older than :data:`STALE_AFTER` says it died. Each resource's repository
writes the mark and takes a row over with its own conditional statements (``refresh``, ``take_over``),
under a claim token (:func:`~openai_workers_ai.ids.claim_token`) every write of the generator requires.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from ..context import AppContext
from ..errors import APIError
from ..ports import MAX_DELAY, Job

log = logging.getLogger(__name__)

REFRESH_EVERY = 30.0
"""Seconds between a job's generator's refreshes of its liveness mark (``updated_at``: one small
conditional UPDATE each)."""
STALE_AFTER = 120
"""Seconds after its liveness mark past which an ``in_progress`` row's generator is taken for dead (four
missed refreshes): a delivery of its job then takes it over."""


def alive(marked_at: int | None, now: int) -> bool:
    """Whether a generator that marked its row at ``marked_at`` is taken for alive at ``now``."""
    return now - (marked_at or 0) < STALE_AFTER


async def come_back(ctx: AppContext, job: Job, marked_at: int | None, ends_at: int | None, now: int) -> None:
    """A delivery that found the generator alive: ``job`` sent again, due when the mark would be stale —
    so that a generator dying later is still replaced — and at most just past ``ends_at`` (the row's
    deadline or expiry, which that delivery then ends: the loop is bounded). Without a queue nothing
    else would send it: the deadline ends it."""
    if ctx.backends.jobs is None:
        return
    due = STALE_AFTER - (now - (marked_at or 0)) + 1
    if ends_at is not None:
        due = min(due, ends_at - now + 1)
    await ctx.backends.jobs.send(job, delay=max(1, min(due, MAX_DELAY)))


async def marked(refresh: Awaitable[bool], what: str) -> bool:
    """The mark refreshed (``refresh``, the repository's conditional statement); whether the row is still
    the generator's. A D1 failure says yes: the generation goes on, and its conditional writes decide."""
    try:
        return await refresh
    except APIError:
        log.warning("could not refresh the liveness mark of %s", what, exc_info=True)
        return True


async def refreshing(work: Awaitable[object], still_ours: Callable[[], Awaitable[bool]]) -> bool:
    """Run ``work``, asking ``still_ours`` (which refreshes the mark) every :data:`REFRESH_EVERY` seconds;
    when it says no, ``work`` is cancelled (nothing of it would be written). Whether ``work`` ran to its
    end. Cancelled itself (the runner stopping), it cancels ``work``, waits for it, and goes on cancelled."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=REFRESH_EVERY)
            if done:
                task.result()
                return True
            if not await still_ours():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return False
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise


async def watch(ctx: AppContext, job: Job, ends_at: int | None, now: int) -> None:
    """For a generation streamed in its request (claimed, its mark ``now``), which no job runs: its ``job``
    sent, due when the mark would be stale, as :func:`come_back` sends one. If the stream's process dies,
    that delivery takes the row over; while the stream lives it comes back; once it ended it does nothing.
    Never raises: without it the row's deadline (or expiry) still ends it."""
    try:
        await come_back(ctx, job, now, ends_at, now)
    except Exception:
        log.warning("could not queue the watchdog of %s %s", job.kind, job.id, exc_info=True)


@asynccontextmanager
async def kept(refresh: Callable[[], Awaitable[bool]], what: str) -> AsyncIterator[None]:
    """While the block runs — a generation streamed in its request — its liveness mark refreshed every
    :data:`REFRESH_EVERY` seconds (``refresh``, the repository's conditional statement) by a task of its own,
    until the row is no longer the generator's (the stream notices a cancel by its own looks)."""
    async def refreshing_mark() -> None:
        while True:
            await asyncio.sleep(REFRESH_EVERY)
            if not await marked(refresh(), what):
                return

    task = asyncio.ensure_future(refreshing_mark())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
