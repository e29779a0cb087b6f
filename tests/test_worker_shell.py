"""The Worker shell under CPython: ``src/entry.py``, the real SDK, our adapters.

No Python Worker can run here (workerd fetches Pyodide at start), so each
check runs in a fresh interpreter where ``js``, ``pyodide``, ``pyodide.ffi``,
``pyodide.http``, ``_pyodide_entrypoint_helper`` and ``_cloudflare_compat_flags``
are small stand-ins (``tests/worker_world/``) and the *real* ``workers`` SDK
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

import subprocess
import sys

from .worker_world import ROOT, worker_world

# Loaded by the local server only, or missing/useless in Pyodide. Checked as
# "not newly imported" after ``import asyncio``: asyncio itself (CPython and
# Pyodide alike) already imports ``subprocess`` and ``threading``, so those two
# can't be asserted absent; what is asserted for them is that no thread starts.
BANNED = [
    "uvicorn",
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


def _core_app_importable() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import openai_workers_ai.app"], cwd=ROOT, capture_output=True
    )
    return probe.returncode == 0


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

        async def main():
            d1 = FakeD1()
            d1.conn.execute("CREATE TABLE t (a, b, c, d, e)")
            db = WorkersD1(d1)
            assert await db.prepare("SELECT ? AS id, NULL AS blob").bind(1).all() == [{"id": 1, "blob": None}]
            assert await db.prepare("SELECT 1 AS id WHERE 0").first() is None
            assert await db.prepare("SELECT 1 AS id").first() == {"id": 1}
            two_rows = "INSERT INTO t SELECT ?1, ?2, ?3, ?4, ?5 FROM (SELECT 1 UNION ALL SELECT 2)"
            assert await db.prepare(two_rows).bind(None, b"\\x00", "s", 3, True).run() == 2
            values = d1.ran[-1][1]
            assert values[0] is jsnull and isinstance(values[1], ArrayBuffer) and values[1].to_bytes() == b"\\x00"
            assert values[2:] == ("s", 3, True)
            assert tuple(d1.conn.execute("SELECT a, b FROM t").fetchone()) == (None, b"\\x00")
            await db.batch([db.prepare("INSERT INTO t (a) VALUES (?)").bind(1), db.prepare("DELETE FROM t")])
            assert d1.batches == [[("INSERT INTO t (a) VALUES (?)", (1,)), ("DELETE FROM t", ())]]
            assert tuple(d1.conn.execute("SELECT count(*) FROM t").fetchone()) == (0,)
            try:
                await db.prepare("SELECT * FROM boom").all()
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
