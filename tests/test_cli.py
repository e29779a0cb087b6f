"""``cli.py``: environment, backend choice and the loopback rule (without binding a socket)."""

from __future__ import annotations

import argparse
import asyncio
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from openai_workers_ai import cli
from openai_workers_ai.adapters.local import RestAI
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ACCESS_TOKEN", "ADMIN_TOKENS", "AUTH_DISABLED", "CLOUDFLARE_ACCOUNT_ID",
                 "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_API_BASE_URL", "DEFAULT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_load_environment_reads_dev_vars_overlaid_by_env(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    (tmp_path / ".dev.vars").write_text("ACCESS_TOKEN=from-file\nDEFAULT_MODEL=@cf/file/model\n")
    clean_env.setenv("DEFAULT_MODEL", "@cf/env/model")
    env = cli.load_environment(tmp_path)
    assert env["ACCESS_TOKEN"] == "from-file"
    assert env["DEFAULT_MODEL"] == "@cf/env/model"


def test_load_environment_without_dev_vars(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ACCESS_TOKEN", "from-env")
    assert cli.load_environment(tmp_path)["ACCESS_TOKEN"] == "from-env"


def test_choose_ai_rest_with_credentials() -> None:
    settings = Settings(cloudflare_account_id="acc", cloudflare_api_token="secret-token")
    ai, note = cli.choose_ai(None, settings, {"CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:9/"})
    assert isinstance(ai, RestAI)
    assert ai.url == "http://127.0.0.1:9/client/v4/accounts/acc/ai"
    assert "REST" in note and "acc" in note and "secret-token" not in note
    ai, _ = cli.choose_ai(None, settings, {})
    assert isinstance(ai, RestAI) and ai.url.startswith("https://api.cloudflare.com/")


def test_choose_ai_simulator_without_credentials_or_when_asked() -> None:
    ai, note = cli.choose_ai(None, Settings(cloudflare_account_id="acc"), {})
    assert isinstance(ai, Simulator) and "simulator" in note
    ai, _ = cli.choose_ai("simulator", Settings(cloudflare_account_id="a", cloudflare_api_token="t"), {})
    assert isinstance(ai, Simulator)
    with pytest.raises(SystemExit):
        cli.choose_ai("rest", Settings(), {})


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_without_token_serves_without_auth(host: str) -> None:
    settings, note = cli.local_settings({}, host)
    assert settings.auth_disabled and "off" in note


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.com"])
def test_non_loopback_without_token_is_refused(host: str) -> None:
    with pytest.raises(SystemExit, match="ACCESS_TOKEN"):
        cli.local_settings({}, host)
    with pytest.raises(SystemExit):  # AUTH_DISABLED cannot talk it round
        cli.local_settings({"AUTH_DISABLED": "true"}, host)


def test_with_a_token_auth_is_on_everywhere() -> None:
    settings, note = cli.local_settings({"ACCESS_TOKEN": "a,b", "AUTH_DISABLED": "1"}, "0.0.0.0")
    assert settings.access_token == ("a", "b") and not settings.auth_disabled
    assert "2 key(s)" in note


def test_serve_refuses_before_binding(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.chdir(tmp_path)
    args = argparse.Namespace(host="0.0.0.0", port=1, data_dir=str(tmp_path / "data"), ai=None, log_level="warning")
    with pytest.raises(SystemExit, match="non-loopback"):
        cli.serve(args)
    assert not (tmp_path / "data").exists()


def test_build_local_app_applies_migrations(tmp_path: Path) -> None:
    app = cli.build_local_app(Settings(access_token=("k",)), tmp_path / "data", Simulator())
    import sqlite3

    with sqlite3.connect(tmp_path / "data" / "d1.sqlite3") as conn:
        applied = [row[0] for row in conn.execute("SELECT name FROM d1_migrations ORDER BY id")]
    assert applied == sorted(p.name for p in cli.MIGRATIONS.glob("*.sql")) and applied
    assert app.state.ctx.settings.access_token == ("k",)


def test_parser_rejects_unknown_backend() -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--ai", "openai"])


def test_vocabulary_import_stores_a_checked_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import gzip

    from openai_workers_ai.adapters.local import FolderR2

    from .vocab import tiktoken_file

    (tmp_path / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(tiktoken_file("o200k_base")))
    cli.main(["vocabulary", str(tmp_path / "o200k_base.tiktoken.gz"), "--data-dir", str(tmp_path / "data")])
    assert "o200k_base: stored as vocabularies/o200k_base.tiktoken" in capsys.readouterr().out
    stored = asyncio.run(FolderR2(tmp_path / "data" / "r2").head("vocabularies/o200k_base.tiktoken"))
    assert stored is not None and stored.size == len(tiktoken_file("o200k_base"))
    (tmp_path / "other.tiktoken").write_bytes(b"abc 0\n")
    with pytest.raises(SystemExit, match="none of OpenAI's"):
        cli.main(["vocabulary", str(tmp_path / "other.tiktoken"), "--data-dir", str(tmp_path / "data")])


async def test_process_lifetime_runs_the_jobs_and_closes_the_http_clients(tmp_path: Path) -> None:
    from openai_workers_ai.adapters.local import FolderR2, HttpFetcher, SQLiteD1
    from openai_workers_ai.app import create_app
    from openai_workers_ai.jobs import InProcessJobs
    from openai_workers_ai.ports import Backends

    ai, fetcher, jobs = RestAI("a", "t"), HttpFetcher(), InProcessJobs()
    sessions = [ai.session(), fetcher.session()]  # made on first use, in this loop
    app = create_app(Backends(ai=ai, db=SQLiteD1(), bucket=FolderR2(tmp_path), fetcher=fetcher, jobs=jobs), Settings())
    async with cli.process_lifetime(app.state.ctx):
        assert not any(s.closed for s in sessions)
        ran: list[str] = []
        from openai_workers_ai import jobs as jobs_module
        from openai_workers_ai.ports import Job

        async def record(ctx: object, job: Job) -> None:
            ran.append(job.id)

        jobs_module.HANDLERS["test.record"] = record
        try:
            await jobs.send(Job("test.record", "x"))
            for _ in range(100):
                if ran:
                    break
                await asyncio.sleep(0.01)
        finally:
            del jobs_module.HANDLERS["test.record"]
        assert ran == ["x"]  # the runner runs inside the lifetime
    assert all(s.closed for s in sessions)
    plain = create_app(Backends(ai=Simulator(), db=SQLiteD1(), bucket=FolderR2(tmp_path)), Settings())
    async with cli.process_lifetime(plain.state.ctx):
        pass  # backends without pools to close, and no job runner


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise and /proc are Linux's")
def test_huge_pages_back_a_server_process_memory_where_linux_allows() -> None:
    """``huge_pages`` (each server process, once started) leaves a process's objects as they were; on
    Linux 6.1+ with transparent huge pages not ``never``, its heap is then mapped with 2 MiB pages."""
    code = ("from openai_workers_ai.cli import huge_pages\n"
            "data = [str(i) * 10 for i in range(400_000)]\n"
            "huge_pages()\n"
            "assert data[123_456] == '123456' * 10 and len(data) == 400_000\n"
            "print(sum(int(line.split()[1]) for line in open('/proc/self/smaps') if line.startswith('AnonHugePages')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    release = tuple(int(part) for part in re.findall(r"\d+", platform.release())[:2])
    if release >= (6, 1) and thp.exists() and "[never]" not in thp.read_text():
        assert int(done.stdout) > 0
