"""Tools the gateway runs itself inside a response (``runner.responses.GATEWAY_TOOLS``): what one offers.

A gateway tool is declared by the client as a hosted tool (``{"type": "file_search", …}``) and offered
to the model as a function (:attr:`GatewayTool.function`). When the model calls it, the executor
adds the tool's output item (:meth:`~GatewayTool.begin`, in progress), runs it
(:meth:`~GatewayTool.run`), gives the model the result's text, and calls the model again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..context import AppContext
from ..translate.citations import Source
from ..types.responses import Item
from ..workers_ai import spec


@dataclass(frozen=True, slots=True)
class Ran:
    """What running a gateway tool gave: its finished output item, the text the model reads as the
    call's result, and the sources the answer may cite."""

    item: Item
    text: str
    sources: list[Source] = field(default_factory=list)


class GatewayTool(Protocol):
    """A tool type the server runs itself."""

    @property
    def type(self) -> str:
        """The tool's type in ``tools`` (``file_search``)."""

    @property
    def function(self) -> spec.Tool:
        """The function the model is offered instead."""

    @property
    def working(self) -> str | None:
        """The event between the item's ``in_progress`` and ``completed`` (``searching`` →
        ``response.file_search_call.searching``); None: the item is added whole, without such events."""

    async def check(self, ctx: AppContext, declared: Item, index: int, reader: str | None) -> None:
        """400 / 404 for a declaration the tool cannot run (``tools[index]``), while the request is open."""

    def begin(self, arguments: str, fallback: str) -> Item:
        """The output item of a call with ``arguments`` (``fallback``: the user's last words), in progress."""

    async def run(self, ctx: AppContext, declared: Item, item: Item, budget: int, first: int) -> Ran:
        """Run the call ``item`` began: ``budget`` characters of result for the model, sources numbered
        from ``first``."""
