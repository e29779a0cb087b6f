"""The Workers AI simulator: deterministic stand-in models with Workers AI's shapes.

It is what the tests run against and what the local server uses offline. Use
it in-process as the AI binding (:class:`Simulator`), or over HTTP in the
Workers AI REST API's envelope (:mod:`.rest`) so the REST backend is tested too.

Public conventions (also in the README):

- text generation: a last user message starting with ``echo:`` is answered with
  exactly the rest (one leading space dropped); anything else gets a
  deterministic reply derived from the prompt. One whitespace-separated word is
  one token for ``max_tokens`` and ``usage``.
- chat: tools (``call:<name> <json>``), tool results, JSON mode, vision and
  reasoning, per model family: :mod:`.chat_behaviour` and :mod:`.chat_families`.
- ``fail:<status>`` as the last user message (or prompt) fails the call the way
  Workers AI fails with that HTTP status (400, 404, 429, 500, 503 …).
- ``wait:<seconds>`` at the start of the last user message (or prompt) makes the model take that long
  (at most a minute) before it answers the rest: ``wait:2 echo: hi`` answers ``hi`` after 2 s.
- streams are real Workers AI SSE events, cut into transport chunks of a few
  bytes that split events and multi-byte UTF-8 characters.
- ``models()`` lists the simulator's catalog as Workers AI's live catalog does
  (:mod:`.models_search`).
- embeddings bring texts that share words closer (:mod:`.embeddings`); the reranker scores a
  context by the query words it holds (:mod:`.reranker`); ``to_markdown()`` converts text, HTML,
  simple PDFs, DOCX and images (:mod:`.markdown`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from ..catalog import Catalog, ModelInfo
from ..errors import UpstreamError
from ..ports import Conversion
from . import (
    embeddings,
    llama_guard,
    markdown,
    reranker,
    speech_recognition,
    text_generation,
    text_to_image,
    text_to_speech,
    translation,
)
from .failures import SimulatedFailure, no_such_model
from .models_search import search_objects
from .words import waited

Handler = Callable[[ModelInfo, dict[str, Any]], "dict[str, Any] | bytes | AsyncIterator[bytes]"]

# Workers AI task (or "task/family", which wins) → the simulated model family. Each family is one module.
HANDLERS: dict[str, Handler] = {
    "text-generation": text_generation.run,
    "text-generation/llama-guard": llama_guard.run,
    "text-embeddings": embeddings.run,
    "text-classification/reranker": reranker.run,
    "text-to-image": text_to_image.run,
    "automatic-speech-recognition": speech_recognition.run,
    "translation": translation.run,
    "text-to-speech": text_to_speech.run,
}


@dataclass
class StreamRecord:
    """What a test can observe about one simulated stream."""

    model: str
    bytes_sent: int = 0
    finished: bool = False
    closed: bool = False


@dataclass
class Simulator:
    """Implements :class:`openai_workers_ai.ports.AI` without a network."""

    catalog: Catalog = field(default_factory=Catalog)
    chunk_size: int = 5
    """Upper bound on transport chunk sizes for streams (bytes)."""
    streams: list[StreamRecord] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    keep_calls: int | None = None
    """How many recent calls ``calls`` remembers: all (None) for tests; the local server keeps
    none, so a long-running server does not hold every input it was sent (25 MB audio …)."""

    async def run(
        self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any] | bytes | AsyncIterator[bytes]:
        """:meth:`ports.AI.run`: the simulated answer; a simulated failure is raised as the gateway's upstream error."""
        delay, inputs = waited(inputs)
        if delay:  # ``wait:<seconds>``: a model slow to answer
            await asyncio.sleep(delay)
        try:
            result = self.answer(model, inputs)
        except SimulatedFailure as failure:
            raise failure.as_upstream_error() from None
        if isinstance(result, (bytes, dict)):
            return result
        return self._transport(model, result)

    async def models(self) -> list[dict[str, Any]]:
        """:meth:`ports.AI.models`: the simulator's catalog in the binding's ``AiModelsSearchObject`` shape."""
        return search_objects(self.catalog)

    async def to_markdown(self, name: str, data: bytes, content_type: str) -> Conversion:
        """:meth:`ports.AIMarkdown.to_markdown`: the document as :mod:`.markdown` converts it."""
        self._remember("toMarkdown", {"name": name, "bytes": len(data), "content_type": content_type})
        try:
            return markdown.convert(name, data, content_type)
        except SimulatedFailure as failure:
            raise failure.as_upstream_error() from None

    def _remember(self, model: str, inputs: dict[str, Any]) -> None:
        self.calls.append((model, inputs))
        if self.keep_calls is not None and len(self.calls) > self.keep_calls:
            del self.calls[: len(self.calls) - self.keep_calls]

    def answer(self, model: str, inputs: dict[str, Any]) -> dict[str, Any] | bytes | AsyncIterator[bytes]:
        """The model's raw answer (an SSE byte stream when streaming), or :class:`SimulatedFailure`."""
        self._remember(model, inputs)
        info = self.catalog.models.get(model)
        if info is None:
            raise no_such_model(model)
        handler = HANDLERS.get(f"{info.task}/{info.family}") or HANDLERS.get(info.task)
        if handler is None:
            raise SimulatedFailure(400, 5018, f"The simulator has no {info.task} models yet.")
        return handler(info, inputs)

    async def _transport(self, model: str, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        record = StreamRecord(model)
        self.streams.append(record)
        try:
            async for chunk in network_chunks(stream, self.chunk_size):
                record.bytes_sent += len(chunk)
                yield chunk
            record.finished = True
        except SimulatedFailure as failure:  # the binding's stream errors as a call would
            raise failure.as_upstream_error() from None
        finally:
            record.closed = True


async def network_chunks(stream: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Re-cut a byte stream into chunks of 1..size bytes, deterministically."""
    step = 0
    async for data in stream:
        view = memoryview(data)
        while view:
            step += 1
            n = 1 + (step * 7) % max(size, 1)
            yield bytes(view[:n])
            view = view[n:]


__all__ = ["HANDLERS", "Simulator", "SimulatedFailure", "StreamRecord", "UpstreamError"]
