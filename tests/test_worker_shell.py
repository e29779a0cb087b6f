"""The Worker's adapters under CPython, for what the Pyodide suite cannot drive.

The Worker runs for real in Pyodide in ``tests/in_pyodide`` (``docs/pyodide.md``): ``entry.py``, the
SDK's ASGI bridge, the app and the adapters over JS stand-ins of the bindings, every API family. What
stays here, in the CPython stand-in world (``tests/worker_world``), is what those bindings never do on
their own: a stream that fails half-way or that the client drops (cancelling upstream), a binding
result in each shape Workers AI can answer (``null`` fields, a ``Uint8Array``), D1 failures and the
values D1 is handed, R2's part re-cutting and list paging. These run in every ``pytest``, without Node.
"""

from __future__ import annotations

from .worker_world import worker_world


def test_workers_ai_adapter_edges() -> None:
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

            # a dict of bytes that is not a binary model input stays a plain object
            await ai.run("@cf/x", {"image": {"body": b"x", "contentType": "image/png", "extra": 1}})
            assert isinstance(ai_binding.calls[-1][1].image.body, Uint8Array)

            # a binary output as a Uint8Array (streams are driven in Pyodide): bytes
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
            ranged = await bucket.get("a/1", span=(6, 3))  # R2's {range: {offset, length}}
            assert b"".join([c async for c in ranged.body]) == b"wor"
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


def test_vectorize_adapter() -> None:
    """``env.VECTORS``: vectors and options as JS values, matches back as Python, JS errors translated once."""
    out = worker_world(
        """
        from openai_workers_ai.adapters.workers import WorkersVectorize, backends_from_env
        from openai_workers_ai.errors import UpstreamError
        from openai_workers_ai.ports import Vector, VectorMatch

        class FakeVectorize(JsProxy):
            js_name = "VectorizeIndexImpl"

            def __init__(self):
                self.calls, self.error = [], None

            async def upsert(self, vectors):
                self.calls.append(("upsert", vectors))
                if self.error:
                    raise self.error
                return JsObject([("mutationId", "m1")])

            async def query(self, vector, options):
                self.calls.append(("query", vector, options))
                return JsObject([("matches", JsArray([JsObject([("id", "a.0"), ("score", 0.75)])])), ("count", 1)])

            async def deleteByIds(self, ids):
                self.calls.append(("deleteByIds", ids))

        index = FakeVectorize()
        vectors = WorkersVectorize(index)

        async def main():
            await vectors.upsert([Vector("a.0", [0.5, 0.25], {"vector_store_id": "vs_1", "file_id": "file-1"})])
            kind, sent = index.calls[-1]
            assert isinstance(sent, JsArray) and isinstance(sent[0], JsObject)
            assert sent[0].id == "a.0" and list(sent[0].values) == [0.5, 0.25]
            assert sent[0].metadata.vector_store_id == "vs_1"
            found = await vectors.query([0.5, 0.25], top_k=50, filter={"vector_store_id": {"$in": ["vs_1"]}})
            assert found == [VectorMatch("a.0", 0.75)], found
            _, vector, options = index.calls[-1]
            assert options.topK == 50 and options.returnMetadata == "none" and options.returnValues is False
            assert options.filter.to_py() == {"vector_store_id": {"$in": ["vs_1"]}}
            await vectors.delete([])  # nothing to delete: no call
            await vectors.delete(["a.0"])
            assert index.calls[-1][0] == "deleteByIds" and list(index.calls[-1][1]) == ["a.0"]
            index.error = JsException("Error", "VECTOR_UPSERT_ERROR (code = 40006): invalid vector")
            try:
                await vectors.upsert([Vector("b.0", [1.0, 0.0], {})])
            except UpstreamError as e:
                assert e.code == "vector_index_error" and "40006" in e.message, (e.code, e.message)
            else:
                raise AssertionError("no error")
            with_index = backends_from_env(Env(AI=FakeAI(), DB=FakeD1(), BUCKET=FakeR2(), VECTORS=index))
            assert isinstance(with_index.vectors, WorkersVectorize)
            assert backends_from_env(Env(AI=FakeAI(), DB=FakeD1(), BUCKET=FakeR2())).vectors is None
            print("vectorize ok")

        run(main())
        """
    )
    assert "vectorize ok" in out
