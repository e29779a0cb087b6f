"""Scheduled cleanup: the Worker's cron (``wrangler.toml`` ``[triggers]``) and
``openai-workers-ai cleanup`` locally both call :func:`run_scheduled`.

Each stored resource contributes one coroutine to :data:`CLEANUPS`; adding a
resource's cleanup is one line there. A cleanup returns counts of what it did
(``{"files_expired": 2, …}``); one cleanup failing does not stop the others.

A run is bounded in calls: a Worker invocation may make 1,000 calls to Cloudflare services (D1, R2,
the vector index, the queue), and a backlog (thousands of expired files, a large store to delete) would
pass that. Every call of a run is counted (:class:`Meter`); at :data:`CALLS_PER_RUN` the run stops
where it is — every cleanup is safe to stop at any point, as after a crash, and the next run goes on —
and each run starts with the next cleanup in turn, so a large backlog of one kind never starves the
others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any

from .ports import Backends
from .repositories import files, images, responses, uploads
from .runner import batches, run_status, vectors
from .settings import Settings

log = logging.getLogger(__name__)

Cleanup = Callable[[Backends, Settings, int], Awaitable[dict[str, int]]]

CALLS_PER_RUN = 900
"""Calls to Cloudflare services one run makes at most (an invocation may make 1,000; the rest is margin)."""


async def files_cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """Files: ``files.cleanup``, each file deleted taken out of every vector store first (within one
    budget of steps for all of them, the rest of each queued as a job)."""
    detach = partial(vectors.forget_file, budget=vectors.Budget())
    return await files.cleanup(backends, settings, now, detach=detach)


CLEANUPS: list[Cleanup] = [
    files_cleanup,  # expired files (out of vector stores too), crashed uploads/deletes, R2 objects without a row
    images.cleanup,  # generated images past their URL expiry
    uploads.cleanup,  # parts of expired, completed or cancelled uploads; rows of uploads expired a day ago
    responses.cleanup,  # background responses past their deadline; items' crashed writes and orphans (the
    #                     items of responses, conversations and stored chat completions, which do not expire)
    run_status.cleanup,  # Assistants runs left queued / in progress / waiting past their expires_at
    vectors.sweep,  # expired vector stores, half-done deletes, ingestions that stopped
    batches.cleanup,  # batches whose job went quiet: sent again (a run past the window ends them expired)
]


class OutOfCalls(BaseException):
    """A run spent its :data:`CALLS_PER_RUN`. A ``BaseException`` (as a task's cancellation is), so the
    cleanups' ``except Exception`` — one bad row must not stop the rest — lets it through: it stops them all."""


class Meter:
    """The calls a run may still make; each call to a backend spends one (a D1 statement when it is
    prepared, so a batch counts each of its statements)."""

    def __init__(self, calls: int) -> None:
        self.left = calls

    def spend(self) -> None:
        if self.left <= 0:
            raise OutOfCalls
        self.left -= 1

    def backends(self, backends: Backends) -> Backends:
        """``backends`` with every call counted."""
        def metered(port: Any) -> Any:
            return None if port is None else _Metered(port, self)

        return replace(backends, ai=metered(backends.ai), db=metered(backends.db), bucket=metered(backends.bucket),
                       fetcher=metered(backends.fetcher), jobs=metered(backends.jobs),
                       vectors=metered(backends.vectors))


class _Metered:
    """A port whose every method call first spends one of the run's calls."""

    def __init__(self, port: Any, meter: Meter) -> None:
        self._port, self._meter = port, meter

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._port, name)
        if name.startswith("_") or not callable(value):
            return value

        def spend_then(*args: Any, **kwargs: Any) -> Any:
            self._meter.spend()
            return value(*args, **kwargs)

        return spend_then


async def run_scheduled(backends: Backends, settings: Settings, now: int | None = None) -> dict[str, int]:
    """Run every cleanup once, within :data:`CALLS_PER_RUN` calls, starting with the next in turn (by the
    hour); return their counts merged (plus ``errors``: cleanups that failed; ``out_of_calls``: 1 when the
    run stopped at its limit)."""
    now = int(time.time()) if now is None else now
    totals: dict[str, int] = {"errors": 0}
    meter = Meter(CALLS_PER_RUN)
    metered = meter.backends(backends)
    first = now // 3600 % len(CLEANUPS)
    for cleanup in CLEANUPS[first:] + CLEANUPS[:first]:
        try:
            counts = await cleanup(metered, settings, now)
        except OutOfCalls:
            log.warning("the scheduled cleanup made its %d calls; the next run goes on", CALLS_PER_RUN)
            totals["out_of_calls"] = 1
            break
        except Exception:  # logged for `wrangler tail`; the next run retries
            log.exception("cleanup %s.%s failed", cleanup.__module__, cleanup.__qualname__)
            totals["errors"] += 1
            continue
        for name, count in counts.items():
            totals[name] = totals.get(name, 0) + count
    return totals
