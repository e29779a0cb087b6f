"""The narrow interfaces the core sees its bindings through.

The Worker passes adapters over ``env.AI`` / ``env.DB`` / ``env.BUCKET`` /
``env.JOBS`` (``adapters/workers.py``); the local server passes SQLite, a folder,
the simulator or the REST API, and an in-process job runner (``adapters/local.py``,
``simulator/``, ``jobs.py``). Handlers only ever see these Protocols, never JS objects.
"""

from __future__ import annotations

import binascii
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Base64Bytes:
    """An input value Workers AI takes as base64 text (whisper-large-v3-turbo's ``audio``).

    The core keeps the bytes; each adapter turns them into the text where it sends them
    (the REST adapter while streaming the request body), so a large upload is not held
    as bytes and as base64 text at once. It only ever stands at the top level of ``inputs``.
    """

    data: bytes | bytearray | memoryview

    def text(self) -> str:
        """The base64 text Workers AI expects."""
        return binascii.b2a_base64(self.data, newline=False).decode("ascii")


class AI(Protocol):
    """Workers AI: ``env.AI.run(model, inputs, options)``.

    ``inputs`` are the model's inputs as Python values; bytes go as binary, and a
    :class:`Base64Bytes` value as base64 text.

    Returns the model's output converted to Python: a ``dict`` for JSON
    output, ``bytes`` for binary output (images, audio), or, when
    ``inputs["stream"]`` is true, an async iterator of raw SSE bytes exactly
    as Workers AI sends them (chunk boundaries are arbitrary). Failures are
    raised as :class:`openai_workers_ai.errors.UpstreamError`.
    """

    async def run(
        self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any] | bytes | AsyncIterator[bytes]: ...

    # Optional: ``models()`` (:class:`AIModels`) and ``to_markdown()`` (:class:`AIMarkdown`). Not
    # declared here, so backends without them (tests' fakes) still are an ``AI``; the core looks
    # them up with ``getattr``.


class AIModels(Protocol):
    """The optional part of :class:`AI`: ``env.AI.models()``."""

    async def models(self) -> list[dict[str, Any]]:
        """The live catalog, in the binding's ``AiModelsSearchObject`` shape: ``{id, source, name,
        description, task: {id, name, description}, tags, properties: [{property_id, value}]}``
        (the REST API's ``GET …/ai/models/search``). Failures are raised as ``UpstreamError``."""
        ...


@dataclass(frozen=True, slots=True)
class Conversion:
    """A document converted to Markdown (Workers AI's ``ConversionResult``): ``markdown``, or the
    ``error`` that kept it from being converted."""

    name: str
    markdown: str | None = None
    error: str | None = None


class AIMarkdown(Protocol):
    """The optional part of :class:`AI`: ``env.AI.toMarkdown()`` (REST ``POST …/ai/tomarkdown``)."""

    async def to_markdown(self, name: str, data: bytes, content_type: str) -> Conversion:
        """``data`` (a PDF, an Office document, an image …) as Markdown. A document Workers AI cannot
        convert is a :class:`Conversion` with ``error``; a failed call is raised as ``UpstreamError``."""
        ...


class Statement(Protocol):
    """A prepared D1 statement."""

    def bind(self, *values: Any) -> Statement:
        """The statement with ``values`` for its ``?`` placeholders, in order."""
        ...

    async def all(self) -> list[dict[str, Any]]:
        """Every result row, as a dict of columns."""
        ...

    async def first(self) -> dict[str, Any] | None:
        """The first result row, or None when there is none."""
        ...

    async def run(self) -> int:
        """Execute; return the number of rows changed."""
        ...


class Database(Protocol):
    """D1: ``env.DB.prepare(sql).bind(...).all()/first()/run()`` and ``batch``."""

    def prepare(self, sql: str) -> Statement:
        """A statement for ``sql`` (parameters bound later with :meth:`Statement.bind`)."""
        ...

    async def batch(self, statements: Sequence[Statement]) -> None:
        """Run the statements in one transaction (all or nothing)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An R2 object's metadata, and its body when it was fetched with ``get``."""

    key: str
    size: int
    content_type: str | None = None
    metadata: dict[str, str] | None = None
    body: AsyncIterator[bytes] | None = None


class ObjectStore(Protocol):
    """R2: ``env.BUCKET.put/get/head/delete/list``."""

    async def put(
        self,
        key: str,
        body: bytes | bytearray | AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        """Store ``body`` (whole, or streamed) under ``key``, replacing any object there; return what was stored."""
        ...

    async def get(self, key: str, *, span: tuple[int, int] | None = None) -> StoredObject | None:
        """The object with its ``body`` to read, or None if there is none; with ``span`` (offset, length),
        only those bytes of it (fewer past its end)."""
        ...

    async def head(self, key: str) -> StoredObject | None:
        """The object's metadata only, or None if there is none."""
        ...

    async def delete(self, keys: str | Sequence[str]) -> None:
        """Delete one key or many; keys that do not exist are no error."""
        ...

    async def list(self, prefix: str = "", limit: int = 1000) -> list[StoredObject]:
        """Up to ``limit`` objects whose key starts with ``prefix``, in key order (metadata only)."""
        ...


@dataclass(frozen=True, slots=True)
class Fetched:
    """A downloaded resource."""

    body: bytes
    content_type: str | None = None


class Fetcher(Protocol):
    """Outbound HTTP (the Worker's global ``fetch``), under :mod:`openai_workers_ai.outbound`'s policy:
    GET for inputs given by URL such as chat ``image_url`` parts, POST for webhook events.
    """

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        """The resource at ``url``, redirects followed (each hop checked). Raises any exception on failure
        (network error, non-2xx status, or a body larger than ``max_bytes``); callers turn it into a 400
        naming the input."""
        ...

    async def post(self, url: str, body: bytes, *, headers: dict[str, str]) -> None:
        """POST ``body`` with ``headers`` to ``url``; its answer's body is not read. Redirects are not
        followed: anything but a 2xx answer, or a network error, is raised (as :class:`OSError`)."""
        ...


@dataclass(frozen=True, slots=True)
class Job:
    """Background work, as data: what to do (``kind``), to what (``id``), for whom (``owner``,
    the key hash of the caller who caused it, or None). Handlers: :mod:`openai_workers_ai.jobs`."""

    kind: str
    id: str
    owner: str | None = None

    def to_json(self) -> dict[str, str]:
        """The job as a JSON object (a Queue message's body); ``owner`` only when there is one."""
        body = {"kind": self.kind, "id": self.id}
        if self.owner is not None:
            body["owner"] = self.owner
        return body

    @classmethod
    def from_json(cls, body: Any) -> Job | None:
        """A job from a message body; None when the body is not one."""
        if not isinstance(body, dict) or not isinstance(body.get("kind"), str) or not isinstance(body.get("id"), str):
            return None
        owner = body.get("owner")
        return cls(body["kind"], body["id"], owner if isinstance(owner, str) else None)


MAX_DELAY = 12 * 3600
"""The longest a job may be delayed (Cloudflare Queues' ``delaySeconds`` limit); a handler that
finds its job early sends it again."""


class Jobs(Protocol):
    """A background-job queue: a Cloudflare Queue in the Worker, an in-process runner locally.

    Delivery is at least once: a job may run twice (a redelivered message), so every
    handler must be idempotent."""

    async def send(self, job: Job, *, delay: int = 0) -> None:
        """Queue ``job`` to run after ``delay`` seconds (at most :data:`MAX_DELAY`)."""
        ...


MetadataValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Vector:
    """A vector to store: its id (at most 64 bytes), values, and metadata to filter on."""

    id: str
    values: Sequence[float]
    metadata: dict[str, MetadataValue]


@dataclass(frozen=True, slots=True)
class VectorMatch:
    """A query's match: the vector's id and its cosine similarity to the query (-1 to 1)."""

    id: str
    score: float


class VectorIndex(Protocol):
    """A vector index with Vectorize's semantics (``env.VECTORS`` in the Worker; an embedded index
    locally): one index of cosine vectors, metadata filters, ids chosen by the caller.

    ``filter`` is Vectorize's metadata filter: ``{key: value}`` (equality) or ``{key: {"$eq" | "$ne" |
    "$in" | "$nin": value}}``, keys ANDed. Failures are raised as ``UpstreamError``.
    """

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        """Insert the vectors, replacing any with the same id (values and metadata in full)."""
        ...

    async def query(
        self, values: Sequence[float], *, top_k: int, filter: dict[str, Any] | None = None
    ) -> list[VectorMatch]:
        """The ``top_k`` (at most 100) vectors most similar to ``values`` that match ``filter``, best first."""
        ...

    async def delete(self, ids: Sequence[str]) -> None:
        """Delete the vectors with these ids; ids that do not exist are no error."""
        ...


@dataclass(frozen=True, slots=True)
class Backends:
    """Everything the app needs from the outside world."""

    ai: AI
    db: Database
    bucket: ObjectStore
    fetcher: Fetcher | None = None
    """None: URL inputs are refused with a 400 (only inline data is accepted)."""
    jobs: Jobs | None = None
    """None: no background work (what it would do is left to the scheduled cleanup)."""
    vectors: VectorIndex | None = None
    """None: vector stores are searched by keywords only (no embeddings are made)."""
