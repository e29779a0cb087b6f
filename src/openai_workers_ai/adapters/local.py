"""Local stand-ins for the Worker's bindings (CPython only; never imported by the Worker).

- :class:`SQLiteD1`: D1 on a SQLite file, with ``migrations/`` applied in order and
  recorded in ``d1_migrations`` as wrangler records them.
- :class:`FolderR2`: R2 on a folder (one file per object plus a JSON sidecar).
- :class:`RestAI`: Workers AI over its REST API (``/client/v4/accounts/{id}/ai/run/{model}``).
- :class:`HttpFetcher`: outbound GETs (image URLs), as the Worker's ``fetch``.

Both speak HTTP with aiohttp (``docs/gateway.md`` says why that client).
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import ipaddress
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from json import dumps, loads
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin

import aiohttp
import aiohttp.abc

from .. import outbound
from ..catalog.live import MAX_PAGES, PER_PAGE
from ..errors import UpstreamError
from ..limits import read_at_most
from ..ports import Base64Bytes, Conversion, Fetched, Statement, StoredObject
from ..workers_ai.errors import upstream_error


class SQLiteStatement:
    """:class:`ports.Statement` on :class:`SQLiteD1`: the SQL and its bound parameters."""

    __slots__ = ("db", "sql", "params")

    def __init__(self, db: SQLiteD1, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.db, self.sql, self.params = db, sql, params

    def bind(self, *values: Any) -> SQLiteStatement:
        return SQLiteStatement(self.db, self.sql, values)

    async def all(self) -> list[dict[str, Any]]:
        with self.db.transaction() as conn:
            return [dict(row) for row in conn.execute(self.sql, self.params).fetchall()]

    async def first(self) -> dict[str, Any] | None:
        with self.db.transaction() as conn:
            row = conn.execute(self.sql, self.params).fetchone()
            return dict(row) if row is not None else None

    async def run(self) -> int:
        with self.db.transaction() as conn:
            return conn.execute(self.sql, self.params).rowcount


D1_MAX_PARAMETERS = 100
D1_MAX_ROW_BYTES = 2_000_000
D1_MAX_SQL_BYTES = 100_000


class SQLiteD1:
    """D1 on SQLite. Each statement is its own transaction; ``batch`` is one transaction.

    Several processes may share the file (``serve --workers``): it is in WAL mode (readers and the
    writer do not block each other) and a writer waits up to :data:`BUSY_TIMEOUT` seconds for
    another's transaction to end. Transactions of several statements take the write lock at BEGIN
    (``BEGIN IMMEDIATE``), so one never fails half-way for having read what another process changed.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.conn = connect(path)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        # D1's own limits (its "Limits" page), so that what D1 would refuse fails here too, not first
        # when deployed: 100 bound parameters a statement, 2,000,000 bytes a value or row, 100 KB of SQL.
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, D1_MAX_PARAMETERS)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, D1_MAX_ROW_BYTES)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, D1_MAX_SQL_BYTES)

    def transaction(self, *, write: bool = False) -> Transaction:
        """A context manager: one transaction (or a part of the open one), rolled back on error.
        ``write``: it will write after reading, so it takes the write lock first."""
        return Transaction(self.conn, "BEGIN IMMEDIATE" if write else "BEGIN")

    def prepare(self, sql: str) -> SQLiteStatement:
        return SQLiteStatement(self, sql)

    async def batch(self, statements: Sequence[Statement]) -> None:
        for statement in statements:
            if not isinstance(statement, SQLiteStatement):
                raise TypeError("SQLiteD1.batch runs only statements this database prepared")
        if len(statements) == 1:  # one statement is a transaction of its own: no BEGIN and COMMIT to send
            Transaction(self.conn).execute_all(statements)  # type: ignore[arg-type]  # checked above
            return
        with self.transaction(write=True) as tx:
            tx.execute_all(statements)  # type: ignore[arg-type]  # SQLiteStatements: checked above

    def apply_migrations(self, directory: str | Path) -> list[str]:
        """Apply ``*.sql`` files not yet recorded in ``d1_migrations``, in name order."""
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS d1_migrations("
            "id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
            "applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)"
        )
        applied = []
        for path in sorted(Path(directory).glob("*.sql")):
            # Checked under the write lock: processes starting at once apply each file once.
            with self.transaction(write=True) as tx:
                if tx.execute("SELECT 1 FROM d1_migrations WHERE name = ?", (path.name,)).fetchone():
                    continue
                tx.executescript_in_tx(path.read_text())
                tx.execute("INSERT INTO d1_migrations (name) VALUES (?)", (path.name,))
            applied.append(path.name)
        return applied


BUSY_TIMEOUT = 10.0
"""Seconds a statement waits for another process's write transaction before failing."""


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to the SQLite file at ``path`` (``:memory:``: a database of its own), shared with
    other processes (``serve --workers N``): autocommit (transactions are :class:`Transaction`'s),
    waiting up to :data:`BUSY_TIMEOUT` for another's write.

    A file is in WAL mode with synchronous=NORMAL: a commit is not an fsync (~0.03 ms instead of
    ~0.6 ms here); a crash of the machine may lose the last commits, never corrupt the file; readers
    do not wait for a writer. Putting a new file in WAL mode needs it to itself, and SQLite answers
    "database is locked" at once, without waiting, to a process doing so while another does: it is
    tried again until :data:`BUSY_TIMEOUT`.
    """
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    if str(path) == ":memory:":
        return conn
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.005)
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Transaction:
    """A context manager over a SQLite connection: one transaction (``begin``: ``BEGIN IMMEDIATE`` to
    take the write lock first), committed at the end, rolled back on an error; inside a transaction
    already open, a part of that one (no statement of its own)."""

    __slots__ = ("begin", "conn", "nested")

    def __init__(self, conn: sqlite3.Connection, begin: str = "BEGIN") -> None:
        self.conn, self.begin = conn, begin
        self.nested = conn.in_transaction

    def __enter__(self) -> Transaction:
        if not self.nested:
            self.conn.execute(self.begin)
        return self

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if self.nested:
            return
        self.conn.execute("ROLLBACK" if kind else "COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise UpstreamError(f"D1_ERROR: {exc}") from exc

    def execute_all(self, statements: Sequence[SQLiteStatement]) -> None:
        """Each statement run in turn (:meth:`execute`'s errors, without a wrapper a statement: a stored
        response's batch is ~2 µs of Python less)."""
        conn = self.conn
        try:
            for statement in statements:
                conn.execute(statement.sql, statement.params)
        except sqlite3.Error as exc:
            raise UpstreamError(f"D1_ERROR: {exc}") from exc

    def executescript_in_tx(self, script: str) -> None:
        # sqlite3.executescript would COMMIT first; split on complete statements instead.
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                self.execute(statement)
                statement = ""
        if statement.strip():
            self.execute(statement)


class FolderR2:
    """R2 on a folder: ``<root>/<sha256(key)>`` holds the bytes, ``….json`` the metadata; an object
    being written is ``….part`` until it is whole."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def remove_partials(self, older_than: float) -> int:
        """Delete ``.part`` files (and metadata ``.json-part`` ones) untouched for ``older_than`` seconds
        (a write a killed process left); return how many. A write in progress touches its file with
        every chunk."""
        removed = 0
        cutoff = time.time() - older_than
        for partial in [*self.root.glob("*.part"), *self.root.glob("*.json-part")]:
            try:
                if partial.stat().st_mtime < cutoff:
                    partial.unlink()
                    removed += 1
            except FileNotFoundError:  # finished or removed meanwhile
                continue
        return removed

    def _path(self, key: str) -> Path:
        return self.root / hashlib.sha256(key.encode()).hexdigest()

    async def put(
        self,
        key: str,
        body: bytes | bytearray | AsyncIterator[bytes],
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> StoredObject:
        path = self._path(key)
        # Unique per write: two writers of one key (other requests, other processes) never share it.
        partial = path.with_name(f"{path.name}.{secrets.token_hex(8)}.part")
        size = 0
        try:
            with partial.open("wb") as f:
                if isinstance(body, (bytes, bytearray, memoryview)):
                    size = f.write(body)
                else:
                    async for chunk in body:
                        size += f.write(chunk)
        except BaseException:  # the old object (if any) stays; no half-written debris
            partial.unlink(missing_ok=True)
            raise
        meta = {"key": key, "size": size, "content_type": content_type, "metadata": metadata or {}}
        sidecar = partial.with_suffix(".json-part")  # not "*.json": list() never reads it half-written
        sidecar.write_text(dumps(meta))
        sidecar.replace(path.with_suffix(".json"))  # whole or not at all, for readers in other processes
        partial.replace(path)
        return StoredObject(key, size, content_type, metadata or {})

    async def head(self, key: str) -> StoredObject | None:
        path = self._path(key)
        meta = _metadata(path.with_suffix(".json"))
        if meta is None or not path.exists():
            return None
        return StoredObject(key, meta["size"], meta["content_type"], meta["metadata"])

    async def get(self, key: str, *, span: tuple[int, int] | None = None) -> StoredObject | None:
        path = self._path(key)
        meta = _metadata(path.with_suffix(".json"))
        if meta is None:
            return None
        try:  # opened now: a delete from here on (another request, another process) leaves these bytes readable
            f = path.open("rb")
        except FileNotFoundError:
            return None
        size = os.fstat(f.fileno()).st_size  # the bytes that will be read, whatever a later put does
        if span is not None:
            f.seek(span[0])
        return StoredObject(key, size, meta["content_type"], meta["metadata"],
                            _read(f, left=None if span is None else span[1]))

    async def delete(self, keys: str | Sequence[str]) -> None:
        for key in [keys] if isinstance(keys, str) else keys:
            path = self._path(key)
            path.unlink(missing_ok=True)
            path.with_suffix(".json").unlink(missing_ok=True)

    async def list(self, prefix: str = "", limit: int = 1000) -> list[StoredObject]:
        out = []
        for sidecar in sorted(self.root.glob("*.json")):
            meta = _metadata(sidecar)
            if meta is not None and meta["key"].startswith(prefix):
                out.append(StoredObject(meta["key"], meta["size"], meta["content_type"], meta["metadata"]))
        out.sort(key=lambda o: o.key)
        return out[:limit]


def _metadata(sidecar: Path) -> dict[str, Any] | None:
    """An object's metadata, or None when it is gone (deleted meanwhile, maybe by another process)."""
    try:
        value: dict[str, Any] = loads(sidecar.read_text())
    except FileNotFoundError:
        return None
    return value


async def _read(f: BinaryIO, chunk_size: int = 1 << 20, left: int | None = None) -> AsyncIterator[bytes]:
    """The file's bytes from where it stands (``left`` of them at most), then closed."""
    with f:
        while chunk := f.read(chunk_size if left is None else min(chunk_size, left)):
            yield chunk
            if left is not None:
                left -= len(chunk)


CONNECT_TIMEOUT = 10.0
"""Seconds to connect to the Workers AI REST API."""
UPSTREAM_TIMEOUT = 60.0
"""Seconds of silence (no answer yet, no next chunk of a stream) after which Workers AI is taken to hang:
a 504 ``upstream_timeout`` (``UPSTREAM_TIMEOUT``). A stream is also taken to hang when this long passes
without an event, whatever else trickles in (SSE comments, an event a byte at a time)."""
TOTAL_TIMEOUT = 300.0
"""Seconds a whole non-streamed answer may take to arrive, however it trickles."""


class RestAI:
    """Workers AI through the REST API, with the same results and errors as the binding.

    Its aiohttp session (one connection pool) is made on first use, in the event loop that uses
    it; :meth:`aclose` closes it. Pass ``session`` to use one of your own (then you close it).
    """

    def __init__(
        self,
        account_id: str,
        api_token: str,
        *,
        base_url: str = "https://api.cloudflare.com",
        session: aiohttp.ClientSession | None = None,
        timeout: float = UPSTREAM_TIMEOUT,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/client/v4/accounts/{account_id}/ai"
        self.timeout = timeout
        self.headers = {"authorization": f"Bearer {api_token}"}
        self._json_headers = {**self.headers, "content-type": "application/json"}
        self._session, self._owned = session, session is None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0),  # as many connections as requests in flight
                # A silent upstream (no headers, no next chunk) is a hang after `timeout` seconds.
                timeout=aiohttp.ClientTimeout(connect=CONNECT_TIMEOUT, sock_read=self.timeout),
            )
        return self._session

    async def aclose(self) -> None:
        """Close the connection pool (when this object made it)."""
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None

    async def run(
        self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any] | bytes | AsyncIterator[bytes]:
        url, params = f"{self.url}/run/{model}", None
        binary = _binary_input(inputs)
        data: bytes | AsyncIterator[bytes]
        if binary is not None:  # Nova-3 and the like: the raw bytes as the body, the rest as query parameters
            name, audio, content_type = binary
            params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in inputs.items() if k != name}
            headers = {**self.headers, "content-type": content_type, "content-length": str(len(audio))}
            data = _pieces(audio)
        elif any(isinstance(v, Base64Bytes) for v in inputs.values()):
            length, data = _json_with_base64(inputs)
            headers = {**self._json_headers, "content-length": str(length)}
        else:
            data, headers = dumps(inputs).encode(), self._json_headers
        try:
            response = await self.session().post(url, data=data, params=params, headers=headers)
        except _ERRORS as exc:
            raise _unreachable(exc, self.timeout) from exc
        content_type = response.headers.get("content-type", "")
        if response.status < 400 and content_type.startswith("text/event-stream"):
            return _stream(response, self.timeout)
        try:
            if response.content.is_eof():  # all of it came with the headers (a short answer): nothing to wait for
                raw = await response.read()  # (without the timeout's timer, ~3.5 µs of CPU)
            else:
                # A body that trickles in (each chunk within the read timeout) is still bounded as a whole.
                async with asyncio.timeout(TOTAL_TIMEOUT):  # no task of its own, as wait_for makes on 3.11
                    raw = await response.read()
        except _ERRORS as exc:
            if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, aiohttp.ServerTimeoutError):
                raise UpstreamError(  # the timeout's: the whole answer took too long (each chunk was in time)
                    f"Workers AI did not send its whole answer within {TOTAL_TIMEOUT:g} seconds.", status=504,
                    code="upstream_timeout") from exc
            raise _unreachable(exc, self.timeout, "Workers AI's answer was cut off") from exc
        finally:
            response.release()
        if response.status >= 400 or content_type.startswith("application/json"):
            body = _envelope(raw)
            if response.status >= 400 or not body.get("success", False):
                raise _rest_error(response.status, body, response.headers.get("retry-after"))
            result = body.get("result")
            return result if isinstance(result, dict) else {"result": result}
        return raw

    async def models(self) -> list[dict[str, Any]]:
        """The live catalog (``GET …/ai/models/search``, every page), as ``env.AI.models()`` gives it:
        a list of ``AiModelsSearchObject`` dicts."""
        out: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"page": str(page), "per_page": str(PER_PAGE)}
            try:
                async with self.session().get(f"{self.url}/models/search", params=params, headers=self.headers) as r:
                    status, body = r.status, _envelope(await r.read())
            except _ERRORS as exc:
                raise UpstreamError(f"Workers AI is unreachable: {_describe(exc)}") from exc
            if status >= 400 or not body.get("success", False):
                raise _rest_error(status, body)
            result = body.get("result")
            if not isinstance(result, list):
                raise UpstreamError("Workers AI's model catalog is not a list.")
            out.extend(entry for entry in result if isinstance(entry, dict))
            info = body.get("result_info")
            total = info.get("total_count") if isinstance(info, dict) else None
            if len(result) < PER_PAGE or (isinstance(total, int) and len(out) >= total):
                break
        return out

    async def to_markdown(self, name: str, data: bytes, content_type: str) -> Conversion:
        """:class:`ports.AIMarkdown` over ``POST …/ai/tomarkdown`` (one document per call)."""
        form = aiohttp.FormData()
        form.add_field("files", data, filename=name, content_type=content_type)
        try:
            async with self.session().post(f"{self.url}/tomarkdown", data=form, headers=self.headers) as r:
                status, body = r.status, _envelope(await r.read())
        except _ERRORS as exc:
            raise UpstreamError(f"Workers AI is unreachable: {_describe(exc)}") from exc
        if status >= 400 or not body.get("success", False):
            raise _rest_error(status, body)
        result = body.get("result")
        first = result[0] if isinstance(result, list) and result and isinstance(result[0], dict) else None
        if first is None:
            raise UpstreamError("Workers AI's Markdown conversion returned no document.")
        if first.get("format") == "markdown" and isinstance(first.get("data"), str):
            return Conversion(name, markdown=first["data"])
        return Conversion(name, error=str(first.get("error") or "the document could not be converted"))


_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)
"""What aiohttp raises when the network or the peer fails (timeouts are ``asyncio.TimeoutError``)."""


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _unreachable(exc: BaseException, timeout: float, what: str = "Workers AI is unreachable") -> UpstreamError:
    """The error for what aiohttp raised; a timeout names the limit that fired (``timeout``: the read's)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return UpstreamError(f"Workers AI could not be reached within {CONNECT_TIMEOUT:g} seconds.", status=504,
                             code="upstream_timeout")
    if isinstance(exc, asyncio.TimeoutError):
        return UpstreamError(f"Workers AI did not answer within {timeout:g} seconds.", status=504,
                             code="upstream_timeout")
    return UpstreamError(f"{what}: {_describe(exc)}")


_BinaryInput = tuple[str, bytes | bytearray | memoryview, str]
"""An input's name, its bytes and their content type."""


def _binary_input(inputs: dict[str, Any]) -> _BinaryInput | None:
    """The ``{body: bytes, contentType}`` input of a binary model (Nova-3's ``audio``), if any."""
    for name, value in inputs.items():
        if isinstance(value, dict) and isinstance(value.get("body"), (bytes, bytearray, memoryview)):
            return name, value["body"], str(value.get("contentType") or "application/octet-stream")
    return None


_BASE64_CHUNK = 3 * 64 * 1024  # a multiple of 3: chunks encode to base64 that concatenates


async def _pieces(data: bytes | bytearray | memoryview, size: int = 1 << 20) -> AsyncIterator[bytes]:
    """``data`` sent as it is, a slice at a time (no whole copy of a large upload)."""
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def _json_with_base64(inputs: dict[str, Any]) -> tuple[int, AsyncIterator[bytes]]:
    """``inputs`` as a JSON body whose :class:`Base64Bytes` values are encoded while it is sent,
    a chunk at a time, so the base64 text of a large upload never exists whole; and its length."""
    # Random placeholders: no other input text can contain them.
    placeholders = {name: secrets.token_hex(16) for name, v in inputs.items() if isinstance(v, Base64Bytes)}
    rest = dumps({k: placeholders.get(k, v) for k, v in inputs.items()})
    pieces: list[bytes | Base64Bytes] = []
    for name, placeholder in placeholders.items():
        before, _, rest = rest.partition(placeholder)
        pieces += [before.encode(), inputs[name]]
    pieces.append(rest.encode())
    length = sum(len(p) if isinstance(p, bytes) else 4 * -(-len(p.data) // 3) for p in pieces)

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            if isinstance(piece, bytes):
                yield piece
                continue
            view = memoryview(piece.data)
            for start in range(0, len(view), _BASE64_CHUNK):
                yield binascii.b2a_base64(view[start : start + _BASE64_CHUNK], newline=False)

    return length, body()


def _envelope(raw: bytes) -> dict[str, Any]:
    """The REST API's JSON envelope; anything else (an HTML error page from the edge …) is {}."""
    try:
        body = loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _rest_error(status: int, body: dict[str, Any], retry_after: str | None = None) -> UpstreamError:
    errors = body.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    code, message = first.get("code"), first.get("message") or f"HTTP {status}"
    error = upstream_error(f"{code}: {message}" if code else str(message), status)
    if retry_after is not None and retry_after.strip().isdigit():  # passed on as the upstream said it
        error.retry_after = int(retry_after.strip())
    return error


async def _stream(response: aiohttp.ClientResponse, timeout: float) -> AsyncIterator[bytes]:
    """The response body, each piece as it arrives (no re-chunking, no waiting for more).

    Silence is the read timeout's (``timeout`` seconds without a byte); a stream that keeps sending
    but no events (SSE comments, an event a byte at a time) is a hang too once ``timeout`` seconds
    pass without a ``data:`` line completed, noticed when its next piece arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    lines = _DataLines()
    try:
        async for chunk in response.content.iter_any():
            if lines.completed_in(chunk):
                deadline = loop.time() + timeout
            elif loop.time() > deadline:
                raise UpstreamError(f"Workers AI sent no event within {timeout:g} seconds.", status=504,
                                    code="upstream_timeout")
            yield chunk
    except _ERRORS as exc:  # the connection broke mid-stream, or went silent
        raise _unreachable(exc, timeout, "Workers AI stream was interrupted") from exc
    finally:
        response.release()  # back to the pool when read to the end; closed otherwise


class _DataLines:
    """Tells, piece by piece of an SSE byte stream split anywhere, when a ``data:`` line is completed
    (comment lines, ``: …``, do not count)."""

    __slots__ = ("head",)

    def __init__(self) -> None:
        self.head = b""  # the first bytes (up to 5) of the line being read

    def completed_in(self, chunk: bytes) -> bool:
        completed = False
        start, head = 0, self.head
        while (end := chunk.find(b"\n", start)) >= 0:
            if len(head) < 5:
                head += chunk[start:min(end, start + 5 - len(head))]
            completed = completed or head == b"data:"
            head, start = b"", end + 1
        if len(head) < 5:
            head += chunk[start:start + 5 - len(head)]
        self.head = head
        return completed


class _PublicResolver(aiohttp.abc.AbstractResolver):
    """Resolves as usual, then keeps only public addresses (none left: :class:`outbound.Refused`); the
    connection goes to an address checked here, so DNS cannot answer differently after the check."""

    def __init__(self) -> None:
        self._resolver = aiohttp.DefaultResolver()

    async def close(self) -> None:
        await self._resolver.close()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        found = await self._resolver.resolve(host, port, family)
        allowed = [entry for entry in found if outbound.public(ipaddress.ip_address(entry["host"]))]
        if not allowed:
            raise outbound.Refused(f"{host} resolves to no public address")
        return allowed


class HttpFetcher:
    """:class:`ports.Fetcher` over aiohttp, under :mod:`openai_workers_ai.outbound`'s policy: https only
    (``allow_http``), public addresses only (``allow_private`` is for tests on loopback), redirects
    followed by hand and checked at each hop, bytes and time capped. Its session is made on first
    use; :meth:`aclose` closes it."""

    def __init__(
        self, session: aiohttp.ClientSession | None = None, *, allow_http: bool = False, allow_private: bool = False
    ) -> None:
        self._session, self._owned = session, session is None
        self.allow_http, self.allow_private = allow_http, allow_private

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = None if self.allow_private else _PublicResolver()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, limit=100),
                # The whole fetch (every hop, the body) is bounded by `get`; connecting, here.
                timeout=aiohttp.ClientTimeout(connect=outbound.CONNECT_TIMEOUT),
            )
        return self._session

    async def aclose(self) -> None:
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        async with asyncio.timeout(outbound.FETCH_TIMEOUT):  # every hop and the body together (TimeoutError)
            return await self._get(url, max_bytes)

    async def _get(self, url: str, max_bytes: int) -> Fetched:
        for _ in range(outbound.MAX_REDIRECTS + 1):
            outbound.check(url, allow_http=self.allow_http, allow_private=self.allow_private)
            async with self.session().get(url, allow_redirects=False) as response:
                location = response.headers.get("location")
                if response.status in (301, 302, 303, 307, 308) and location:
                    url = urljoin(url, location)
                    continue
                if response.status >= 400:
                    raise OSError(f"HTTP {response.status}")
                body = await read_at_most(
                    response.content.iter_chunked(1 << 16), max_bytes, lambda: OSError(f"larger than {max_bytes} bytes")
                )
                return Fetched(body, response.headers.get("content-type"))
        raise outbound.Refused(f"more than {outbound.MAX_REDIRECTS} redirects")

    async def post(self, url: str, body: bytes, *, headers: dict[str, str]) -> None:
        outbound.check(url, allow_http=self.allow_http, allow_private=self.allow_private)
        async with asyncio.timeout(outbound.FETCH_TIMEOUT):  # connecting, sending, the answer's head (TimeoutError)
            async with self.session().post(url, data=body, headers=headers, allow_redirects=False) as response:
                if not 200 <= response.status < 300:
                    raise OSError(f"HTTP {response.status}")
