"""The local server's jobs in a SQLite file (``adapters/local_jobs.py``): they outlive the runner that
queued them, delays included; a lapsed lease (a process killed mid-job) makes a job due again; failures
are retried then dropped; a running runner finds jobs another process put. Processes racing over one
file: ``tests/test_processes.py``; a server stopped and started again: ``tests/e2e/test_background_jobs.py``."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette

from openai_workers_ai import jobs as jobs_module
from openai_workers_ai.adapters.local_jobs import LEASE, SCHEMA_VERSION, NewerJobsFile, SQLiteJobs
from openai_workers_ai.cli import JOBS_FILE, prepare_data
from openai_workers_ai.context import AppContext
from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.ports import Job
from openai_workers_ai.simulator import words

from .assistants import assistant, ok, run, thread
from .conftest import Clock

CTX = cast(AppContext, object())  # the handlers here do not read it


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of ``test.record`` jobs, as they run."""
    record: list[str] = []

    async def handler(context: AppContext, job: Job) -> None:
        record.append(job.id)

    monkeypatch.setitem(jobs_module.HANDLERS, "test.record", handler)
    return record


def runner(path: Path, clock: Clock) -> InProcessJobs:
    return InProcessJobs(clock, store=SQLiteJobs(path))


async def test_a_job_queued_before_a_stop_runs_after_the_restart(tmp_path: Path, clock: Clock, ran: list[str]) -> None:
    path = tmp_path / "jobs.sqlite3"
    before = runner(path, clock)
    await before.send(Job("test.record", "queued", owner="k"))
    assert len(before) == 1
    del before  # stopped before it ran
    after = runner(path, clock)
    assert len(after) == 1
    assert await after.drain(CTX) == 1 and ran == ["queued"]
    assert len(after) == 0 and await runner(path, clock).drain(CTX) == 0  # done: gone from the file


async def test_the_job_carries_its_owner_through_the_file(tmp_path: Path, clock: Clock) -> None:
    store = SQLiteJobs(tmp_path / "jobs.sqlite3")
    store.put(Job("k", "i", owner="o"), clock())
    store.put(Job("k", "j"), clock())
    taken = [store.take(clock()), store.take(clock())]
    assert [c.job for c in taken if c] == [Job("k", "i", owner="o"), Job("k", "j")]


async def test_a_delayed_job_survives_a_restart_and_runs_at_its_time(tmp_path: Path, clock: Clock,
                                                                    ran: list[str]) -> None:
    path = tmp_path / "jobs.sqlite3"
    await runner(path, clock).send(Job("test.record", "later"), delay=3600)
    after = runner(path, clock)
    assert await after.drain(CTX) == 0
    clock.now += 3599
    assert await after.drain(CTX) == 0 and ran == []
    clock.now += 1
    assert await after.drain(CTX) == 1 and ran == ["later"]


async def test_a_job_whose_process_died_runs_again_once_its_lease_lapses(tmp_path: Path, clock: Clock,
                                                                        ran: list[str]) -> None:
    path = tmp_path / "jobs.sqlite3"
    dead = SQLiteJobs(path)
    dead.put(Job("test.record", "orphan"), clock())
    assert dead.take(clock()) is not None  # taken, then the process was killed: no end recorded, no renewal
    survivor = runner(path, clock)
    assert await survivor.drain(CTX) == 0  # still leased
    clock.now += LEASE - 1
    assert await survivor.drain(CTX) == 0
    clock.now += 1
    assert await survivor.drain(CTX) == 1 and ran == ["orphan"]
    assert len(survivor) == 0


async def test_a_renewed_lease_keeps_a_long_job_its_own(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "jobs.sqlite3"
    running, other = SQLiteJobs(path), SQLiteJobs(path)
    running.put(Job("k", "long"), clock())
    claimed = running.take(clock())
    assert claimed is not None
    for _ in range(10):  # ten leases long, renewed as the runner does
        clock.now += LEASE / 4
        running.renew(clock())
        assert other.take(clock()) is None
    running.done(claimed)
    clock.now += 2 * LEASE
    assert other.take(clock()) is None and len(other) == 0


async def test_failures_are_retried_then_dropped(tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[str] = []

    async def flaky(context: AppContext, job: Job) -> None:
        attempts.append(job.id)
        if job.id == "always" or attempts.count(job.id) == 1:
            raise RuntimeError("boom")

    monkeypatch.setitem(jobs_module.HANDLERS, "test.flaky", flaky)
    path = tmp_path / "jobs.sqlite3"
    jobs = runner(path, clock)
    await jobs.send(Job("test.flaky", "once"))
    await jobs.send(Job("test.flaky", "always"))
    assert await jobs.drain(CTX) == 2 + 1 + 2  # both; "once" again; "always" twice more (drain retries at once)
    assert attempts.count("once") == 2 and attempts.count("always") == jobs.max_attempts == 3
    assert len(jobs) == 0
    assert "job test.flaky always failed 3 times; dropped" in caplog.text


async def test_a_retry_waits_in_the_file_through_a_restart(tmp_path: Path, clock: Clock) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = SQLiteJobs(path)
    store.put(Job("k", "failed once"), clock())
    claimed = store.take(clock())
    assert claimed is not None
    store.retry(claimed, clock() + 5)  # as the running runner does: after retry_after
    restarted = SQLiteJobs(path)
    assert restarted.take(clock() + 4) is None
    again = restarted.take(clock() + 5)
    assert again is not None and again.job == Job("k", "failed once") and again.attempt == 2


async def test_a_job_that_kills_its_process_every_time_is_dropped(tmp_path: Path, clock: Clock, ran: list[str],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "jobs.sqlite3"
    SQLiteJobs(path).put(Job("test.record", "poison"), clock())
    for attempt in (1, 2, 3):
        claimed = SQLiteJobs(path).take(clock())  # a process takes it and dies
        assert claimed is not None and claimed.attempt == attempt
        clock.now += LEASE
    with caplog.at_level(logging.ERROR):
        assert await runner(path, clock).drain(CTX) == 0
    assert ran == [] and len(SQLiteJobs(path)) == 0
    assert "job test.record poison failed 3 times; dropped (its process ended while it ran)" in caplog.text


async def test_a_running_runner_finds_jobs_another_process_put(tmp_path: Path, ran: list[str]) -> None:
    path = tmp_path / "jobs.sqlite3"
    jobs = InProcessJobs(store=SQLiteJobs(path))
    async with jobs.running(CTX):
        await asyncio.sleep(0.05)  # idle: waiting on its timed look
        SQLiteJobs(path).put(Job("test.record", "theirs"), 0)  # another process's: nothing wakes this one
        for _ in range(100):
            if ran:
                break
            await asyncio.sleep(0.05)
    assert ran == ["theirs"] and len(jobs) == 0


async def test_jobs_running_when_the_runner_stops_are_given_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 ran: list[str]) -> None:
    started = asyncio.Event()

    async def hangs(context: AppContext, job: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setitem(jobs_module.HANDLERS, "test.hangs", hangs)
    path = tmp_path / "jobs.sqlite3"
    jobs = InProcessJobs(store=SQLiteJobs(path))
    async with jobs.running(CTX):
        await jobs.send(Job("test.hangs", "cut short"))
        await asyncio.wait_for(started.wait(), timeout=5)
    # cancelled by the stop, and due again at once (not after its lease), its attempt not counted
    monkeypatch.setitem(jobs_module.HANDLERS, "test.hangs", jobs_module.HANDLERS["test.record"])
    restarted = InProcessJobs(store=SQLiteJobs(path))
    claimed = restarted.store.take(restarted.clock())
    assert claimed is not None and claimed.attempt == 1
    restarted.store.release(restarted.clock())
    assert await restarted.drain(CTX) == 1 and ran == ["cut short"]


@pytest.fixture
def jobs(tmp_path: Path) -> InProcessJobs:
    """The app's runner (``client``, ``app``) over a jobs file, as ``serve``'s."""
    return InProcessJobs(store=SQLiteJobs(tmp_path / "jobs.sqlite3"))


async def test_a_background_response_cut_short_by_a_stop_is_generated_after_the_restart(
    tmp_path: Path, client: httpx.AsyncClient, app: Starlette, jobs: InProcessJobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await client.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "wait:60 echo: again",
                                                 "background": True})
    assert r.status_code == 200, r.text
    response_id = r.json()["id"]

    async def status() -> str:
        return str((await client.get(f"/v1/responses/{response_id}")).json()["status"])

    async with jobs.running(app.state.ctx):
        for _ in range(500):
            if await status() == "in_progress":
                break
            await asyncio.sleep(0.01)
        assert await status() == "in_progress"  # the model is answering …
    assert await status() == "queued"  # … when the server stops: queued again, its job given back
    monkeypatch.setattr(words, "MAX_WAIT", 0.0)  # the model quick this time
    restarted = InProcessJobs(store=SQLiteJobs(tmp_path / "jobs.sqlite3"))
    assert await restarted.drain(app.state.ctx) == 1
    done = (await client.get(f"/v1/responses/{response_id}")).json()
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "again"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_an_assistants_run_cut_short_by_a_stop_is_executed_after_the_restart(
    tmp_path: Path, client: httpx.AsyncClient, app: Starlette, jobs: InProcessJobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "wait:60 echo: resumed")
    created = await run(client, created_thread["id"], asst["id"])
    url = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"

    async def status() -> str:
        return str((await ok(client.get(url)))["status"])

    async with jobs.running(app.state.ctx):
        for _ in range(500):
            if await status() == "in_progress":
                break
            await asyncio.sleep(0.01)
        assert await status() == "in_progress"
    assert await status() == "queued"  # handed back (its executor's hand-off), its job in the file
    monkeypatch.setattr(words, "MAX_WAIT", 0.0)
    restarted = InProcessJobs(store=SQLiteJobs(tmp_path / "jobs.sqlite3"))
    await restarted.drain(app.state.ctx)
    assert await status() == "completed" and len(restarted) == 0
    replies = (await ok(client.get(f"/v1/threads/{created_thread['id']}/messages", params={"order": "asc"})))["data"]
    assert [m["role"] for m in replies] == ["user", "assistant"]
    assert replies[1]["content"][0]["text"]["value"] == "resumed"


async def test_a_job_that_hangs_gives_its_lease_back_at_its_ceiling(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A running runner cancels a job past its ceiling and records a failed attempt in the file: the job is
    no longer this process's (its lease not renewed for ever), and is due again after ``retry_after``."""
    async def hangs(context: AppContext, job: Job) -> None:
        await asyncio.Event().wait()

    monkeypatch.setitem(jobs_module.HANDLERS, "test.hangs", hangs)
    path = tmp_path / "jobs.sqlite3"
    jobs = InProcessJobs(store=SQLiteJobs(path), max_run=0.05, retry_after=600)
    async with jobs.running(CTX):
        await jobs.send(Job("test.hangs", "stuck"))
        for _ in range(200):
            row = SQLiteJobs(path).conn.execute("SELECT attempt, claim, due FROM jobs").fetchone()
            if row[0] == 2:
                break
            await asyncio.sleep(0.01)
    attempt, claim, due = row
    assert attempt == 2 and claim is None and due > jobs.clock() + 500


# ---- the file's version ------------------------------------------------------------------------------


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def test_a_new_jobs_file_says_its_version(tmp_path: Path) -> None:
    SQLiteJobs(tmp_path / "jobs.sqlite3").conn.close()
    assert user_version(tmp_path / "jobs.sqlite3") == SCHEMA_VERSION == 1


async def test_a_jobs_file_from_before_versions_keeps_its_jobs(tmp_path: Path, clock: Clock, ran: list[str]) -> None:
    """A file an older server wrote (no version: 0) is brought up to date in place, its queued jobs kept."""
    path = tmp_path / "jobs.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL,"
                " owner TEXT, due REAL NOT NULL, attempt INTEGER NOT NULL DEFAULT 1, claim TEXT)")
    old.execute("CREATE INDEX jobs_by_due ON jobs (due, seq)")
    old.execute("INSERT INTO jobs (kind, id, owner, due) VALUES ('test.record', 'kept', NULL, 0)")
    old.commit()
    old.close()
    assert user_version(path) == 0
    after = runner(path, clock)
    assert user_version(path) == SCHEMA_VERSION and len(after) == 1
    assert await after.drain(CTX) == 1 and ran == ["kept"]


def test_a_jobs_file_of_a_newer_server_is_refused_before_serve_starts(tmp_path: Path) -> None:
    path = tmp_path / JOBS_FILE
    SQLiteJobs(path).put(Job("future.kind", "theirs"), 0)
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    with pytest.raises(NewerJobsFile):
        SQLiteJobs(path)
    with pytest.raises(SystemExit) as refused:
        prepare_data(tmp_path)
    assert f"has version {SCHEMA_VERSION + 1}, newer than this server's {SCHEMA_VERSION}" in str(refused.value)
    assert user_version(path) == SCHEMA_VERSION + 1  # left as it was: its jobs still there
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT kind, id FROM jobs").fetchall() == [("future.kind", "theirs")]
    conn.close()
