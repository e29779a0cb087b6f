"""Benchmark of the Responses API: a stored response's CPU against the equivalent chat completion's,
and the D1 queries that replay a ``previous_response_id`` chain.

    uv run python bench/responses.py [--quick]

Both requests go through the app (ASGI, no HTTP client) over the simulator, SQLite and a folder,
alternating in rounds so that noise from other processes hits both alike; the ratio is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import KEY, ROOT, asgi_post  # noqa: E402

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1  # noqa: E402
from openai_workers_ai.app import create_app  # noqa: E402
from openai_workers_ai.ports import Backends  # noqa: E402
from openai_workers_ai.settings import Settings  # noqa: E402
from openai_workers_ai.simulator import Simulator  # noqa: E402

MODEL = "@cf/meta/llama-3.1-8b-instruct"
SYSTEM = "You are a helpful assistant."
QUESTION = "echo: The quick brown fox jumps over the lazy dog."
CHAT = {"model": MODEL, "temperature": 0.7, "max_tokens": 64,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]}
RESPONSE = {"model": MODEL, "temperature": 0.7, "max_output_tokens": 64, "instructions": SYSTEM, "input": QUESTION}
STORED_CHAT = {**CHAT, "store": True}  # stored as a response is: the completion and its request messages in D1


class CountingD1(SQLiteD1):
    """SQLite as D1, counting the statements that read."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def prepare(self, sql: str) -> Any:
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            self.reads += 1
        return super().prepare(sql)


class TimedConnection:
    """A sqlite3 connection that adds up the CPU its statements take: the database engine's own work,
    which in the Worker happens in D1, not in the isolate."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.cpu = conn, 0.0

    def execute(self, *args: Any) -> Any:
        c0 = time.process_time()
        try:
            return self.conn.execute(*args)
        finally:
            self.cpu += time.process_time() - c0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def app_with(db: SQLiteD1) -> Any:
    db.apply_migrations(ROOT / "migrations")
    backends = Backends(Simulator(keep_calls=0), db, FolderR2(tempfile.mkdtemp(prefix="bench-r2-")))
    return create_app(backends, Settings(access_token=(KEY,)))


async def cpu_ratio(n: int, rounds: int) -> dict[str, float]:
    """CPU per request: ``POST /v1/responses`` (stored, not streamed) vs ``POST /v1/chat/completions``, not
    stored and stored (``store: true``)."""
    db = SQLiteD1()
    app = app_with(db)
    plain, timed = db.conn, TimedConnection(db.conn)
    chat = asgi_post(app, "/v1/chat/completions", json.dumps(CHAT).encode())
    response = asgi_post(app, "/v1/responses", json.dumps(RESPONSE).encode())
    stored_chat = asgi_post(app, "/v1/chat/completions", json.dumps(STORED_CHAT).encode())
    for _ in range(200):
        assert (await chat())[0] == 200 and (await response())[0] == 200 and (await stored_chat())[0] == 200
    per: dict[str, list[float]] = {"chat": [], "responses": [], "stored_chat": [], "sqlite": []}
    for _ in range(rounds):
        for name, call in (("chat", chat), ("responses", response), ("stored_chat", stored_chat)):
            c0 = time.process_time()
            for _ in range(n):
                await call()
            per[name].append((time.process_time() - c0) / n * 1000)
        # SQLite's share, in a pass of its own: timing each statement costs clock reads of its own,
        # which must not count in the ratio.
        db.conn, timed.cpu = timed, 0.0  # type: ignore[assignment]
        for _ in range(n):
            await response()
        db.conn = plain
        per["sqlite"].append(timed.cpu / n * 1000)
        plain.execute("DELETE FROM items")  # every round on tables of the same size
        plain.execute("DELETE FROM responses")
        plain.execute("DELETE FROM chat_completions")
    chat_ms, responses_ms = statistics.median(per["chat"]), statistics.median(per["responses"])
    sqlite_ms, stored_ms = statistics.median(per["sqlite"]), statistics.median(per["stored_chat"])
    return {"chat_cpu_ms": chat_ms, "responses_cpu_ms": responses_ms, "ratio": responses_ms / chat_ms,
            "sqlite_cpu_ms": sqlite_ms, "ratio_without_sqlite": (responses_ms - sqlite_ms) / chat_ms,
            "stored_chat_cpu_ms": stored_ms, "ratio_to_stored_chat": responses_ms / stored_ms}


async def chain_reads(turns: int) -> dict[str, int]:
    """D1 reads of the request that continues a chain of ``turns`` stored responses."""
    db = CountingD1()
    app = app_with(db)
    previous: str | None = None
    for turn in range(turns):
        body = {"model": MODEL, "input": f"echo: turn {turn}", "previous_response_id": previous}
        status, _ = await asgi_post(app, "/v1/responses", json.dumps(body).encode())()
        assert status == 200
        row = await db.prepare("SELECT id FROM responses ORDER BY rowid DESC LIMIT 1").first()  # the newest
        assert row is not None
        previous = row["id"]
    depth = await db.prepare(
        "WITH RECURSIVE chain(id, previous) AS (SELECT id, previous_response_id FROM responses WHERE id = ?"
        " UNION ALL SELECT r.id, r.previous_response_id FROM responses r JOIN chain ON r.id = chain.previous)"
        " SELECT count(*) AS n FROM chain").bind(previous).first()
    assert depth is not None and depth["n"] == turns, (depth, turns)  # the chain is as deep as it should be
    before = db.reads
    body = {"model": MODEL, "input": "echo: next", "previous_response_id": previous}
    status, _ = await asgi_post(app, "/v1/responses", json.dumps(body).encode())()
    assert status == 200
    return {"turns": turns, "d1_reads": db.reads - before}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    quick = parser.parse_args().quick
    cpu = await cpu_ratio(n=100 if quick else 400, rounds=3 if quick else 7)
    print(f"chat completion (non-streaming)      {cpu['chat_cpu_ms']:.3f} ms CPU per request")
    print(f"stored response (non-streaming)      {cpu['responses_cpu_ms']:.3f} ms CPU per request")
    print(f"  of which SQLite's own work           {cpu['sqlite_cpu_ms']:.3f} ms (D1's, outside the Worker)")
    print(f"ratio responses / chat               {cpu['ratio']:.2f}x  (target <= 1.5x)")
    print(f"ratio without SQLite's own work      {cpu['ratio_without_sqlite']:.2f}x")
    print(f"stored chat completion (store: true) {cpu['stored_chat_cpu_ms']:.3f} ms CPU per request")
    print(f"ratio responses / stored chat        {cpu['ratio_to_stored_chat']:.2f}x  (both stored in D1)")
    for turns in (1, 5, 20):
        reads = await chain_reads(turns)
        print(f"continue a {reads['turns']:>2}-turn previous_response_id chain: {reads['d1_reads']} D1 reads")


if __name__ == "__main__":
    asyncio.run(main())
