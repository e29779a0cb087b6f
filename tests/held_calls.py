"""Model calls of the simulator held until a test releases them: a generator (or a run's executor) kept
busy mid-generation, so that a test can race it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from openai_workers_ai.simulator import Simulator


class Held:
    """A model call held until :attr:`release` is set (:attr:`entered` once it waits), answering ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.entered, self.release = asyncio.Event(), asyncio.Event()


def held(simulator: Simulator, monkeypatch: pytest.MonkeyPatch, *calls: Held) -> None:
    """The simulator's first model calls held, one :class:`Held` each, in order; the calls after them
    answer at once, as asked."""
    real, waiting = simulator.run, list(calls)

    async def run(model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        if waiting:
            call = waiting.pop(0)
            call.entered.set()
            await call.release.wait()
            inputs = {**inputs, "messages": [*inputs["messages"][:-1], {"role": "user", "content": f"echo: {call.text}"}]}
        return await real(model, inputs, options)

    monkeypatch.setattr(simulator, "run", run)
