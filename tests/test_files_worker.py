"""The Files API through the Worker shell: ``entry.py``, the SDK's ASGI bridge, ``WorkersD1`` /
``WorkersR2`` over stand-in bindings (D1 on sqlite3 behind JS-shaped values, R2 in a dict), and
the cron ``scheduled`` handler running the cleanup (the world: ``tests/worker_world/``)."""

from __future__ import annotations

from .worker_world import worker_world


def test_files_and_cleanup_through_the_worker() -> None:
    out = worker_world(
        r"""
        import json
        from pathlib import Path
        import entry

        env = Env(AI=FakeAI(), DB=FakeD1(Path("migrations")), BUCKET=FakeR2(), ACCESS_TOKEN="sk-a,sk-b", ADMIN_TOKENS="sk-admin")
        worker = entry.Default(object(), env)

        def call(method, path, key="sk-a", body=None, headers=()):
            hdrs = [("Authorization", f"Bearer {key}"), *headers]
            return worker.fetch(Request(method, "https://w.example" + path, hdrs, body))

        async def as_json(response):
            return response.status, json.loads(await response.read())

        async def main():
            payload = b'{"a": 1}\n' * 50
            form = (b"--B\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
                    b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n"
                    b"Content-Type: application/jsonl\r\n\r\n" + payload + b"\r\n--B--\r\n")
            status, created = await as_json(await call(
                "POST", "/v1/files", body=form, headers=[("Content-Type", "multipart/form-data; boundary=B")]))
            assert status == 200, created
            assert created["bytes"] == len(payload) and created["purpose"] == "batch"
            assert isinstance(created["created_at"], int) and created["expires_at"] == created["created_at"] + 30 * 86400
            file_id = created["id"]

            status, got = await as_json(await call("GET", f"/v1/files/{file_id}"))
            assert status == 200 and got == created, got
            status, listed = await as_json(await call("GET", "/v1/files?limit=1"))
            assert [f["id"] for f in listed["data"]] == [file_id] and listed["has_more"] is False
            content = await call("GET", f"/v1/files/{file_id}/content")
            assert content.status == 200 and await content.read() == payload
            assert ("content-type", "application/jsonl") in list(content.headers)
            status, other = await as_json(await call("GET", f"/v1/files/{file_id}", key="sk-b"))
            assert status == 404 and other["error"]["param"] == "id"
            status, listed = await as_json(await call("GET", "/v1/files", key="sk-admin"))
            assert [f["id"] for f in listed["data"]] == [file_id]

            (row,) = env.DB.conn.execute("SELECT owner, object_key, status FROM files").fetchall()
            assert row["status"] == "processed" and row["object_key"].startswith(f"files/{file_id}/")
            assert "sk-a" not in row["owner"] and list(env.BUCKET.objects) == [row["object_key"]]

            status, deleted = await as_json(await call("DELETE", f"/v1/files/{file_id}"))
            assert status == 200 and deleted == {"id": file_id, "object": "file", "deleted": True}
            assert env.BUCKET.objects == {} and env.DB.conn.execute("SELECT * FROM files").fetchall() == []

            # The cron: an expired file and an orphan object are cleaned up.
            status, kept = await as_json(await call(
                "POST", "/v1/files", body=form.replace(b"batch", b"assistants"),
                headers=[("Content-Type", "multipart/form-data; boundary=B")]))
            env.DB.conn.execute("UPDATE files SET expires_at = 1 WHERE id = ?", (kept["id"],))
            env.BUCKET.objects["files/file-gone/x"] = FakeR2Object("files/file-gone/x", b"x", None)
            await worker.scheduled(object(), env, None)
            assert env.BUCKET.objects == {} and env.DB.conn.execute("SELECT * FROM files").fetchall() == []
            for task in WAIT_UNTIL:
                await task

        run(main())
        print("ok")
        """
    )
    assert out.strip() == "ok"
