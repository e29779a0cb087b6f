"""The Worker shell under CPython: ``src/entry.py``, the real SDK, our adapters.

No Python Worker can run here (workerd fetches Pyodide at start), so each
check runs in a fresh interpreter where ``js``, ``pyodide``, ``pyodide.ffi``,
``pyodide.http``, ``_pyodide_entrypoint_helper`` and ``_cloudflare_compat_flags``
are small stand-ins (``STANDINS`` below) and the *real* ``workers`` SDK
(``workers-runtime-sdk``, from the dev dependencies) runs on top of them.

What this proves: entry.py's wiring, the SDK's ASGI bridge driving our app
(buffered and streamed responses, request bodies), our adapters' conversions
and error mapping, and that the Worker loads nothing only the local server
needs. What it cannot prove: Pyodide's own conversion semantics (the stand-ins
mirror the documented ones: ``to_js`` with ``dict_converter``, ``JsBuffer``'s
``assign``/``to_bytes``, ``jsnull``, ``JsException.name``/``.message``) and the
real bindings' behaviour. Threads: Pyodide cannot start any, so the stand-in
world makes ``Thread.start`` fail the way Pyodide does and records attempts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Loaded by the local server only, or missing/useless in Pyodide. Checked as
# "not newly imported" after ``import asyncio``: asyncio itself (CPython and
# Pyodide alike) already imports ``subprocess`` and ``threading``, so those two
# can't be asserted absent; what is asserted for them is that no thread starts.
BANNED = [
    "uvicorn",
    "uvloop",
    "httptools",
    "aiohttp",  # the REST backend's and the URL fetcher's HTTP client, and what it brings along:
    "yarl",
    "multidict",
    "aiohappyeyeballs",
    "httpx",
    "sqlite3",
    "_sqlite3",
    "socketserver",
    "http.server",
    "multiprocessing",
    "concurrent.futures.thread",
    "concurrent.futures.process",
    "openai_workers_ai.cli",
    "openai_workers_ai.adapters.local",
    "openai_workers_ai.simulator",
]

STANDINS = r'''
import asyncio, sys, threading, types, urllib.parse

# --- Pyodide cannot start threads: neither can we, here. -------------------------------
THREAD_ATTEMPTS = []
def _no_threads(self, *a, **k):
    THREAD_ATTEMPTS.append(repr(self))
    raise RuntimeError("can't start new thread")
threading.Thread.start = _no_threads

# --- pyodide.ffi ------------------------------------------------------------------------
class JsProxy:
    js_name = "Object"
    @property
    def constructor(self):
        return types.SimpleNamespace(name=self.js_name)
    def to_py(self):
        return self

class JsException(JsProxy, Exception):
    js_name = "Error"
    def __init__(self, name, message):
        Exception.__init__(self, f"{name}: {message}")
        self.name, self.message = name, message

class JsNull(JsProxy):
    js_name = "null"
    def __repr__(self):
        return "jsnull"
jsnull = JsNull()

class JsObject(JsProxy):
    """A plain JS object (what Object.fromEntries returns)."""
    def __init__(self, entries=()):
        object.__setattr__(self, "_d", dict(entries))
    def __getattr__(self, name):
        try:
            return self._d[name]
        except KeyError:
            raise AttributeError(name) from None
    def to_py(self):
        def conv(v):
            if isinstance(v, JsObject): return v.to_py()
            if isinstance(v, JsArray): return v.to_py()
            return v  # nulls stay jsnull, as in Pyodide >= 0.27
        return {k: conv(v) for k, v in self._d.items()}

class JsArray(JsProxy, list):
    js_name = "Array"
    def to_py(self):
        return [v.to_py() if isinstance(v, (JsObject, JsArray)) else v for v in self]

class Uint8Array(JsProxy):
    js_name = "Uint8Array"
    def __init__(self, data=b""):
        self._b = bytearray(data)
    @classmethod
    def new(cls, n):
        return cls(bytes(n) if isinstance(n, int) else n)
    def assign(self, data):
        assert len(data) == len(self._b), "assign needs equal lengths"
        self._b[:] = bytes(data)
    def to_bytes(self):
        return bytes(self._b)
    def slice(self):
        return Uint8Array(self._b)
    @property
    def buffer(self):
        return ArrayBuffer(self._b)

class ArrayBuffer(Uint8Array):
    js_name = "ArrayBuffer"

def to_js(value, *, dict_converter=None, default_converter=None, **kw):
    if isinstance(value, JsProxy):
        return value
    if isinstance(value, dict):
        items = [(k, to_js(v, dict_converter=dict_converter)) for k, v in value.items()]
        return dict_converter(items) if dict_converter else JsObject(items)
    if isinstance(value, (list, tuple)):
        return JsArray(to_js(v, dict_converter=dict_converter) for v in value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return Uint8Array(value)
    return value  # str, numbers, bools; None stands for undefined

class _Buffer:
    def __init__(self, obj):
        self.data = Uint8Array(bytes(obj))
    def release(self):
        pass

class _PyProxy:
    def __init__(self, obj):
        self._obj = obj
    def getBuffer(self):
        return _Buffer(self._obj)
    def destroy(self):
        pass

def create_proxy(obj):
    return _PyProxy(obj)

ffi = types.ModuleType("pyodide.ffi")
ffi.__dict__.update(
    JsProxy=JsProxy, JsException=JsException, JsBuffer=Uint8Array, jsnull=jsnull,
    to_js=to_js, create_proxy=create_proxy, create_once_callable=lambda f: f,
    destroy_proxies=lambda proxies: None,
)
pyodide = types.ModuleType("pyodide")
pyodide.__path__ = []
pyodide.__version__ = "0.28.3"
pyodide.ffi = ffi
http = types.ModuleType("pyodide.http")
class FetchResponse:
    def __init__(self, url, js_response):
        self.js_response = js_response
async def pyfetch(*a, **k):
    raise RuntimeError("no network in the stand-in world")
http.FetchResponse, http.pyfetch = FetchResponse, pyfetch
pyodide.http = http

# --- streams ----------------------------------------------------------------------------
class ReadableStream(JsProxy):
    js_name = "ReadableStream"
    def __init__(self, chunks=(), error=None):
        self.chunks = [c if isinstance(c, JsProxy) else Uint8Array(c) for c in chunks]
        self.error = error
        self.cancelled = False
        self.closed = True
    def getReader(self):
        return _Reader(self)
    def __aiter__(self):  # the SDK reads request bodies with `async for`
        return self._iter()
    async def _iter(self):
        for c in self.chunks:
            yield c

class _Reader:
    def __init__(self, stream):
        self.s = stream
    async def read(self):
        s = self.s
        while not s.chunks and not s.closed and s.error is None:
            await asyncio.sleep(0)
        if s.chunks:
            return types.SimpleNamespace(done=False, value=s.chunks.pop(0))
        if s.error is not None:
            raise s.error
        return types.SimpleNamespace(done=True, value=None)
    async def cancel(self):
        self.s.cancelled = True
    def releaseLock(self):
        pass

class _Writer:
    def __init__(self, stream):
        self.s = stream
    async def write(self, chunk):
        self.s.chunks.append(chunk)
    async def close(self):
        self.s.closed = True

class TransformStream(JsProxy):
    @classmethod
    def new(cls):
        t = cls()
        t.readable = ReadableStream()
        t.readable.closed = False
        t.writable = types.SimpleNamespace(getWriter=lambda: _Writer(t.readable))
        return t

# --- fetch API ----------------------------------------------------------------------------
class Headers(JsProxy, list):
    js_name = "Headers"
    @classmethod
    def new(cls, pairs):
        return cls(tuple(p) for p in pairs)
    def get(self, name):
        return next((v for k, v in self if k.lower() == name.lower()), None)

class Response(JsProxy):
    js_name = "Response"
    @classmethod
    def new(cls, body, headers=None, status=200, **init):
        r = cls()
        r.body, r.headers, r.status, r.init = body, headers, status, init
        return r
    async def read(self):
        if isinstance(self.body, ReadableStream):
            out, reader = b"", self.body.getReader()
            while True:
                got = await reader.read()
                if got.done:
                    return out
                out += got.value.to_bytes()
        return self.body.to_bytes() if self.body is not None else b""

class Request(JsProxy):
    js_name = "Request"
    def __init__(self, method, url, headers=(), body=None):
        self.method, self.url = method, url
        self.headers = Headers.new(headers)
        self.body = ReadableStream([body]) if body else None

class URL(JsProxy):
    @classmethod
    def new(cls, url):
        u, p = cls(), urllib.parse.urlsplit(url)
        u.protocol, u.pathname = p.scheme + ":", p.path or "/"
        u.search = "?" + p.query if p.query else ""
        return u

class _JsObjectCtor:
    @staticmethod
    def fromEntries(entries):
        return JsObject(entries)

class _JsArrayCtor:
    @staticmethod
    def of(*items):
        return JsArray(items)

js = types.ModuleType("js")
js.__dict__.update(
    Object=_JsObjectCtor, Array=_JsArrayCtor, Uint8Array=Uint8Array, URL=URL,
    Headers=Headers, Response=Response, TransformStream=TransformStream,
    Request=Request, ReadableStream=ReadableStream,
)

# --- the runtime's helper modules -----------------------------------------------------------
WAIT_UNTIL = []
helper = types.ModuleType("_pyodide_entrypoint_helper")
helper.patchWaitUntil = lambda ctx: None
helper.cloudflareWorkersModule = types.SimpleNamespace(waitUntil=WAIT_UNTIL.append, env=None)
flags = types.ModuleType("_cloudflare_compat_flags")
flags.__getattr__ = lambda name: False

sys.modules.update({
    "js": js, "pyodide": pyodide, "pyodide.ffi": ffi, "pyodide.http": http,
    "_pyodide_entrypoint_helper": helper, "_cloudflare_compat_flags": flags,
})

# --- bindings ---------------------------------------------------------------------------------
class FakeAI(JsProxy):
    js_name = "Ai"
    def __init__(self, result=None, error=None):
        self.result, self.error, self.calls = result, error, []
    async def run(self, model, inputs, options=None):
        self.calls.append((model, inputs, options))
        if self.error is not None:
            raise self.error
        return self.result() if callable(self.result) else self.result

# R2 in a dict: put, multipart uploads, get (the body in two chunks), head, delete, list with cursors.
class FakeR2Object(JsProxy):
    js_name = "HeadResult"
    def __init__(self, key, data, options):
        self.key, self.size, self.data = key, len(data), data
        self.httpMetadata = getattr(options, "httpMetadata", None)
        self.customMetadata = getattr(options, "customMetadata", None)

class FakeR2Upload(JsProxy):
    def __init__(self, bucket, key, options):
        self.bucket, self.key, self.options, self.parts = bucket, key, options, []
    async def uploadPart(self, number, data):
        self.parts.append((number, data.to_bytes()))
        return JsObject([("partNumber", number)])
    async def complete(self, parts):
        assert [p.partNumber for p in parts] == [n for n, _ in self.parts]
        return await self.bucket.put(self.key, Uint8Array(b"".join(d for _, d in self.parts)), self.options)
    async def abort(self):
        pass

class FakeR2(JsProxy):
    js_name = "R2Bucket"
    def __init__(self):
        self.objects, self.uploads = {}, []
    async def put(self, key, data, options):
        self.objects[key] = FakeR2Object(key, data.to_bytes(), options)
        return self.objects[key]
    async def createMultipartUpload(self, key, options):
        self.uploads.append(FakeR2Upload(self, key, options))
        return self.uploads[-1]
    async def get(self, key):
        obj = self.objects.get(key)
        if obj is None:
            return jsnull
        obj.body = ReadableStream([obj.data[:3], obj.data[3:]])
        return obj
    async def head(self, key):
        return self.objects.get(key, jsnull)
    async def delete(self, keys):
        for k in keys:
            self.objects.pop(k, None)
    async def list(self, options):
        keys = sorted(k for k in self.objects if k.startswith(options.prefix))
        start = int(getattr(options, "cursor", 0) or 0)
        page = keys[start:start + options.limit]
        more = start + options.limit < len(keys)
        return JsObject([("objects", JsArray(self.objects[k] for k in page)),
                         ("truncated", more), ("cursor", str(start + options.limit))])


class Env(JsProxy):
    js_name = "Object"
    def __init__(self, **values):
        self.__dict__.update(values)

BASELINE = set(sys.modules)

def run(coro):
    return asyncio.run(coro)
'''


def worker_world(code: str) -> str:
    """Run ``code`` after ``STANDINS`` in a fresh interpreter; return its stdout."""
    script = STANDINS + "\n" + textwrap.dedent(code)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'src'}", "PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"stand-in world failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _core_app_importable() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import openai_workers_ai.app"], cwd=ROOT, capture_output=True
    )
    return probe.returncode == 0


def test_the_banned_modules_are_what_the_local_server_loads() -> None:
    """The list above names real modules: the local server with the REST backend loads these, so
    their absence from the Worker means something."""
    code = textwrap.dedent(
        """
        import json, sys
        from openai_workers_ai import cli
        from openai_workers_ai.settings import Settings
        cli.choose_ai("rest", Settings(cloudflare_account_id="a", cloudflare_api_token="t"), {})
        import uvicorn.loops.uvloop, uvicorn.protocols.http.httptools_impl  # what serve() runs on
        print(json.dumps(sorted(sys.modules)))
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    local = {"uvicorn", "uvloop", "httptools", "aiohttp", "yarl", "multidict", "aiohappyeyeballs", "sqlite3"}
    assert local <= set(BANNED) and local <= set(json.loads(run.stdout))


def test_entry_imports_light_and_bridge_serves_buffered_and_streamed_responses() -> None:
    # entry.py + the real SDK bridge, with a stand-in app so this holds whatever the core's state.
    out = worker_world(
        f"""
        BANNED = {BANNED!r}
        assert not [m for m in BANNED if m in BASELINE]  # so "not newly loaded" means "not loaded"
        import entry
        loaded = sorted(m for m in set(sys.modules) - BASELINE if m.startswith("openai_workers_ai"))
        assert loaded == [], loaded  # nothing of the core until the first request

        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                return  # like an app without lifespan support
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = [(b"content-type", b"text/plain"), (b"x-path", scope["path"].encode())]
            await send({{"type": "http.response.start", "status": 201, "headers": headers}})
            if scope["path"] == "/stream":
                for part in (b"a", b"b", b"c"):
                    await send({{"type": "http.response.body", "body": part, "more_body": True}})
                await send({{"type": "http.response.body", "body": b"", "more_body": False}})
            else:
                await send({{"type": "http.response.body", "body": b"echo:" + body}})

        entry._built["app"] = app
        worker = entry.Default(object(), Env())

        async def main():
            r = await worker.fetch(Request("POST", "https://w.example/echo%20me?x=1", [("Content-Type", "text/plain")], b"hi"))
            assert r.status == 201 and await r.read() == b"echo:hi", r.status
            assert ("x-path", "/echo me") in list(r.headers)
            s = await worker.fetch(Request("GET", "https://w.example/stream"))
            assert isinstance(s.body, ReadableStream)
            assert await s.read() == b"abc"
            for task in WAIT_UNTIL:
                await task

        run(main())
        new = set(sys.modules) - BASELINE
        assert not [m for m in BANNED if m in new], [m for m in BANNED if m in new]
        assert THREAD_ATTEMPTS == [] and threading.active_count() == 1, THREAD_ATTEMPTS
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_core_app_through_the_worker_loads_nothing_local_only() -> None:
    if not _core_app_importable():
        import pytest

        pytest.skip("openai_workers_ai.app does not import yet (core under construction)")
    out = worker_world(
        f"""
        import json
        BANNED = {BANNED!r}
        import entry
        env = Env(AI=FakeAI(result={{"response": "hello"}}), DB=FakeAI(), BUCKET=FakeAI(),
                  ACCESS_TOKEN="sk-test", MODEL_ALIASES="{{}}", CORS_ALLOW_ORIGINS="*")
        worker = entry.Default(object(), env)

        async def main():
            health = await worker.fetch(Request("GET", "https://w.example/health"))
            assert health.status == 200, health.status
            anon = await worker.fetch(Request("GET", "https://w.example/v1/models"))
            assert anon.status == 401, anon.status
            assert json.loads(await anon.read())["error"]["code"] == "invalid_api_key"
            ok = await worker.fetch(Request("GET", "https://w.example/v1/models", [("Authorization", "Bearer sk-test")]))
            assert ok.status == 200, (ok.status, await ok.read())

            # a chat completion through WorkersAI: buffered, streamed, failed
            headers = [("Authorization", "Bearer sk-test"), ("Content-Type", "application/json")]
            def chat(stream):
                body = {{"model": "@cf/meta/llama-3.1-8b-instruct", "stream": stream,
                        "messages": [{{"role": "user", "content": "hi"}}]}}
                return Request("POST", "https://w.example/v1/chat/completions", headers, json.dumps(body).encode())
            done = await worker.fetch(chat(False))
            assert done.status == 200 and b"hello" in await done.read()
            model, inputs, _ = env.AI.calls[-1]
            assert model == "@cf/meta/llama-3.1-8b-instruct" and isinstance(inputs, JsObject)
            assert inputs.to_py()["messages"] == [{{"role": "user", "content": "hi"}}]
            env.AI.result = lambda: ReadableStream([b'data: {{"response":"hel"}}\\n\\n', b'data: {{"response":"lo"}}\\n\\n', b"data: [DONE]\\n\\n"])
            streamed = await worker.fetch(chat(True))
            assert streamed.status == 200 and isinstance(streamed.body, ReadableStream)
            text = (await streamed.read()).decode()
            assert '"hel"' in text and '"lo"' in text and text.rstrip().endswith("data: [DONE]"), text
            env.AI.error = JsException("AiError", "3040: Capacity temporarily exceeded")
            busy = await worker.fetch(chat(False))
            assert busy.status == 503 and json.loads(await busy.read())["error"]["code"] == "upstream_overloaded"
            for task in WAIT_UNTIL:
                await task

        run(main())
        new = set(sys.modules) - BASELINE
        assert "starlette.applications" in new  # the app really was built
        assert not [m for m in BANNED if m in new], [m for m in BANNED if m in new]
        assert THREAD_ATTEMPTS == [] and threading.active_count() == 1, THREAD_ATTEMPTS
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_workers_ai_adapter_conversions_and_errors() -> None:
    out = worker_world(
        """
        from openai_workers_ai.adapters.workers import WorkersAI
        from openai_workers_ai.adapters.workers_convert import unwrap
        from openai_workers_ai.errors import UpstreamError
        from workers import _EnvWrapper

        ai_binding = FakeAI(result=JsObject([("response", "hi"), ("usage", JsObject([("total_tokens", 3)])), ("tool_calls", jsnull)]))
        wrapped = _EnvWrapper(Env(AI=ai_binding)).AI  # what self.env.AI really is
        assert type(wrapped).__name__ == "_BindingWrapper" and unwrap(wrapped) is ai_binding
        ai = WorkersAI(wrapped)

        async def main():
            got = await ai.run("@cf/m", {"messages": [{"role": "user", "content": "x"}], "audio": b"\\x01\\x02", "n": 1.5}, {"gateway": {"id": "g"}})
            assert got == {"response": "hi", "usage": {"total_tokens": 3}, "tool_calls": None}, got
            assert type(got) is dict
            model, inputs, options = ai_binding.calls[-1]
            assert model == "@cf/m" and isinstance(inputs, JsObject) and isinstance(options, JsObject)
            assert isinstance(inputs.messages, JsArray) and isinstance(inputs.messages[0], JsObject)
            assert isinstance(inputs.audio, Uint8Array) and inputs.audio.to_bytes() == b"\\x01\\x02"
            assert options.gateway.id == "g"

            # stream=True: an async iterator of the raw SSE bytes
            ai_binding.result = lambda: ReadableStream([b"data: {\\"response\\":\\"h\\"}\\n\\n", b"data: [DONE]\\n\\n"])
            chunks = [c async for c in await ai.run("@cf/m", {"prompt": "p", "stream": True})]
            assert chunks == [b'data: {"response":"h"}\\n\\n', b"data: [DONE]\\n\\n"], chunks

            # a binary output delivered as a stream, not asked to stream: bytes
            ai_binding.result = lambda: ReadableStream([b"\\x89PNG", b"rest"])
            assert await ai.run("@cf/sd", {"prompt": "cat"}) == b"\\x89PNGrest"
            ai_binding.result = Uint8Array(b"RIFF")
            assert await ai.run("@cf/tts", {"prompt": "x"}) == b"RIFF"

            # closing a stream early cancels it upstream
            stream = ReadableStream([b"1", b"2"])
            ai_binding.result = stream
            it = await ai.run("@cf/m", {"prompt": "p", "stream": True})
            assert await anext(it) == b"1"
            await it.aclose()
            assert stream.cancelled

            # errors: thrown by run, and in the middle of a stream
            ai_binding.error = JsException("AiError", "3040: Capacity temporarily exceeded, please try again.")
            try:
                await ai.run("@cf/m", {"prompt": "p"})
            except UpstreamError as e:
                assert (e.status, e.code) == (503, "upstream_overloaded"), (e.status, e.code)
                assert "AiError" not in e.message and "3040" in e.message
            else:
                raise AssertionError("no error")
            ai_binding.error = JsException("InferenceUpstreamError", "5007: No such model @cf/nope or task")
            try:
                await ai.run("@cf/nope", {"prompt": "p"})
            except UpstreamError as e:
                assert (e.status, e.code) == (404, "model_not_found")
            ai_binding.error = None
            ai_binding.result = lambda: ReadableStream([b"data: x\\n\\n"], error=JsException("Error", "3036: daily free allocation"))
            it = await ai.run("@cf/m", {"prompt": "p", "stream": True})
            assert await anext(it) == b"data: x\\n\\n"
            try:
                await anext(it)
            except UpstreamError as e:
                assert (e.status, e.code) == (429, "insufficient_quota")
            else:
                raise AssertionError("no error")

        run(main())
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_d1_and_r2_adapters() -> None:
    out = worker_world(
        """
        from openai_workers_ai.adapters.workers import WorkersD1, WorkersR2
        from openai_workers_ai.errors import UpstreamError

        class Stmt(JsProxy):
            js_name = "D1PreparedStatement"
            def __init__(self, db, sql, values=()):
                self.db, self.sql, self.values = db, sql, values
            def bind(self, *values):
                return Stmt(self.db, self.sql, values)
            async def all(self):
                if "boom" in self.sql:
                    raise JsException("Error", "D1_ERROR: no such table: boom")
                return JsObject([("results", JsArray([JsObject([("id", 1), ("blob", jsnull)])])), ("success", True)])
            async def first(self):
                return jsnull if "none" in self.sql else JsObject([("id", 1)])
            async def run(self):
                self.db.ran.append((self.sql, self.values))
                return JsObject([("meta", JsObject([("changes", 2)]))])

        class D1(JsProxy):
            js_name = "D1Database"
            def __init__(self):
                self.ran, self.batches = [], []
            def prepare(self, sql):
                return Stmt(self, sql)
            async def batch(self, statements):
                self.batches.append([(s.sql, s.values) for s in statements])

        async def main():
            d1 = D1()
            db = WorkersD1(d1)
            assert await db.prepare("select 1").bind(1).all() == [{"id": 1, "blob": None}]
            assert await db.prepare("select none").first() is None
            assert await db.prepare("select one").first() == {"id": 1}
            assert await db.prepare("insert").bind(None, b"\\x00", "s", 3, True).run() == 2
            values = d1.ran[-1][1]
            assert values[0] is jsnull and isinstance(values[1], ArrayBuffer) and values[1].to_bytes() == b"\\x00"
            assert values[2:] == ("s", 3, True)
            await db.batch([db.prepare("a").bind(1), db.prepare("b")])
            assert d1.batches == [[("a", (1,)), ("b", ())]]
            try:
                await db.prepare("select boom").all()
            except UpstreamError as e:
                assert e.code == "database_error" and "no such table" in e.message
            else:
                raise AssertionError("no error")

            r2 = FakeR2()
            bucket = WorkersR2(r2, part_bytes=4)
            stored = await bucket.put("a/1", b"hello world", content_type="text/plain", metadata={"owner": "x"})
            assert (stored.key, stored.size, stored.content_type, stored.metadata) == ("a/1", 11, "text/plain", {"owner": "x"})
            got = await bucket.get("a/1")
            assert b"".join([c async for c in got.body]) == b"hello world" and got.content_type == "text/plain"
            assert await bucket.get("missing") is None and await bucket.head("missing") is None

            async def body():
                for part in (b"abc", b"defgh", b"ij"):
                    yield part
            big = await bucket.put("a/2", body(), content_type="application/octet-stream")
            assert big.size == 10 and [d for _, d in r2.uploads[-1].parts] == [b"abcd", b"efgh", b"ij"]
            async def small():
                yield b"xy"
            assert (await bucket.put("b/3", small())).size == 2 and len(r2.uploads) == 1

            assert [o.key for o in await bucket.list("a/")] == ["a/1", "a/2"]
            assert [o.key for o in await bucket.list("", limit=2)] == ["a/1", "a/2"]
            assert (await bucket.head("a/1")).metadata == {"owner": "x"}
            await bucket.delete("a/1")
            await bucket.delete(["a/2"])
            assert sorted(r2.objects) == ["b/3"]

        run(main())
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_settings_from_env_reads_vars_and_secrets() -> None:
    out = worker_world(
        """
        from openai_workers_ai.adapters.workers import settings_from_env
        from workers import _EnvWrapper

        env = _EnvWrapper(Env(
            ACCESS_TOKEN="k1, k2", ADMIN_TOKENS="adm", AUTH_DISABLED="true",
            MODEL_ALIASES=JsObject([("gpt-4o", "@cf/meta/llama-3.3-70b-instruct-fp8-fast")]),
            MAX_FILE_BYTES=1024, DEFAULT_MODEL="@cf/x/y",
        ))
        s = settings_from_env(env)
        assert s.access_token == ("k1", "k2") and s.admin_tokens == ("adm",)
        assert s.auth_disabled is False  # the Worker never turns auth off
        assert dict(s.model_aliases) == {"gpt-4o": "@cf/meta/llama-3.3-70b-instruct-fp8-fast"}
        assert s.max_file_bytes == 1024 and s.default_model == "@cf/x/y"
        assert s.cors_allow_origins == ("*",)  # absent: the default
        print("ok")
        """
    )
    assert out.strip() == "ok"


def test_scheduled_runs_the_maintenance_routine() -> None:
    out = worker_world(
        """
        import entry
        import openai_workers_ai.maintenance as m
        worker = entry.Default(object(), Env(AI=FakeAI(), DB=FakeAI(), BUCKET=FakeAI()))
        seen = []
        async def fake(backends, settings):
            seen.append((type(backends.ai).__name__, settings.default_model))
        m.run_scheduled = fake
        run(worker.scheduled(object(), None, None))
        assert seen == [("WorkersAI", "@cf/meta/llama-3.1-8b-instruct")], seen
        assert "openai_workers_ai.app" not in sys.modules  # the cron never builds the HTTP app
        print("called")
        """
    )
    assert out.strip() == "called"
