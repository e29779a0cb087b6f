"""``serve --workers N``: several processes on one port, sharing the SQLite file and the data folder.

The supervisor (``processes.supervise``) with stand-in targets; SQLite under several processes at
once (WAL, busy timeout, ``BEGIN IMMEDIATE``); and the real server with two processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from openai_workers_ai import cli
from openai_workers_ai.adapters.local import SQLiteD1

from .conftest import ROOT
from .e2e.conftest import free_port, output, start, stop
from .process_targets import GRACE, JOBS, claim_jobs, migrate

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


def test_processes_starting_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = str(tmp_path / "d1.sqlite3")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(migrate, [(path, str(cli.MIGRATIONS), me) for me in range(4)])
    names = sorted(p.name for p in cli.MIGRATIONS.glob("*.sql"))
    assert sorted(name for applied in results for name in applied) == names
    recorded = [row[0] for row in SQLiteD1(path).conn.execute("SELECT name FROM d1_migrations ORDER BY id")]
    assert recorded == names


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


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _connections(pid: int) -> int:
    """Established TCP connections a process holds (sockets other than the listening one)."""
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            continue
    return count - 1


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
        workers = [pid for pid in _children(server.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2
        headers = {"authorization": f"Bearer {key}"}
        # Many kept-alive connections: the kernel spreads them over both processes.
        clients = [httpx.Client(base_url=url, headers=headers) for _ in range(16)]
        try:
            ids = []
            for i, client in enumerate(clients):
                r = client.post("/v1/files", data={"purpose": "user_data"}, files={"file": (f"f{i}.txt", f"file {i}".encode())})
                assert r.status_code == 200, r.text
                ids.append(r.json()["id"])
            assert all(_connections(pid) >= 1 for pid in workers), "both processes serve"
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


def test_workers_option() -> None:
    assert cli.worker_count("3") == 3
    assert cli.worker_count("auto") == len(os.sched_getaffinity(0))
    for bad in ("0", "-1", "many"):
        with pytest.raises(Exception, match="positive number or auto"):
            cli.worker_count(bad)
    with pytest.raises(SystemExit):
        cli.main(["serve", "--workers", "0"])
