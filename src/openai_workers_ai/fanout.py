"""Fan-out with a bound: one request's many calls (prompts, batches, images, segments), never all at once.

Every place that runs several calls for one request goes through :func:`gather_bounded`: at most
``limit`` in flight (a Worker has 6 simultaneous outbound connections), results in order, and the
first failure cancels the rest, so a failed or abandoned request stops its work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

MAX_IN_FLIGHT = 6
"""Calls one request runs at once, by default (a Worker's simultaneous outbound connections)."""


async def gather_bounded(calls: Sequence[Callable[[], Awaitable[T]]], limit: int = MAX_IN_FLIGHT) -> list[T]:
    """Each call's result, in order, with at most ``limit`` running at once; the first failure
    cancels the others and is raised."""
    if len(calls) == 1:
        return [await calls[0]()]
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    tasks = [asyncio.ensure_future(one(call)) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:  # a failure, or this request cancelled (its client left): stop the rest
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
