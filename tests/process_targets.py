"""What ``test_processes`` runs in other processes (``spawn``: each imports this module, so it
imports little)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from openai_workers_ai.adapters.local import SQLiteD1

JOBS = 200


def all_ready(folder: Path, me: int, count: int) -> None:
    """A barrier between processes: each leaves a file, then waits for everyone's."""
    (folder / f"ready-{me}").touch()
    deadline = time.monotonic() + 60
    while len(list(folder.glob("ready-*"))) < count and time.monotonic() < deadline:
        time.sleep(0.002)


def claim_jobs(path: str, owner: int, seed: int) -> list[int]:
    """In a process of its own: claim every job it can, in a random order, as a runner would
    (one conditional UPDATE per job), logging each claim in the same transaction."""
    db = SQLiteD1(path)
    all_ready(Path(path).parent, owner, 4)

    async def claim() -> list[int]:
        ids = list(range(JOBS))
        random.Random(seed).shuffle(ids)
        won = []
        for job in ids:
            changed = await db.prepare("UPDATE jobs SET owner = ? WHERE id = ? AND owner IS NULL").bind(owner, job).run()
            if changed:
                won.append(job)
                await db.batch([db.prepare("INSERT INTO claims (job, owner) VALUES (?, ?)").bind(job, owner),
                                db.prepare("UPDATE jobs SET done = done + 1 WHERE id = ?").bind(job)])
            await asyncio.sleep(0.001)  # the job's work, off the database
        return won

    return asyncio.run(claim())


def run_jobs(path: str, me: int, processes: int, log: str) -> int:
    """In a process of its own: the server's job runner over the jobs file at ``path`` until the file has
    none left; each ``test.once`` job it runs is a line ``<id> <me>`` appended to ``log``. How many it ran."""
    from openai_workers_ai import jobs
    from openai_workers_ai.adapters.local_jobs import SQLiteJobs

    ran = 0

    async def record(ctx: Any, job: Any) -> None:
        nonlocal ran
        with open(log, "a") as f:  # one short write in append mode: lines of processes never mix
            f.write(f"{job.id} {me}\n")
        ran += 1
        await asyncio.sleep(0.002)  # the job's work

    jobs.HANDLERS["test.once"] = record
    runner = jobs.InProcessJobs(store=SQLiteJobs(path))
    all_ready(Path(path).parent, me, processes)

    async def run() -> None:
        async with runner.running(None):  # type: ignore[arg-type]  # the handler reads no context
            while len(runner):
                await asyncio.sleep(0.02)

    asyncio.run(run())
    return ran


def migrate(path: str, migrations: str, me: int) -> list[str]:
    db = SQLiteD1(path)
    all_ready(Path(path).parent, me, 4)
    return db.apply_migrations(migrations)


GRACE = 2.0  # seconds: longer than a process takes to start here, shorter than the "later" crash


class Options:
    def __init__(self, port: int, record: Path, behaviour: str) -> None:
        self.host, self.port, self.record, self.behaviour = "127.0.0.1", port, record, behaviour


def _first(marker: Path) -> bool:
    """Whether this process is the first to get here (an exclusive create: two starting together
    cannot both be first, nor both miss it)."""
    try:
        marker.open("x").close()
    except FileExistsError:
        return False
    return True


def stand_in(options: Options, sockets: list[socket.socket]) -> None:
    """A server process stand-in: records its pid and listening socket, then does as told."""
    with options.record.open("a") as f:
        f.write(f"{os.getpid()} {sockets[0].getsockname()[1]}\n")
    if options.behaviour == "crash-at-start":
        raise SystemExit(3)
    if options.behaviour == "first-crashes-later" and _first(options.record.with_suffix(".first")):
        time.sleep(GRACE + 0.5)
        raise SystemExit(4)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(0.05)


def open_new_files(folder: str, barrier: Any, rounds: int, failures: Any) -> None:
    """In a process of its own: with the others, open each of ``rounds`` new SQLite files at once
    (as ``serve --workers N`` opens its data folder); how many openings failed goes to ``failures``."""
    import sqlite3

    from openai_workers_ai.adapters.local import connect

    failed = 0
    for n in range(rounds):
        barrier.wait()
        try:
            connect(Path(folder) / f"{n}.sqlite3").close()
        except sqlite3.OperationalError:
            failed += 1
    failures.put(failed)
