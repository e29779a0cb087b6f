"""Background responses: queued → in_progress → done through the job port; redelivery, cancel races,
deadlines, and faults injected into D1, R2 and Workers AI at each step."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.context import AppContext
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.jobs import InProcessJobs, execute
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends, Job
from openai_workers_ai.repositories import responses as responses_repo
from openai_workers_ai.runner import responses as runner
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .conftest import KEY, Clock
from .openapi import assert_matches
from .responses_util import sse_events

LLAMA = "@cf/meta/llama-3.1-8b-instruct"



@pytest.fixture
def runner_jobs(clock: Clock) -> InProcessJobs:
    return InProcessJobs(clock)


@pytest.fixture
def app(simulator: Simulator, db: SQLiteD1, bucket: FolderR2, runner_jobs: InProcessJobs, clock: Clock):  # noqa: ANN201
    return create_app(Backends(ai=simulator, db=db, bucket=bucket, jobs=runner_jobs),
                      Settings(access_token=(KEY,)), clock=clock)


@pytest.fixture
def ctx(app) -> AppContext:  # noqa: ANN001
    context: AppContext = app.state.ctx
    return context


async def queue(client: httpx.AsyncClient, text: str = "echo: later", **body: Any) -> dict[str, Any]:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": text, "background": True, **body})
    assert r.status_code == 200, r.text
    response: dict[str, Any] = r.json()
    assert_matches(response, "Response")
    return response


async def status(client: httpx.AsyncClient, response_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/responses/{response_id}")
    assert r.status_code == 200, r.text
    assert_matches(r.json(), "Response")
    body: dict[str, Any] = r.json()
    return body


async def count(db: SQLiteD1, sql: str) -> int:
    row = await db.prepare(f"SELECT COUNT(*) AS n FROM {sql}").first()
    assert row is not None
    return int(row["n"])


async def test_queued_then_generated_by_its_job(client: httpx.AsyncClient, ctx: AppContext,
                                                runner_jobs: InProcessJobs) -> None:
    response = await queue(client)
    assert response["status"] == "queued" and response["background"] is True and response["output"] == []
    assert (await status(client, response["id"]))["status"] == "queued"
    assert await runner_jobs.drain(ctx) == 1
    done = await status(client, response["id"])
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "later"
    assert done["completed_at"] is not None and done["usage"]["output_tokens"] == 1
    items = (await client.get(f"/v1/responses/{response['id']}/input_items")).json()
    assert [i["content"][0]["text"] for i in items["data"]] == ["echo: later"]


async def test_a_queued_response_keeps_its_request(client: httpx.AsyncClient, ctx: AppContext,
                                                   runner_jobs: InProcessJobs, simulator: Simulator) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {}}}}
    response = await queue(client, 'call:lookup {"q": 1}', model="@cf/meta/llama-4-scout-17b-16e-instruct",
                           tools=[tool], instructions="Use tools.", max_output_tokens=50, metadata={"a": "b"})
    await runner_jobs.drain(ctx)
    done = await status(client, response["id"])
    assert done["status"] == "completed" and done["output"][0]["type"] == "function_call"
    assert done["tools"][0]["strict"] is None and done["metadata"] == {"a": "b"} and done["max_output_tokens"] == 50
    inputs = simulator.calls[-1][1]
    assert inputs["messages"][0] == {"role": "system", "content": "Use tools."} and inputs["max_tokens"] == 50


async def test_a_redelivered_job_does_not_generate_twice(client: httpx.AsyncClient, ctx: AppContext,
                                                         runner_jobs: InProcessJobs, simulator: Simulator) -> None:
    response = await queue(client)
    job = Job(runner.JOB_KIND, response["id"], None)
    await runner_jobs.drain(ctx)
    calls = len(simulator.calls)
    await execute(ctx, job)  # the Queue delivers it again
    await execute(ctx, job)
    assert len(simulator.calls) == calls
    assert len((await status(client, response["id"]))["output"]) == 1


async def test_cancel_before_it_runs(client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs,
                                     simulator: Simulator) -> None:
    response = await queue(client)
    r = await client.post(f"/v1/responses/{response['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert_matches(r.json(), "Response")
    await runner_jobs.drain(ctx)
    assert simulator.calls == []
    assert (await status(client, response["id"]))["status"] == "cancelled"
    again = await client.post(f"/v1/responses/{response['id']}/cancel")  # idempotent
    assert again.json()["status"] == "cancelled"


async def test_cancel_wins_a_race_with_completion(client: httpx.AsyncClient, ctx: AppContext,
                                                  runner_jobs: InProcessJobs, simulator: Simulator,
                                                  db: SQLiteD1, monkeypatch: pytest.MonkeyPatch) -> None:
    response = await queue(client)
    real = simulator.run

    async def cancelled_while_generating(model: str, inputs: dict[str, Any], options: Any = None) -> Any:
        r = await client.post(f"/v1/responses/{response['id']}/cancel")
        assert r.json()["status"] == "cancelled"
        return await real(model, inputs, options)

    monkeypatch.setattr(simulator, "run", cancelled_while_generating)
    await runner_jobs.drain(ctx)
    final = await status(client, response["id"])
    assert final["status"] == "cancelled" and final["output"] == [] and final["completed_at"] is None
    assert await count(db, "items WHERE role = 'output'") == 0  # the finished output was discarded


async def test_completion_first_then_cancel_changes_nothing(client: httpx.AsyncClient, ctx: AppContext,
                                                            runner_jobs: InProcessJobs) -> None:
    response = await queue(client)
    await runner_jobs.drain(ctx)
    r = await client.post(f"/v1/responses/{response['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_only_background_responses_are_cancelled(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "hi"})
    error = await client.post(f"/v1/responses/{r.json()['id']}/cancel")
    assert error.status_code == 400 and "synchronous" in error.json()["error"]["message"]


async def test_a_lost_job_is_failed_at_its_deadline_on_read_or_by_the_cron(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, clock: Clock,
        backends: Backends) -> None:
    first, second = await queue(client), await queue(client)
    runner_jobs._heap.clear()  # the messages are lost
    clock.now += runner.DEADLINE - 1
    assert (await status(client, first["id"]))["status"] == "queued"
    clock.now += 1
    failed = await status(client, first["id"])
    assert failed["status"] == "failed" and "deadline" in failed["error"]["message"]
    totals = await run_scheduled(ctx.backends, ctx.settings, int(clock.now))
    assert totals["responses_expired"] == 1
    assert (await status(client, second["id"]))["status"] == "failed"


async def test_a_model_failure_is_stored_as_failed(client: httpx.AsyncClient, ctx: AppContext,
                                                   runner_jobs: InProcessJobs) -> None:
    response = await queue(client, "fail:503")
    await runner_jobs.drain(ctx)
    failed = await status(client, response["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"


async def test_d1_failing_at_the_last_step_leaves_no_half_written_response(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, db: SQLiteD1, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    response = await queue(client)
    real_batch = db.batch

    async def failing_batch(statements: Any) -> None:
        raise UpstreamError("D1_ERROR: simulated outage")

    monkeypatch.setattr(db, "batch", failing_batch)
    await runner_jobs.drain(ctx)  # retried, then dropped: every attempt fails
    monkeypatch.setattr(db, "batch", real_batch)
    assert await count(db, "items WHERE role = 'output'") == 0
    assert (await status(client, response["id"]))["status"] == "in_progress"
    clock.now += runner.DEADLINE
    assert (await status(client, response["id"]))["status"] == "failed"  # never stuck


async def test_r2_failing_while_staging_a_large_item(client: httpx.AsyncClient, bucket: FolderR2, db: SQLiteD1,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing_put(*args: Any, **kwargs: Any) -> Any:
        raise UpstreamError("R2 is down")

    monkeypatch.setattr(bucket, "put", failing_put)
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: " + "z" * 70_000})
    assert r.status_code == 502
    assert await count(db, "responses") == 0 and await count(db, "items") == 0


async def test_d1_failing_at_the_end_of_a_foreground_stream(client: httpx.AsyncClient, db: SQLiteD1,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing_batch(statements: Any) -> None:
        raise UpstreamError("D1_ERROR: simulated outage")

    monkeypatch.setattr(db, "batch", failing_batch)
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: x", "stream": True}))
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert await count(db, "responses") == 0 and await count(db, "items") == 0


async def test_background_needs_a_queue(tmp_path: Any, simulator: Simulator, db: SQLiteD1) -> None:
    app = create_app(Backends(ai=simulator, db=db, bucket=FolderR2(tmp_path)), Settings(access_token=(KEY,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        r = await c.post("/v1/responses", json={"model": LLAMA, "input": "hi", "background": True})
    assert r.status_code == 400 and r.json()["error"]["param"] == "background"


async def test_background_streaming_runs_inline_and_is_stored(client: httpx.AsyncClient, db: SQLiteD1,
                                                              runner_jobs: InProcessJobs) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: now", "background": True,
                                                 "stream": True})
    events = sse_events(r)
    final = events[-1]["response"]
    assert final["background"] is True and final["status"] == "completed" and len(runner_jobs) == 0
    stored = await status(client, final["id"])
    assert stored["status"] == "completed" and stored["output"] == final["output"]


async def test_a_deleted_previous_response_fails_the_queued_one(client: httpx.AsyncClient, ctx: AppContext,
                                                                runner_jobs: InProcessJobs) -> None:
    first = (await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: a"})).json()
    queued = await queue(client, previous_response_id=first["id"])
    await client.delete(f"/v1/responses/{first['id']}")
    await runner_jobs.drain(ctx)
    assert (await status(client, queued["id"]))["status"] == "failed"


async def test_claim_is_one_conditional_statement(ctx: AppContext, client: httpx.AsyncClient) -> None:
    response = await queue(client)
    assert await responses_repo.claim(ctx.backends.db, response["id"], 0) is True
    assert await responses_repo.claim(ctx.backends.db, response["id"], 0) is False
