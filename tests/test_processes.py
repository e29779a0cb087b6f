"""``serve --workers N``: several processes on one port, sharing the SQLite file and the data folder.

The supervisor (``processes.supervise``) with stand-in targets; SQLite under several processes at
once (WAL, busy timeout, ``BEGIN IMMEDIATE``); and the real server with two processes, its background
jobs (Responses, Assistants runs, image expiry) each executed once."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from openai_workers_ai import cli
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.simulator.rest import create_rest_app

from . import procfs
from .conftest import ROOT
from .e2e.conftest import free_port, output, start, stop
from .process_targets import GRACE, JOBS, claim_jobs, migrate, open_new_files, run_jobs
from .served import served

# ---- SQLite shared by processes -------------------------------------------------------------


def test_each_job_is_claimed_once_by_processes_racing_for_it(tmp_path: Path) -> None:
    path = str(tmp_path / "d1.sqlite3")
    db = SQLiteD1(path)
    db.conn.executescript(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, owner INTEGER, done INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE claims (job INTEGER NOT NULL, owner INTEGER NOT NULL);"
    )
    db.conn.executemany("INSERT INTO jobs (id) VALUES (?)", [(i,) for i in range(JOBS)])
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(claim_jobs, [(path, owner, owner) for owner in range(4)])
    won = sorted(job for jobs in results for job in jobs)
    assert won == list(range(JOBS))  # every job once, none twice, no "database is locked"
    assert all(results), "each process got some: they really raced"
    rows = db.conn.execute("SELECT owner, done FROM jobs").fetchall()
    assert all(done == 1 for _, done in rows)
    claims = db.conn.execute("SELECT job, owner FROM claims ORDER BY job").fetchall()
    assert [(job, owner) for job, owner in claims] == sorted((j, o) for o, jobs in enumerate(results) for j in jobs)



def test_job_runners_in_processes_sharing_the_jobs_file_run_each_job_once(tmp_path: Path) -> None:
    """``serve --workers N``'s runners over one ``jobs.sqlite3``: every job queued there runs exactly once,
    each process taking some (a job is taken with one conditional UPDATE, which one process wins)."""
    from openai_workers_ai.adapters.local_jobs import SQLiteJobs
    from openai_workers_ai.ports import Job

    path = tmp_path / "jobs.sqlite3"
    store = SQLiteJobs(path)
    for i in range(JOBS):
        store.put(Job("test.once", str(i)), 0)
    log = tmp_path / "ran.txt"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        counts = pool.starmap(run_jobs, [(str(path), me, 2, str(log)) for me in range(2)])
    lines = [line.split() for line in log.read_text().splitlines()]
    assert sorted(int(job) for job, _ in lines) == list(range(JOBS))  # each once, none twice, none lost
    assert sum(counts) == JOBS and all(counts), f"both processes ran jobs: {counts}"
    assert len(store) == 0


def test_processes_starting_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = str(tmp_path / "d1.sqlite3")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(migrate, [(path, str(cli.MIGRATIONS), me) for me in range(4)])
    names = sorted(p.name for p in cli.MIGRATIONS.glob("*.sql"))
    assert sorted(name for applied in results for name in applied) == names
    recorded = [row[0] for row in SQLiteD1(path).conn.execute("SELECT name FROM d1_migrations ORDER BY id")]
    assert recorded == names


def test_processes_opening_a_new_file_at_once_all_get_it_in_wal_mode(tmp_path: Path) -> None:
    # Putting a new file in WAL mode needs it to itself, and SQLite refuses a second process at once
    # ("database is locked", without its busy timeout): two server processes starting on a new data
    # folder failed so (in CI, on the vector index's file).
    spawn = multiprocessing.get_context("spawn")
    barrier, failures, rounds = spawn.Barrier(4), spawn.Queue(), 40
    processes = [spawn.Process(target=open_new_files, args=(str(tmp_path), barrier, rounds, failures))
                 for _ in range(4)]
    for process in processes:
        process.start()
    try:
        assert [failures.get(timeout=60) for _ in processes] == [0] * 4
    finally:
        for process in processes:
            process.join(10)
    assert {SQLiteD1(tmp_path / f"{n}.sqlite3").conn.execute("PRAGMA journal_mode").fetchone()[0]
            for n in range(rounds)} == {"wal"}


# ---- the supervisor -------------------------------------------------------------------------


def _supervisor(tmp_path: Path, behaviour: str) -> tuple[subprocess.Popen[str], Path]:
    record = tmp_path / "started.txt"
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from openai_workers_ai import processes
        from tests.process_targets import Options, stand_in
        processes.STARTUP_GRACE = {GRACE}
        sys.exit(processes.supervise(stand_in, Options({free_port()}, Path({str(record)!r}), {behaviour!r}), 2))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, text=True, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"})
    return proc, record


def _started(record: Path, count: int, timeout: float = 30) -> list[tuple[int, int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = record.read_text().splitlines() if record.exists() else []
        if len(lines) >= count:
            return [(int(pid), int(port)) for pid, port in (line.split() for line in lines)]
        time.sleep(0.05)
    raise AssertionError(f"{count} processes did not start")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_supervisor_replaces_a_process_that_ends_and_stops_all_on_sigterm(tmp_path: Path) -> None:
    proc, record = _supervisor(tmp_path, "first-crashes-later")
    try:
        started = _started(record, 3)  # two, then the replacement of the one that ended
        assert len({port for _, port in started}) == 1  # all on the one port
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert "exited with 4; starting another" in proc.stderr.read()  # type: ignore[union-attr]
        deadline = time.monotonic() + 10
        while not all(_gone(pid) for pid, _ in started) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(_gone(pid) for pid, _ in started)
    finally:
        proc.kill()


def test_supervisor_gives_up_when_a_process_cannot_start(tmp_path: Path) -> None:
    proc, _ = _supervisor(tmp_path, "crash-at-start")
    try:
        assert proc.wait(timeout=60) == 1
        assert "while starting; stopping" in proc.stderr.read()  # type: ignore[union-attr]
    finally:
        proc.kill()


def test_a_taken_port_is_a_clear_error() -> None:
    from openai_workers_ai.processes import listening_sockets

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit, match="Cannot listen on 127.0.0.1"):
            listening_sockets("127.0.0.1", taken.getsockname()[1], 2)


# ---- the real server with two processes ------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_serve_with_two_workers_shares_the_port_and_the_data(tmp_path: Path) -> None:
    key = "sk-workers"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.update(ACCESS_TOKEN=key)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2",
                    "--ai", "simulator"], env, url + "/health", cwd=tmp_path)
    try:
        assert "processes: 2" in output(server)
        workers = [pid for pid in procfs.children(server.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2
        headers = {"authorization": f"Bearer {key}"}
        # Many kept-alive connections: the kernel spreads them over both processes.
        clients = [httpx.Client(base_url=url, headers=headers) for _ in range(16)]
        try:
            ids = []
            for i, client in enumerate(clients):
                r = client.post("/v1/files", data={"purpose": "vision"}, files={"file": (f"f{i}.txt", f"file {i}".encode())})
                assert r.status_code == 200, r.text
                ids.append(r.json()["id"])
            serving = {procfs.holder(workers, inode) for inode in procfs.accepted_on(port)}
            assert serving == set(workers), "both processes serve"
            # What one process stored, every process reads: SQLite file and folder are shared.
            for i, client in enumerate(clients):
                listed = {f["id"] for f in client.get("/v1/files").json()["data"]}
                assert set(ids) <= listed
                assert client.get(f"/v1/files/{ids[-1 - i]}/content").content == f"file {15 - i}".encode()
        finally:
            for client in clients:
                client.close()
    finally:
        stop(server)
    assert server.returncode == 0
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in workers)


# ---- background work with two processes, end to end -----------------------------------------


class _RecordingUpstream:
    """The simulator's Workers AI REST API, recording each model call's body and the server process that
    made it (found while the call's connection is open: its socket, in ``/proc``, is that process's)."""

    def __init__(self) -> None:
        self.app = create_rest_app(Simulator(), token="t")
        self.workers: list[int] = []
        self.calls: list[tuple[bytes, int | None]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or "/ai/run/" not in scope["path"]:
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        inode = procfs.inode_of(scope["client"][1], scope["server"][1])
        self.calls.append((body, procfs.holder(self.workers, inode)))
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return dict(await receive())  # what comes next (a disconnect), as it comes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@contextmanager
def _served_in_a_thread(app: Any) -> Iterator[str]:
    """``tests.served.served`` in a thread of its own (the test drives a synchronous client meanwhile)."""
    started: queue.Queue[str] = queue.Queue()
    done = threading.Event()

    async def serve() -> None:
        async with served(app) as url:
            started.put(url)
            while not done.is_set():
                await asyncio.sleep(0.02)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield started.get(timeout=30)
    finally:
        done.set()
        thread.join(timeout=30)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client marks the Assistants API deprecated
def test_background_jobs_run_once_each_with_two_workers(tmp_path: Path) -> None:
    """Background Responses and Assistants runs made through two server processes are each generated
    exactly once, and a generated image's expiry job runs too.

    Why it holds: a job is data put in the data folder's jobs file (``jobs.sqlite3``) by the
    :class:`~openai_workers_ai.jobs.InProcessJobs` of the process that served the request creating it;
    each process's runner takes due jobs from the file with one conditional UPDATE, which one process wins
    (``test_job_runners_in_processes_sharing_the_jobs_file_run_each_job_once``); a failed job is retried
    (at least once delivery, as a Queue redelivers in the Worker), and every handler first claims its row
    with one conditional statement in the shared SQLite file (``responses.claim``, a run's ``queued →
    in_progress`` transition), which one caller wins (WAL, busy timeout:
    ``test_each_job_is_claimed_once_by_processes_racing_for_it``).

    Proven here end to end: the server runs ``--ai rest`` against the simulator's REST API served by this
    test, which records every model call and which server process made it: each prompt reached the model
    once, both processes executed jobs, and every response and run ended ``completed`` with one message."""
    key = "sk-jobs"
    upstream = _RecordingUpstream()
    with _served_in_a_thread(upstream) as upstream_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
        env.update(ACCESS_TOKEN=key, IMAGE_URL_TTL="3", LIVE_CATALOG_TTL="0", CLOUDFLARE_ACCOUNT_ID="acc",
                   CLOUDFLARE_API_TOKEN="t", CLOUDFLARE_API_BASE_URL=upstream_url)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data = tmp_path / "data"
        server = start(["serve", "--port", str(port), "--data-dir", str(data), "--workers", "2", "--ai", "rest"],
                       env, url + "/health", cwd=tmp_path)
        try:
            upstream.workers = [pid for pid in procfs.children(server.pid)
                                if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
            assert len(upstream.workers) == 2
            bucket = FolderR2(data / "r2")  # the servers' R2 folder, read as they read it

            def stored_images() -> list[str]:
                return [o.key for o in asyncio.run(bucket.list("images/"))]

            image = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0).images.generate(
                prompt="a lighthouse", model="dall-e-2", response_format="url")
            assert image.data is not None and image.data[0].url and len(stored_images()) == 1
            made = _make_background_work(url, key, upstream)
            for client, kind, tag, obj_id, thread_id in made:
                _check_done_once(client, kind, tag, obj_id, thread_id)
            for client in {id(client): client for client, *_ in made}.values():
                client.close()
            deadline = time.monotonic() + 10
            while stored_images() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stored_images() == [], "the image's expiry job did not run"
        finally:
            stop(server)
        log = output(server)
    assert server.returncode == 0
    assert "Traceback" not in log and "retrying" not in log and "dropped" not in log, log
    tags = [tag for _, _, tag, _, _ in made]
    reached = {tag: [pid for body, pid in upstream.calls if tag.encode() in body] for tag in tags}
    assert {tag: len(pids) for tag, pids in reached.items()} == dict.fromkeys(tags, 1)  # each generated once
    assert set(upstream.workers) == {pids[0] for pids in reached.values()}, "both processes ran jobs"
    assert len(upstream.calls) == len(tags) + 1  # and nothing else called the model but the image itself


def _make_background_work(url: str, key: str, upstream: _RecordingUpstream) -> list[tuple[OpenAI, str, str, str, str]]:
    """Background responses and runs, each through a client (a connection) of its own, so the kernel
    spreads them over both processes; more rounds while one process has run none (rarely needed)."""
    first = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)
    assistant = first.beta.assistants.create(model="gpt-4o-mini", instructions="Be brief.")
    made: list[tuple[OpenAI, str, str, str, str]] = []
    while len(made) < 40:
        for _ in range(6):
            client = OpenAI(base_url=url + "/v1", api_key=key, max_retries=0)
            tag = f"tag-r{len(made):02d}"
            response = client.responses.create(model="gpt-4o-mini", input=f"echo: {tag}", background=True)
            assert response.status in ("queued", "in_progress", "completed")
            made.append((client, "response", tag, response.id, ""))
            tag = f"tag-r{len(made):02d}"
            run = client.beta.threads.create_and_run(
                assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": f"echo: {tag}"}]})
            made.append((client, "run", tag, run.id, run.thread_id))
        deadline = time.monotonic() + 10
        while len(upstream.calls) < len(made) + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        if len({pid for _, pid in upstream.calls[1:]}) == 2:  # the first call: the image
            break
    return made


def _check_done_once(client: OpenAI, kind: str, tag: str, obj_id: str, thread_id: str) -> None:
    """Polled until it ends: ``completed``, with exactly one reply (one output message, or one
    ``message_creation`` step and one assistant message) saying ``tag``."""
    deadline = time.monotonic() + 10
    if kind == "response":
        response = client.responses.retrieve(obj_id)
        while response.status in ("queued", "in_progress") and time.monotonic() < deadline:
            time.sleep(0.05)
            response = client.responses.retrieve(obj_id)
        assert response.status == "completed", response
        assert [item.type for item in response.output] == ["message"] and response.output_text == tag
        assert len(client.responses.input_items.list(obj_id).data) == 1
        return
    run = client.beta.threads.runs.retrieve(obj_id, thread_id=thread_id)
    while run.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
        run = client.beta.threads.runs.retrieve(obj_id, thread_id=thread_id)
    assert run.status == "completed", run
    steps = client.beta.threads.runs.steps.list(obj_id, thread_id=thread_id)
    assert [step.type for step in steps.data] == ["message_creation"]
    messages = client.beta.threads.messages.list(thread_id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"]
    reply = messages[1].content[0]
    assert reply.type == "text" and reply.text.value == tag and messages[1].run_id == obj_id


def test_workers_option() -> None:
    assert cli.worker_count("3") == 3
    assert cli.worker_count("auto") == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "many"):
        with pytest.raises(Exception, match="positive number or auto"):
            cli.worker_count(bad)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--workers", "0"])
