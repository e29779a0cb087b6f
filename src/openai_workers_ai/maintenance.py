"""Scheduled cleanup: the Worker's cron (``wrangler.toml`` ``[triggers]``) and
``openai-workers-ai cleanup`` locally both call :func:`run_scheduled`.

Each stored resource contributes one coroutine to :data:`CLEANUPS`; adding a
resource's cleanup is one line there. A cleanup returns counts of what it did
(``{"files_expired": 2, …}``); one cleanup failing does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from .ports import Backends
from .repositories import files, images, responses
from .runner import run_status, vectors
from .settings import Settings

log = logging.getLogger(__name__)

Cleanup = Callable[[Backends, Settings, int], Awaitable[dict[str, int]]]


async def files_cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """Files: ``files.cleanup``, each file deleted taken out of every vector store first."""
    return await files.cleanup(backends, settings, now, detach=vectors.forget_file)


CLEANUPS: list[Cleanup] = [
    files_cleanup,  # expired files (out of vector stores too), crashed uploads/deletes, R2 objects without a row
    images.cleanup,  # generated images past their URL expiry
    responses.cleanup,  # background responses past their deadline; items' crashed writes and orphans
    run_status.cleanup,  # Assistants runs left queued / in progress / waiting past their expires_at
    vectors.sweep,  # expired vector stores, half-done deletes, ingestions that stopped
]


async def run_scheduled(backends: Backends, settings: Settings, now: int | None = None) -> dict[str, int]:
    """Run every cleanup once; return their counts merged (plus ``errors``: cleanups that failed)."""
    now = int(time.time()) if now is None else now
    totals: dict[str, int] = {"errors": 0}
    for cleanup in CLEANUPS:
        try:
            counts = await cleanup(backends, settings, now)
        except Exception:  # logged for `wrangler tail`; the next run retries
            log.exception("cleanup %s.%s failed", cleanup.__module__, cleanup.__qualname__)
            totals["errors"] += 1
            continue
        for name, count in counts.items():
            totals[name] = totals.get(name, 0) + count
    return totals
