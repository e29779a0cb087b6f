"""The ports over the Worker's bindings: ``env.AI``, ``env.DB``, ``env.BUCKET``, ``env.JOBS``, ``env.VECTORS``
(and global ``fetch``).

With :mod:`.workers_convert` (the value conversions it uses), the only code of the
core that knows about JavaScript. Everything crossing the boundary is converted
once, there; JS errors come back as :class:`~openai_workers_ai.errors.UpstreamError`
(a failed ``fetch`` as :class:`OSError`, as :class:`ports.Fetcher` asks).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from json import dumps
from typing import Any
from urllib.parse import urljoin

import js
from pyodide.ffi import JsException

from .. import outbound
from ..catalog.live import MAX_PAGES, PER_PAGE
from ..errors import UpstreamError
from ..limits import declared_over, read_at_most
from ..ports import Backends, Conversion, Fetched, Job, Statement, StoredObject, Vector, VectorMatch
from ..settings import VARIABLES, Settings
from ..workers_ai.errors import upstream_error
from .workers_convert import (
    is_null,
    js_bytes,
    js_error_text,
    js_type,
    jsnull,
    read_all,
    read_stream,
    to_js,
    to_py,
    unwrap,
)

# R2 multipart parts must all have the same size (except the last) and be >= 5 MiB.
R2_PART_BYTES = 8 * 1024 * 1024


def _ai_error(exc: BaseException) -> UpstreamError:
    return upstream_error(js_error_text(exc))


# --- Workers AI -------------------------------------------------------------------------


class WorkersAI:
    """:class:`ports.AI` over the ``[ai]`` binding."""

    def __init__(self, ai: Any) -> None:
        self._ai = unwrap(ai)

    async def run(
        self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any] | bytes | AsyncIterator[bytes]:
        args = [model, to_js(inputs)]
        if options:
            args.append(to_js(options))
        try:
            result = await self._ai.run(*args)
        except JsException as exc:
            raise _ai_error(exc) from exc
        kind = js_type(result)
        if kind == "ReadableStream":
            # stream=True: the SSE bytes as they come. Otherwise a binary output
            # (an image from stable-diffusion, audio…): read it whole.
            if inputs.get("stream"):
                return read_stream(result, _ai_error)
            return await read_all(result, _ai_error)
        converted = to_py(result)
        if converted is None:
            raise UpstreamError(f"Workers AI returned nothing for {model}.")
        return converted  # type: ignore[no-any-return]  # a JS object converted: a dict

    async def models(self) -> list[dict[str, Any]]:
        """:class:`ports.AIModels`: ``env.AI.models()``, page by page (the search API it fronts pages)."""
        out: dict[str, dict[str, Any]] = {}
        for page in range(1, MAX_PAGES + 1):
            try:
                result = await self._ai.models(to_js({"page": page, "per_page": PER_PAGE}))
            except JsException as exc:
                raise _ai_error(exc) from exc
            entries = to_py(result)
            if not isinstance(entries, list):
                raise UpstreamError("Workers AI's model catalog is not a list.")
            new = [e for e in entries if isinstance(e, dict) and str(e.get("name")) not in out]
            out.update((str(e.get("name")), e) for e in new)
            # A short page is the last; a page with nothing new means the binding ignores paging.
            if len(entries) < PER_PAGE or not new:
                break
        return list(out.values())

    async def to_markdown(self, name: str, data: bytes, content_type: str) -> Conversion:
        """:class:`ports.AIMarkdown`: ``env.AI.toMarkdown({name, blob})``."""
        blob = js.Blob.new(js.Array.of(js_bytes(data)), to_js({"type": content_type}))
        try:
            result = await self._ai.toMarkdown(_document(name, blob))
        except JsException as exc:
            raise _ai_error(exc) from exc
        converted = to_py(result)
        if isinstance(converted, list):
            converted = converted[0] if converted else None
        if not isinstance(converted, dict):
            raise UpstreamError("Workers AI's Markdown conversion returned no document.")
        if converted.get("format") == "markdown" and isinstance(converted.get("data"), str):
            return Conversion(name, markdown=converted["data"])
        return Conversion(name, error=str(converted.get("error") or "the document could not be converted"))


def _document(name: str, blob: Any) -> Any:
    """A ``MarkdownDocument``: ``{name, blob}`` (the Blob passed as it is, not converted)."""
    document = js.Object.new()
    document.name = name
    document.blob = blob
    return document


# --- fetch ------------------------------------------------------------------------------


class WorkersFetcher:
    """:class:`ports.Fetcher` over the Worker's global ``fetch``, under :mod:`openai_workers_ai.outbound`'s
    policy: https only (``allow_http``), no literal private address nor ``localhost`` (Workers cannot
    reach private networks, and what they are given is checked all the same), redirects followed by hand
    and checked at each hop, bytes and time capped."""

    def __init__(self, *, allow_http: bool = False) -> None:
        self.allow_http = allow_http

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        init: dict[str, Any] = {"redirect": "manual"}
        timeout = getattr(getattr(js, "AbortSignal", None), "timeout", None)
        if timeout is not None:  # one signal for every hop and the body: the whole fetch is bounded
            init["signal"] = timeout(int(outbound.FETCH_TIMEOUT * 1000))
        for _ in range(outbound.MAX_REDIRECTS + 1):
            outbound.check(url, allow_http=self.allow_http)
            try:
                response = await js.fetch(url, to_js(init))
            except JsException as exc:
                raise OSError(js_error_text(exc)) from exc
            location = response.headers.get("location")
            if int(response.status) in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, str(location))
                continue
            if not response.ok:
                raise OSError(f"HTTP {response.status}")
            declared = response.headers.get("content-length")
            if declared_over(str(declared) if declared else None, max_bytes):
                raise OSError(f"larger than {max_bytes} bytes")
            body = b""
            if not is_null(response.body):
                body = await read_at_most(
                    read_stream(response.body, _ai_error), max_bytes, lambda: OSError(f"larger than {max_bytes} bytes")
                )
            content_type = response.headers.get("content-type")
            return Fetched(body, str(content_type) if content_type else None)
        raise outbound.Refused(f"more than {outbound.MAX_REDIRECTS} redirects")

    async def post(self, url: str, body: bytes, *, headers: dict[str, str]) -> None:
        outbound.check(url, allow_http=self.allow_http)
        init: dict[str, Any] = {"method": "POST", "body": body, "headers": headers, "redirect": "manual"}
        timeout = getattr(getattr(js, "AbortSignal", None), "timeout", None)
        if timeout is not None:
            init["signal"] = timeout(int(outbound.FETCH_TIMEOUT * 1000))
        try:
            response = await js.fetch(url, to_js(init))
        except JsException as exc:
            raise OSError(js_error_text(exc)) from exc
        if not response.ok:  # a redirect too (``manual``: not followed), as a webhook's sender treats it
            raise OSError(f"HTTP {response.status}")


# --- D1 ---------------------------------------------------------------------------------


def _database_error(exc: BaseException) -> UpstreamError:
    return UpstreamError(f"Database error: {js_error_text(exc)}", code="database_error")


def _bind_value(value: Any) -> Any:
    if value is None:
        return jsnull
    if isinstance(value, (bytes, bytearray, memoryview)):
        return js_bytes(value).buffer  # D1 stores an ArrayBuffer as a BLOB
    if isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"Cannot bind a {type(value).__name__} to a D1 statement")


class WorkersStatement:
    """:class:`ports.Statement` over a ``D1PreparedStatement``."""

    def __init__(self, statement: Any) -> None:
        self._statement = statement

    def bind(self, *values: Any) -> WorkersStatement:
        js_values = [_bind_value(v) for v in values]
        try:
            return WorkersStatement(self._statement.bind(*js_values))
        except JsException as exc:
            raise _database_error(exc) from exc

    async def all(self) -> list[dict[str, Any]]:
        try:
            result = await self._statement.all()
        except JsException as exc:
            raise _database_error(exc) from exc
        rows = to_py(result.results)
        return list(rows or [])

    async def first(self) -> dict[str, Any] | None:
        try:
            row = await self._statement.first()
        except JsException as exc:
            raise _database_error(exc) from exc
        return to_py(row)  # type: ignore[no-any-return]  # a row object converted: a dict (or None)

    async def run(self) -> int:
        try:
            result = await self._statement.run()
        except JsException as exc:
            raise _database_error(exc) from exc
        changes = to_py(result.meta.changes)
        return int(changes or 0)


class WorkersD1:
    """:class:`ports.Database` over a ``[[d1_databases]]`` binding."""

    def __init__(self, db: Any) -> None:
        self._db = unwrap(db)

    def prepare(self, sql: str) -> WorkersStatement:
        try:
            return WorkersStatement(self._db.prepare(sql))
        except JsException as exc:
            raise _database_error(exc) from exc

    async def batch(self, statements: Sequence[Statement]) -> None:
        prepared = []
        for statement in statements:
            if not isinstance(statement, WorkersStatement):
                raise TypeError("WorkersD1.batch runs only statements this database prepared")
            prepared.append(statement._statement)
        js_statements = js.Array.of(*prepared)
        try:
            await self._db.batch(js_statements)
        except JsException as exc:
            raise _database_error(exc) from exc


# --- R2 ---------------------------------------------------------------------------------


def _storage_error(exc: BaseException) -> UpstreamError:
    return UpstreamError(f"Storage error: {js_error_text(exc)}", code="storage_error")


def _stored(obj: Any, body: AsyncIterator[bytes] | None = None) -> StoredObject:
    http_metadata = to_py(getattr(obj, "httpMetadata", None)) or {}
    custom = to_py(getattr(obj, "customMetadata", None)) or {}
    return StoredObject(
        key=str(obj.key),
        size=int(obj.size),
        content_type=http_metadata.get("contentType") if isinstance(http_metadata, dict) else None,
        metadata={str(k): str(v) for k, v in custom.items()} if isinstance(custom, dict) else {},
        body=body,
    )


async def _chunks_of(body: AsyncIterator[bytes], size: int) -> AsyncIterator[bytes]:
    """Re-cut a stream into chunks of exactly ``size`` bytes (the last may be shorter)."""
    buffer = bytearray()
    async for chunk in body:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class WorkersR2:
    """:class:`ports.ObjectStore` over an ``[[r2_buckets]]`` binding."""

    def __init__(self, bucket: Any, part_bytes: int = R2_PART_BYTES) -> None:
        self._bucket = unwrap(bucket)
        self._part_bytes = part_bytes

    def _put_options(self, content_type: str | None, metadata: dict[str, str] | None) -> Any:
        options: dict[str, Any] = {}
        if content_type:
            options["httpMetadata"] = {"contentType": content_type}
        if metadata:
            options["customMetadata"] = {str(k): str(v) for k, v in metadata.items()}
        return to_js(options)

    async def put(
        self,
        key: str,
        body: bytes | bytearray | AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        options = self._put_options(content_type, metadata)
        try:
            if isinstance(body, (bytes, bytearray, memoryview)):
                return _stored(await self._bucket.put(key, js_bytes(body), options))
            return await self._put_stream(key, body, options)
        except JsException as exc:
            raise _storage_error(exc) from exc

    async def _put_stream(self, key: str, body: AsyncIterator[bytes], options: Any) -> StoredObject:
        # R2 needs a known length for a streamed put: hold at most one part in
        # memory; one part -> a plain put, more -> a multipart upload.
        parts = _chunks_of(body, self._part_bytes)
        first = await anext(parts, b"")
        second = await anext(parts, None)
        if second is None:
            return _stored(await self._bucket.put(key, js_bytes(first), options))
        upload = await self._bucket.createMultipartUpload(key, options)
        try:
            uploaded = [await upload.uploadPart(1, js_bytes(first))]
            number = 2
            chunk: bytes | None = second
            while chunk is not None:
                uploaded.append(await upload.uploadPart(number, js_bytes(chunk)))
                number += 1
                chunk = await anext(parts, None)
            return _stored(await upload.complete(js.Array.of(*uploaded)))
        except BaseException:
            try:
                await upload.abort()
            except JsException:
                pass
            raise

    async def get(self, key: str, *, span: tuple[int, int] | None = None) -> StoredObject | None:
        try:
            if span is None:
                obj = await self._bucket.get(key)
            else:
                obj = await self._bucket.get(key, to_js({"range": {"offset": span[0], "length": span[1]}}))
        except JsException as exc:
            raise _storage_error(exc) from exc
        if is_null(obj):
            return None
        return _stored(obj, body=read_stream(obj.body, _storage_error))

    async def head(self, key: str) -> StoredObject | None:
        try:
            obj = await self._bucket.head(key)
        except JsException as exc:
            raise _storage_error(exc) from exc
        if is_null(obj):
            return None
        return _stored(obj)

    async def delete(self, keys: str | Sequence[str]) -> None:
        batch = [keys] if isinstance(keys, str) else list(keys)
        try:
            for start in range(0, len(batch), 1000):  # R2 deletes at most 1000 keys a call
                await self._bucket.delete(js.Array.of(*batch[start : start + 1000]))
        except JsException as exc:
            raise _storage_error(exc) from exc

    async def list(self, prefix: str = "", limit: int = 1000) -> list[StoredObject]:
        out: list[StoredObject] = []
        cursor: str | None = None
        try:
            while len(out) < limit:
                options: dict[str, Any] = {
                    "prefix": prefix,
                    "limit": min(1000, limit - len(out)),
                    "include": ["httpMetadata", "customMetadata"],
                }
                if cursor:
                    options["cursor"] = cursor
                page = await self._bucket.list(to_js(options))
                out.extend(_stored(obj) for obj in page.objects)
                if not page.truncated:
                    break
                cursor = page.cursor
        except JsException as exc:
            raise _storage_error(exc) from exc
        return out


# --- Queues -----------------------------------------------------------------------------


class WorkersQueue:
    """:class:`ports.Jobs` over the ``[[queues.producers]]`` binding (``JOBS``)."""

    def __init__(self, queue: Any) -> None:
        self._queue = unwrap(queue)

    async def send(self, job: Job, *, delay: int = 0) -> None:
        args = [to_js(job.to_json())]
        if delay > 0:
            args.append(to_js({"delaySeconds": delay}))
        try:
            await self._queue.send(*args)
        except JsException as exc:
            raise UpstreamError(f"The job queue failed: {js_error_text(exc)}") from exc


class QueueDelivery:
    """One message of a Queue batch (``queue(batch)``), as :class:`openai_workers_ai.jobs.Delivery`."""

    def __init__(self, message: Any) -> None:
        self._message = message

    @property
    def job(self) -> Job | None:
        return Job.from_json(to_py(self._message.body))

    def ack(self) -> None:
        self._message.ack()

    def retry(self) -> None:
        self._message.retry()


def deliveries(batch: Any) -> list[QueueDelivery]:
    """The messages of a Queue batch."""
    return [QueueDelivery(message) for message in unwrap(batch).messages]


# --- Vectorize --------------------------------------------------------------------------


def _vector_error(exc: BaseException) -> UpstreamError:
    return UpstreamError(f"Vector index error: {js_error_text(exc)}", code="vector_index_error")


class WorkersVectorize:
    """:class:`ports.VectorIndex` over a ``[[vectorize]]`` binding (``VECTORS``)."""

    def __init__(self, index: Any) -> None:
        self._index = unwrap(index)

    async def upsert(self, vectors: Sequence[Vector]) -> None:
        payload = [{"id": v.id, "values": list(v.values), "metadata": v.metadata} for v in vectors]
        try:
            await self._index.upsert(to_js(payload))
        except JsException as exc:
            raise _vector_error(exc) from exc

    async def query(
        self, values: Sequence[float], *, top_k: int, filter: dict[str, Any] | None = None
    ) -> list[VectorMatch]:
        options: dict[str, Any] = {"topK": top_k, "returnValues": False, "returnMetadata": "none"}
        if filter:
            options["filter"] = filter
        try:
            result = to_py(await self._index.query(to_js(list(values)), to_js(options)))
        except JsException as exc:
            raise _vector_error(exc) from exc
        matches = result.get("matches") if isinstance(result, dict) else None
        return [VectorMatch(str(m["id"]), float(m["score"])) for m in matches or [] if isinstance(m, dict)]

    async def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        try:
            await self._index.deleteByIds(to_js(list(ids)))
        except JsException as exc:
            raise _vector_error(exc) from exc


# --- settings and composition -------------------------------------------------------------


def _env_value(raw: Any) -> str | None:
    if is_null(raw):
        return None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (int, float)):
        return str(raw)
    # A [vars] entry written as a TOML table/array arrives as a JS object.
    return dumps(to_py(raw))


def settings_from_env(env: Any) -> Settings:
    """:class:`Settings` from the Worker's vars and secrets (``ACCESS_TOKEN`` …)."""
    values: dict[str, str] = {}
    for variable in VARIABLES:  # (not AUTH_DISABLED: only the local server may turn auth off)
        try:
            raw = getattr(env, variable)
        except AttributeError:
            continue
        value = _env_value(raw)
        if value is not None:
            values[variable] = value
    return Settings.from_mapping(values, auth_disabled=False)


def backends_from_env(env: Any, settings: Settings | None = None) -> Backends:
    """The adapters over ``env.AI``, ``env.DB``, ``env.BUCKET`` and (when bound) ``env.JOBS`` and ``env.VECTORS``."""
    settings = settings or settings_from_env(env)
    queue = getattr(env, "JOBS", None)
    index = getattr(env, "VECTORS", None)
    return Backends(ai=WorkersAI(env.AI), db=WorkersD1(env.DB), bucket=WorkersR2(env.BUCKET),
                    fetcher=WorkersFetcher(allow_http=settings.fetch_allow_http),
                    jobs=None if is_null(queue) else WorkersQueue(queue),
                    vectors=None if is_null(index) else WorkersVectorize(index))
