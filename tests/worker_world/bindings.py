"""Stand-in ``env`` bindings: ``AI`` (scripted), ``DB`` (D1 over sqlite3), ``BUCKET`` (R2 in a dict), and ``Env``.

Each speaks in JS values (:mod:`._values`) as the real binding does, so the adapters' conversions are exercised.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._values import JsArray, JsException, JsObject, JsProxy, Uint8Array, jsnull
from .js import ReadableStream

if TYPE_CHECKING:
    import sqlite3


class FakeAI(JsProxy):
    """``env.AI``: answers ``result`` (called first if callable) or raises ``error``; records ``calls``."""

    js_name = "Ai"

    def __init__(self, result: Any = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.calls: list[tuple[str, Any, Any]] = []

    async def run(self, model: str, inputs: Any, options: Any = None) -> Any:
        self.calls.append((model, inputs, options))
        if self.error is not None:
            raise self.error
        return self.result() if callable(self.result) else self.result


# --- D1 -----------------------------------------------------------------------------------


class FakeD1Statement(JsProxy):
    js_name = "D1PreparedStatement"

    def __init__(self, db: FakeD1, sql: str, values: tuple[Any, ...] = ()) -> None:
        self.db, self.sql, self.values = db, sql, values

    def bind(self, *values: Any) -> FakeD1Statement:
        return FakeD1Statement(self.db, self.sql, values)

    def _exec(self) -> sqlite3.Cursor:
        import sqlite3

        assert not any(v is None for v in self.values), "None would be undefined in JS"
        params = [None if v is jsnull else v.to_bytes() if isinstance(v, Uint8Array) else v for v in self.values]
        try:
            return self.db.conn.execute(self.sql, params)
        except sqlite3.Error as exc:
            raise JsException("Error", f"D1_ERROR: {exc}") from None

    @staticmethod
    def _row(row: sqlite3.Row) -> JsObject:
        return JsObject([(k, jsnull if row[k] is None else row[k]) for k in row.keys()])

    async def all(self) -> JsObject:
        rows = self._exec().fetchall()
        return JsObject([("results", JsArray(self._row(r) for r in rows)), ("success", True)])

    async def first(self) -> JsObject | JsProxy:
        row = self._exec().fetchone()
        return jsnull if row is None else self._row(row)

    async def run(self) -> JsObject:
        self.db.ran.append((self.sql, self.values))
        cursor = self._exec()
        return JsObject([("meta", JsObject([("changes", cursor.rowcount)]))])


class FakeD1(JsProxy):
    """``env.DB``: D1 over an in-memory sqlite3 database, JS values in and out.
    Records the statements ``run`` and the ``batch``es."""

    js_name = "D1Database"

    def __init__(self) -> None:
        import sqlite3  # not at import: the Worker world asserts the Worker never loads sqlite3

        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.ran: list[tuple[str, tuple[Any, ...]]] = []
        self.batches: list[list[tuple[str, tuple[Any, ...]]]] = []

    def prepare(self, sql: str) -> FakeD1Statement:
        return FakeD1Statement(self, sql)

    async def batch(self, statements: Iterable[FakeD1Statement]) -> None:
        batch = list(statements)
        self.batches.append([(s.sql, s.values) for s in batch])
        for statement in batch:
            statement._exec()


# --- R2 -----------------------------------------------------------------------------------


class FakeR2Object(JsProxy):
    js_name = "HeadResult"
    body: Any

    def __init__(self, key: str, data: bytes, options: Any) -> None:
        self.key, self.size, self.data = key, len(data), data
        self.httpMetadata = getattr(options, "httpMetadata", None)
        self.customMetadata = getattr(options, "customMetadata", None)


class FakeR2Upload(JsProxy):
    def __init__(self, bucket: FakeR2, key: str, options: Any) -> None:
        self.bucket, self.key, self.options = bucket, key, options
        self.parts: list[tuple[int, bytes]] = []

    async def uploadPart(self, number: int, data: Uint8Array) -> JsObject:
        self.parts.append((number, data.to_bytes()))
        return JsObject([("partNumber", number)])

    async def complete(self, parts: Iterable[Any]) -> FakeR2Object:
        assert [p.partNumber for p in parts] == [n for n, _ in self.parts]
        return await self.bucket.put(self.key, Uint8Array(b"".join(d for _, d in self.parts)), self.options)

    async def abort(self) -> None:
        pass


class FakeR2(JsProxy):
    """``env.BUCKET``: R2 in a dict: put, multipart uploads, get (the body in two chunks), head, delete,
    list with cursors."""

    js_name = "R2Bucket"

    def __init__(self) -> None:
        self.objects: dict[str, FakeR2Object] = {}
        self.uploads: list[FakeR2Upload] = []

    async def put(self, key: str, data: Uint8Array, options: Any) -> FakeR2Object:
        self.objects[key] = FakeR2Object(key, data.to_bytes(), options)
        return self.objects[key]

    async def createMultipartUpload(self, key: str, options: Any) -> FakeR2Upload:
        self.uploads.append(FakeR2Upload(self, key, options))
        return self.uploads[-1]

    async def get(self, key: str, options: Any = None) -> FakeR2Object | JsProxy:
        obj = self.objects.get(key)
        if obj is None:
            return jsnull
        data = obj.data
        if options is not None:  # R2's {range: {offset, length}}
            offset, length = options.range.offset, options.range.length
            data = data[offset : offset + length]
        obj.body = ReadableStream([data[:3], data[3:]])
        return obj

    async def head(self, key: str) -> FakeR2Object | JsProxy:
        return self.objects.get(key, jsnull)

    async def delete(self, keys: Iterable[str]) -> None:
        for k in keys:
            self.objects.pop(k, None)

    async def list(self, options: Any) -> JsObject:
        keys = sorted(k for k in self.objects if k.startswith(options.prefix))
        start = int(getattr(options, "cursor", 0) or 0)
        page = keys[start : start + options.limit]
        more = start + options.limit < len(keys)
        return JsObject(
            [("objects", JsArray(self.objects[k] for k in page)), ("truncated", more),
             ("cursor", str(start + options.limit))]
        )


class Env(JsProxy):
    """The ``env`` object: vars, secrets and bindings as attributes."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

