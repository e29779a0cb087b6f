"""The local server runs background jobs itself: a generated image's expiry job deletes it on time; a job
still queued when the server stops (or is killed) runs once it is started again; a background response or
an Assistants run whose server was killed mid-generation is taken over after a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import openai
import pytest

from openai_workers_ai.adapters.local import FolderR2
from openai_workers_ai.jobs import CONCURRENCY

from .conftest import E2E_KEY, free_port, start, stop


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A server whose image URLs live three seconds (long enough to be seen stored on a slow machine);
    its base URL and data folder."""
    data = tmp_path_factory.mktemp("jobs-data")
    args, env, url = server(data, IMAGE_URL_TTL="3")
    proc = start(args, env, url + "/health", cwd=data)
    yield url, data
    stop(proc)


def test_an_image_is_deleted_by_the_servers_job_runner(short_lived: tuple[str, Path]) -> None:
    url, data = short_lived
    client = openai.OpenAI(base_url=url + "/v1", api_key=E2E_KEY)
    image = client.images.generate(prompt="a lighthouse", model="dall-e-2", response_format="url")
    assert image.data is not None and image.data[0].url
    bucket = FolderR2(data / "r2")  # the server's R2 folder, read as the server reads it

    def stored() -> list[str]:
        return [o.key for o in asyncio.run(bucket.list("images/"))]

    assert len(stored()) == 1
    deadline = time.monotonic() + 10
    while stored() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored() == [], "the expiry job did not run"
    assert httpx.get(image.data[0].url).status_code == 404


def server(data: Path, **env: str) -> tuple[list[str], dict[str, str], str]:
    """The arguments, environment and URL of a server on a free port, on the simulator, keeping its data in
    ``data`` (the official clients' key its one)."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    environ.update(ACCESS_TOKEN=E2E_KEY, **env)
    return (["serve", "--port", str(port), "--data-dir", str(data), "--ai", "simulator"], environ,
            f"http://127.0.0.1:{port}")


def ended(client: openai.OpenAI, response_id: str, within: float) -> openai.types.responses.Response:
    """The response once it is neither queued nor in progress (or as it is after ``within`` seconds)."""
    response = client.responses.retrieve(response_id)
    deadline = time.monotonic() + within
    while response.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.responses.retrieve(response_id)
    return response


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_a_background_response_queued_when_the_server_ends_completes_after_a_restart(tmp_path: Path,
                                                                                      how: str) -> None:
    """The server's jobs are in its data folder (``jobs.sqlite3``): a background response whose job had not
    run yet when the server was stopped (SIGTERM) or killed (SIGKILL) is generated once it is started again
    on the same folder. Its job waits behind as many slow ones as the server runs at once."""
    args, env, url = server(tmp_path / "data")
    proc = start(args, env, url + "/health", cwd=tmp_path)
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key=E2E_KEY, max_retries=0)
        busy = [client.responses.create(model="gpt-4o-mini", input="wait:60 busy", background=True).id
                for _ in range(CONCURRENCY)]
        deadline = time.monotonic() + 10
        while any(client.responses.retrieve(i).status == "queued" for i in busy) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {client.responses.retrieve(i).status for i in busy} == {"in_progress"}  # every slot taken
        waiting = client.responses.create(model="gpt-4o-mini", input="echo: after the restart", background=True)
        time.sleep(0.5)
        assert client.responses.retrieve(waiting.id).status == "queued"
    finally:
        if how == "killed":
            proc.kill()
            proc.wait(10)
        else:
            stop(proc)
    assert proc.returncode == -(signal.SIGKILL if how == "killed" else signal.SIGTERM)
    with closing(sqlite3.connect(tmp_path / "data" / "jobs.sqlite3")) as jobs:
        claimed, free = jobs.execute("SELECT count(claim), count(*) - count(claim) FROM jobs").fetchone()
    # stopped: the jobs it was running given back (due at once); killed: theirs until their leases lapse
    assert (claimed, free) == ((CONCURRENCY, 1) if how == "killed" else (0, CONCURRENCY + 1))
    proc = start(args, env, url + "/health", cwd=tmp_path)
    try:
        response = ended(client, waiting.id, within=10)
        assert response.status == "completed" and response.output_text == "after the restart"
    finally:
        stop(proc)


def test_a_background_response_whose_server_was_killed_mid_generation_completes_after_a_restart(
        tmp_path: Path) -> None:
    """A server killed (SIGKILL) while it generates a background response leaves it ``in_progress``, its job
    claimed in ``jobs.sqlite3``: started again on the same folder, the job is delivered again once its lease
    lapses, finds the response's liveness mark stale, takes it over and generates it — once.

    What time would do is done to the files instead of waited for: the killed process's lease (120 s) is
    made to lapse, and the response's liveness mark (``updated_at``, stale after 120 s) made old."""
    data = tmp_path / "data"
    args, env, url = server(data)
    proc = start(args, env, url + "/health", cwd=tmp_path)
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key=E2E_KEY, max_retries=0)
        response = client.responses.create(model="gpt-4o-mini", input="wait:2 echo: survived", background=True)
        deadline = time.monotonic() + 10
        while client.responses.retrieve(response.id).status == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.responses.retrieve(response.id).status == "in_progress"  # the model is answering …
    finally:
        proc.kill()  # … when the server is killed
        proc.wait(10)
    with closing(sqlite3.connect(data / "jobs.sqlite3")) as jobs, jobs:
        assert jobs.execute("UPDATE jobs SET due = 0 WHERE claim IS NOT NULL").rowcount == 1  # its lease lapsed
    with closing(sqlite3.connect(data / "d1.sqlite3")) as d1, d1:
        row = d1.execute("SELECT status, claim FROM responses WHERE id = ?", (response.id,)).fetchone()
        assert row[0] == "in_progress" and row[1] is not None
        assert d1.execute("UPDATE responses SET updated_at = updated_at - 600 WHERE id = ?",
                          (response.id,)).rowcount == 1  # its mark not refreshed for ten minutes
    proc = start(args, env, url + "/health", cwd=tmp_path)
    try:
        done = ended(client, response.id, within=20)
        assert done.status == "completed" and done.output_text == "survived" and len(done.output) == 1
    finally:
        stop(proc)
    with closing(sqlite3.connect(data / "jobs.sqlite3")) as jobs:
        assert jobs.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the official client's Assistants API
def test_an_assistants_run_whose_server_was_killed_mid_execution_completes_after_a_restart(
        tmp_path: Path) -> None:
    """The run's counterpart of the test above, with the official client's Assistants API: a server killed
    (SIGKILL) while it executes a run leaves it ``in_progress``; started again on the same folder, the
    run's job is delivered again, takes the run over and executes it — once: one reply, one step."""
    data = tmp_path / "data"
    args, env, url = server(data)
    proc = start(args, env, url + "/health", cwd=tmp_path)
    try:
        client = openai.OpenAI(base_url=url + "/v1", api_key=E2E_KEY, max_retries=0)
        assistant = client.beta.assistants.create(model="gpt-4o-mini", instructions="Be brief.")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "wait:2 echo: survived"}])
        run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        deadline = time.monotonic() + 10
        while (client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "queued"
               and time.monotonic() < deadline):
            time.sleep(0.05)
        assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"
    finally:
        proc.kill()  # … while the model answers
        proc.wait(10)
    with closing(sqlite3.connect(data / "jobs.sqlite3")) as jobs, jobs:
        assert jobs.execute("UPDATE jobs SET due = 0 WHERE claim IS NOT NULL").rowcount == 1  # its lease lapsed
    with closing(sqlite3.connect(data / "d1.sqlite3")) as d1, d1:
        row = d1.execute("SELECT status, claim FROM runs WHERE id = ?", (run.id,)).fetchone()
        assert row[0] == "in_progress" and row[1] is not None
        assert d1.execute("UPDATE runs SET updated_at = updated_at - 300 WHERE id = ?",
                          (run.id,)).rowcount == 1  # its mark not refreshed for five minutes
    proc = start(args, env, url + "/health", cwd=tmp_path)
    try:
        done = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=50)
        assert done.status == "completed"
        replies = client.beta.threads.messages.list(thread.id, order="asc").data
        assert [m.role for m in replies] == ["user", "assistant"]
        text = replies[1].content[0]
        assert text.type == "text" and text.text.value == "survived"
        steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        assert [(s.type, s.status) for s in steps] == [("message_creation", "completed")]
    finally:
        stop(proc)
    with closing(sqlite3.connect(data / "jobs.sqlite3")) as jobs:
        assert jobs.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0
