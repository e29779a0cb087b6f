"""Background responses: queued → in_progress → done through the job port; redelivery, cancel races,
deadlines, and faults injected into D1, R2 and Workers AI at each step."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from openai_workers_ai import webhooks
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.auth import key_hash
from openai_workers_ai.context import AppContext
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.jobs import InProcessJobs, MemoryJobs, execute
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends, Job
from openai_workers_ai.repositories import responses as responses_repo
from openai_workers_ai.routes import responses as responses_route
from openai_workers_ai.runner import liveness
from openai_workers_ai.runner import responses as runner
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.types.responses import CreateResponse

from .conftest import KEY, Clock
from .held_calls import Held, held
from .openapi import assert_matches
from .responses_util import checked, left_before_it_began, obfuscated_kinds, sse_events
from .sse import post_and_leave
from .test_run_execution import FlakyD1

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


async def queue(client: httpx.AsyncClient, text: str | list[Any] = "echo: later", **body: Any) -> dict[str, Any]:
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


async def outputs(db: SQLiteD1) -> int:
    """Output items stored: rows of items, and items kept in their responses' rows
    (``migrations/0022_response_output_in_row.sql``)."""
    return await count(db, "items WHERE role = 'output'") + await count(db, "responses WHERE output_item IS NOT NULL")


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


async def test_a_queued_response_keeps_its_messages_in_its_row(client: httpx.AsyncClient, ctx: AppContext,
                                                               runner_jobs: InProcessJobs, db: SQLiteD1,
                                                               simulator: Simulator) -> None:
    """Its job reads the input from the row (``migrations/0021_response_input_in_row.sql``), and writes its answer
    there as it ends it (``0022``): no row of items."""
    response = await queue(client, "echo: kept")
    assert await count(db, "items") == 0
    row = await db.prepare("SELECT input_item FROM responses WHERE id = ?").bind(response["id"]).first()
    assert row is not None and json.loads(row["input_item"])["content"][0]["text"] == "echo: kept"
    await runner_jobs.drain(ctx)
    assert simulator.calls[-1][1]["messages"] == [{"role": "user", "content": "echo: kept"}]
    done = await status(client, response["id"])
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "kept"
    assert await count(db, "items") == 0
    kept = await db.prepare("SELECT output_item FROM responses WHERE id = ?").bind(response["id"]).first()
    assert kept is not None and json.loads(kept["output_item"]) == done["output"][0]
    nxt = (await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: next",
                                                    "previous_response_id": response["id"]})).json()
    assert nxt["status"] == "completed"
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: kept", "kept", "echo: next"]


async def test_a_cancelled_failed_or_streamed_background_response_keeps_its_input(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator) -> None:
    """Kept in its row whatever its end (cancelled before its job, failed by its model, streamed in its request and
    replayed): listed as its input item and referenced by its id (``msg_`` and the response's hex digits)."""
    cancelled = await queue(client, "echo: cancelled")
    assert (await client.post(f"/v1/responses/{cancelled['id']}/cancel")).json()["status"] == "cancelled"
    failed = await queue(client, "fail:500")
    await runner_jobs.drain(ctx)
    assert (await status(client, failed["id"]))["status"] == "failed"
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: streamed",
                                                                 "background": True, "stream": True}))
    streamed = events[-1]["response"]
    replayed = sse_events(await client.get(f"/v1/responses/{streamed['id']}", params={"stream": "true"}))
    assert replayed[-1]["response"]["output"] == streamed["output"] == (await status(client, streamed["id"]))["output"]
    for response, text in ((cancelled, "echo: cancelled"), (failed, "fail:500"), (streamed, "echo: streamed")):
        item_id = "msg_" + response["id"].removeprefix("resp_")
        listed = (await client.get(f"/v1/responses/{response['id']}/input_items")).json()["data"]
        assert [(i["id"], i["content"][0]["text"]) for i in listed] == [(item_id, text)]
        r = await client.post("/v1/responses", json={"model": LLAMA, "input": [
            {"type": "item_reference", "id": item_id}, {"role": "user", "content": "echo: next"}]})
        assert r.status_code == 200, r.text
        assert simulator.calls[-1][1]["messages"][0]["content"] == text
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: after",
                                                 "previous_response_id": streamed["id"]})
    assert r.status_code == 200, r.text
    assert [m["content"] for m in simulator.calls[-1][1]["messages"]] == ["echo: streamed", "streamed", "echo: after"]

async def test_a_queued_response_keeps_its_request(client: httpx.AsyncClient, ctx: AppContext,
                                                   runner_jobs: InProcessJobs, simulator: Simulator) -> None:
    tool = {"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {"q": {}}}}
    response = await queue(client, 'call:lookup {"q": 1}', model="@cf/meta/llama-4-scout-17b-16e-instruct",
                           tools=[tool], instructions="Use tools.", max_output_tokens=50, metadata={"a": "b"})
    await runner_jobs.drain(ctx)
    done = await status(client, response["id"])
    assert done["status"] == "completed" and done["output"][0]["type"] == "function_call"
    assert done["tools"][0]["strict"] is True and done["metadata"] == {"a": "b"} and done["max_output_tokens"] == 50
    inputs = simulator.calls[-1][1]
    assert "strict" not in inputs["tools"][0]["function"]  # echoed strict (OpenAI's default), called as sent
    assert inputs["messages"][0] == {"role": "system", "content": "Use tools."} and inputs["max_tokens"] == 50


async def test_a_queued_json_schema_without_strict_stays_loose(client: httpx.AsyncClient, ctx: AppContext,
                                                               runner_jobs: InProcessJobs) -> None:
    """A json_schema format sent without ``strict`` is echoed ``strict: true``, as OpenAI echoes it, but its schema
    is not held to the strict rules: nor by its job, which rebuilds the request from the echo."""
    loose = {"type": "object", "properties": {"name": {"type": "string"}}}  # no required, no additionalProperties
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "a person", "background": True,
                                                 "text": {"format": {"type": "json_schema", "name": "p",
                                                                     "schema": loose}}})
    response = r.json()
    assert response["text"]["format"]["strict"] is True
    await runner_jobs.drain(ctx)
    done = await status(client, response["id"])
    assert done["status"] == "completed", done["error"]
    assert done["text"] == response["text"]


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
    # as OpenAI's (openai/openai-dotnet tests/SessionRecords/ResponsesTests/CanCancelBackgroundResponses.json)
    assert r.json()["service_tier"] == "auto" and r.json()["output"] == [] and r.json()["usage"] is None
    await runner_jobs.drain(ctx)
    assert simulator.calls == []
    assert (await status(client, response["id"]))["status"] == "cancelled"
    assert (await status(client, response["id"]))["service_tier"] == "auto"
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
    assert await outputs(db) == 0  # the finished output was discarded


async def test_completion_first_then_cancel_changes_nothing(client: httpx.AsyncClient, ctx: AppContext,
                                                            runner_jobs: InProcessJobs) -> None:
    response = await queue(client)
    await runner_jobs.drain(ctx)
    r = await client.post(f"/v1/responses/{response['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "completed"


async def test_a_stream_of_a_queued_response_follows_it_to_its_end(client: httpx.AsyncClient, ctx: AppContext,
                                                                   runner_jobs: InProcessJobs,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``GET …?stream=true`` of a response still queued / in progress (the official client's
    ``responses.stream(response_id=…)``, resuming a background response) streams until it ends, as OpenAI's does:
    its first events at once, the rest when its job is done — not a stream that stops without an end."""
    monkeypatch.setattr(responses_route, "FOLLOW_EVERY", 0.01)
    looking = asyncio.Event()
    real_status_of = responses_repo.status_of

    async def status_of(db: Any, response_id: str) -> str | None:
        looking.set()  # the stream is waiting for the response to end
        return await real_status_of(db, response_id)

    monkeypatch.setattr(responses_repo, "status_of", status_of)
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    response_id = await left_before_it_began(ctx, model=LLAMA, input="echo: later")

    async def resumed() -> tuple[list[str], Any]:
        async with official.responses.stream(response_id=response_id) as stream:
            return [event.type async for event in stream], await stream.get_final_response()

    following = asyncio.ensure_future(resumed())
    await asyncio.wait_for(looking.wait(), 10)
    await runner_jobs.drain(ctx)
    kinds, final = await following
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.status == "completed" and final.output_text == "later"

    looking.clear()
    url = f"/v1/responses/{await left_before_it_began(ctx, model=LLAMA, input='echo: later')}"
    streamed = asyncio.ensure_future(client.get(url, params={"stream": "true"}))
    await asyncio.wait_for(looking.wait(), 10)
    assert (await client.post(f"{url}/cancel")).json()["status"] == "cancelled"
    events = sse_events(await streamed)  # ends as its own stream would: no response.cancelled event exists
    assert [e["type"] for e in events] == ["response.created", "response.queued", "response.in_progress", "error"]
    assert events[-1]["code"] == "response_cancelled"


async def test_a_followed_stream_looks_a_bounded_number_of_times(client: httpx.AsyncClient, ctx: AppContext,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream following a response that does not end (its job never runs) stops after FOLLOW_LOOKS D1 reads,
    with an error event, not one read a second for as long as the client stays (a Worker may make 1,000 calls)."""
    monkeypatch.setattr(responses_route, "FOLLOW_EVERY", 0.001)
    monkeypatch.setattr(responses_route, "FOLLOW_MOST", 0.001)
    monkeypatch.setattr(responses_route, "FOLLOW_LOOKS", 3)
    looks = []
    real_status_of = responses_repo.status_of

    async def status_of(db: Any, response_id: str) -> str | None:
        looks.append(response_id)
        return await real_status_of(db, response_id)

    monkeypatch.setattr(responses_repo, "status_of", status_of)
    url = f"/v1/responses/{await left_before_it_began(ctx, model=LLAMA, input='echo: later')}"
    events = sse_events(await client.get(url, params={"stream": "true"}))
    # not started: no response.in_progress (OpenAI's background stream sends it when generation begins)
    assert [e["type"] for e in events] == ["response.created", "response.queued", "error"]
    assert "still queued" in events[-1]["message"] and len(looks) == 3
    assert (await client.get(url)).json()["status"] == "queued"  # it goes on


async def test_only_background_responses_are_cancelled(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "hi"})
    error = await client.post(f"/v1/responses/{r.json()['id']}/cancel")
    assert error.status_code == 400 and "synchronous" in error.json()["error"]["message"]


async def test_a_lost_job_is_failed_at_its_deadline_on_read_or_by_the_cron(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, clock: Clock,
        backends: Backends) -> None:
    first, second = await queue(client), await queue(client)
    runner_jobs.store = MemoryJobs()  # the messages are lost
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
    assert await outputs(db) == 0
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


async def test_background_streaming_runs_inline_and_is_stored(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, clock: Clock,
        simulator: Simulator) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: now", "background": True,
                                                 "stream": True})
    events = sse_events(r)
    final = events[-1]["response"]
    assert final["background"] is True and final["status"] == "completed"
    stored = await status(client, final["id"])
    assert stored["status"] == "completed" and stored["output"] == final["output"]
    assert len(runner_jobs) == 1 and runner_jobs.store.next_due() == clock.now + runner.STALE_AFTER + 1
    clock.now += runner.STALE_AFTER + 1  # its watchdog: the stream ended, nothing to do
    assert await runner_jobs.drain(ctx) == 1 and len(runner_jobs) == 0 and len(simulator.calls) == 1
    assert await status(client, final["id"]) == stored


async def test_a_reasoning_summary_is_replayed_as_it_was_streamed(client: httpx.AsyncClient, ctx: AppContext,
                                                                   runner_jobs: InProcessJobs) -> None:
    """``GET …?stream=true`` of a background response whose request set ``reasoning.summary``: its reasoning
    item's summary events, as they were sent (streamed in its request), or one delta of them (generated by its
    job)."""
    body = {"model": "@cf/openai/gpt-oss-120b", "input": "echo: the answer", "background": True,
            "reasoning": {"effort": "low", "summary": "auto"}}
    events = sse_events(await client.post("/v1/responses", json={**body, "stream": True}))
    url = f"/v1/responses/{events[-1]['response']['id']}"
    replayed = sse_events(await client.get(url, params={"stream": "true"}))

    def unpadded(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "obfuscation"} for e in stream]

    assert unpadded(replayed) == unpadded(events)
    assert "response.reasoning_summary_part.added" in [e["type"] for e in events]
    queued = await left_before_it_began(ctx, **body)
    assert await runner_jobs.drain(ctx) == 1
    done = await status(client, queued)
    summary = done["output"][0]["summary"]
    assert [p["type"] for p in summary] == ["summary_text"] and "content" not in done["output"][0]
    replayed = sse_events(await client.get(f"/v1/responses/{queued}", params={"stream": "true"}))
    assert [(e["type"], e.get("delta")) for e in replayed if e.get("output_index") == 0] == [
        ("response.output_item.added", None), ("response.reasoning_summary_part.added", None),
        ("response.reasoning_summary_text.delta", summary[0]["text"]), ("response.reasoning_summary_text.done", None),
        ("response.reasoning_summary_part.done", None), ("response.output_item.done", None)]
    assert replayed[-1]["response"] == done


async def test_a_deleted_previous_response_fails_the_queued_one(client: httpx.AsyncClient, ctx: AppContext,
                                                                runner_jobs: InProcessJobs) -> None:
    first = (await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: a"})).json()
    queued = await queue(client, previous_response_id=first["id"])
    await client.delete(f"/v1/responses/{first['id']}")
    await runner_jobs.drain(ctx)
    assert (await status(client, queued["id"]))["status"] == "failed"


async def test_claim_is_one_conditional_statement(ctx: AppContext, client: httpx.AsyncClient) -> None:
    response = await queue(client)
    assert await responses_repo.claim(ctx.backends.db, response["id"], 0) is not None
    assert await responses_repo.claim(ctx.backends.db, response["id"], 0) is None


# ---- a streamed background response: its client leaving, a cancel while it streams ------------------


LONG = "echo: " + " ".join(f"word{i}" for i in range(150))


def pace(simulator: Simulator, monkeypatch: pytest.MonkeyPatch,
         each: Callable[[int], Awaitable[None]] | None = None) -> None:
    """The simulator's streams paced as a real model's are (a pause before each chunk); ``each(n)`` is
    awaited before the n-th chunk."""
    real = simulator.run

    async def run(model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        result = await real(model, inputs, options)
        if not inputs.get("stream") or isinstance(result, (bytes, dict)):
            return result

        async def paced() -> AsyncIterator[bytes]:
            async with aclosing(result) as chunks:
                n = 0
                async for chunk in chunks:
                    n += 1
                    if each is not None:
                        await each(n)
                    await asyncio.sleep(0.001)
                    yield chunk

        return paced()

    monkeypatch.setattr(simulator, "run", run)


async def only_response(db: SQLiteD1) -> dict[str, Any]:
    rows = await db.prepare("SELECT id, status, error FROM responses").all()
    assert len(rows) == 1
    return rows[0]


async def test_a_streamed_background_response_opens_queued_as_openais_do(client: httpx.AsyncClient) -> None:
    """OpenAI's background stream opens ``response.created`` (status ``queued``), ``response.queued``, then
    ``response.in_progress`` as generation begins (0, 1, 2); resumed after 0, it goes on with ``response.queued``."""
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=0)
    stream = await official.responses.create(model=LLAMA, input="echo: queued first", background=True, stream=True)
    events = [event async for event in stream]
    assert [(e.type, e.sequence_number, e.response.status) for e in events[:3]] == [  # type: ignore[union-attr]
        ("response.created", 0, "queued"), ("response.queued", 1, "queued"), ("response.in_progress", 2, "in_progress")]
    assert events[-1].type == "response.completed" and events[-1].response.output_text == "queued first"
    resumed = await official.responses.retrieve(events[0].response.id, stream=True, starting_after=0)  # type: ignore[union-attr]
    kinds = [(event.type, event.sequence_number) async for event in resumed]
    assert kinds == [(e.type, e.sequence_number) for e in events[1:]]
    async with official.responses.stream(model=LLAMA, input="echo: helper", background=True) as helper:
        opening = [event.type async for event in helper][:3]
        final = await helper.get_final_response()
    assert opening == ["response.created", "response.queued", "response.in_progress"]
    assert final.status == "completed" and final.background is True and final.output_text == "helper"


@pytest.mark.parametrize("include", [None, True, False])
async def test_a_streamed_background_response_follows_include_obfuscation(client: httpx.AsyncClient,
                                                                         include: bool | None) -> None:
    options = {} if include is None else {"stream_options": {"include_obfuscation": include}}
    events = sse_events(await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: now and then",
                                                                 "background": True, "stream": True, **options}))
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    # without it, none: OpenAI's background streams have none (test_responses.py's
    # test_a_background_stream_carries_obfuscation_only_when_asked)
    assert deltas and all(("obfuscation" in e) is (include is True) for e in deltas)
    if include is True:
        assert obfuscated_kinds(events) == {"response.output_text.delta"}
    # OpenAI keeps such a stream to resume (GET …?stream=true&starting_after=N): its events, numbered as they were
    url = f"/v1/responses/{events[-1]['response']['id']}"
    for first in (0, len(events) - 3):
        r = await client.get(url, params={"stream": "true", "starting_after": first - 1})
        tail = checked([json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")], first)
        assert [{k: v for k, v in e.items() if k != "obfuscation"} for e in tail] == [
            {k: v for k, v in e.items() if k != "obfuscation"} for e in events[first:]]


async def test_a_streamed_background_response_goes_on_when_its_client_leaves(
        app: Any, client: httpx.AsyncClient, ctx: AppContext, db: SQLiteD1, runner_jobs: InProcessJobs,
        simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    pace(simulator, monkeypatch)
    await post_and_leave(app, "/v1/responses", {"model": LLAMA, "input": LONG, "background": True, "stream": True},
                         b"response.output_text.delta")
    row = await only_response(db)
    assert row["status"] == "queued" and len(runner_jobs) == 2  # handed to a job (and its watchdog, later)
    assert simulator.streams[-1].closed and not simulator.streams[-1].finished  # the request's model call stopped
    assert await runner_jobs.drain(ctx) == 1
    done = await status(client, row["id"])
    assert done["status"] == "completed" and done["background"] is True
    assert done["output"][0]["content"][0]["text"] == LONG.removeprefix("echo: ")
    replayed = sse_events(await client.get(f"/v1/responses/{row['id']}", params={"stream": "true"}))
    assert replayed[-1]["type"] == "response.completed" and replayed[-1]["response"]["output"] == done["output"]


async def streamed_in_background(ctx: AppContext, owner: str = "o") -> runner.Plan:
    """A background response that its (streaming) request is to generate, stored and claimed."""
    plan = await runner.prepare(ctx, CreateResponse.model_validate(
        {"model": LLAMA, "input": LONG, "background": True, "stream": True}), owner=owner, reader=owner)
    await runner.start_streamed(ctx, plan)
    return plan


async def closed_at_first_delta(ctx: AppContext, plan: runner.Plan) -> None:
    """The response's stream, closed at its first text delta (a server whose send failed)."""
    async with aclosing(runner.execute(ctx, plan)) as events:
        async for event in events:
            if event["type"] == "response.output_text.delta":
                break


async def test_a_stream_closed_mid_response_hands_it_to_a_job(ctx: AppContext, db: SQLiteD1,
                                                                runner_jobs: InProcessJobs) -> None:
    plan = await streamed_in_background(ctx)
    await closed_at_first_delta(ctx, plan)
    row = await responses_repo.get(db, plan.response_id, None)
    assert row is not None and row.status == "queued" and row.deadline == int(ctx.now()) + runner.DEADLINE
    assert len(runner_jobs) == 2  # the hand-off's job, and the stream's watchdog (due later)
    await runner_jobs.drain(ctx)
    assert await responses_repo.status_of(db, plan.response_id) == "completed"


async def test_without_a_queue_a_stream_closed_mid_response_fails_it_at_once(
        simulator: Simulator, db: SQLiteD1, bucket: FolderR2, clock: Clock) -> None:
    queueless: AppContext = create_app(Backends(ai=simulator, db=db, bucket=bucket),
                                       Settings(access_token=(KEY,)), clock=clock).state.ctx
    plan = await streamed_in_background(queueless)
    await closed_at_first_delta(queueless, plan)
    row = await responses_repo.get(db, plan.response_id, None)
    assert row is not None and row.status == "failed" and row.deadline is None
    assert row.error is not None and "no job queue" in row.error["message"]


async def test_a_queue_failing_at_the_hand_off_fails_the_response_at_once(
        ctx: AppContext, db: SQLiteD1, runner_jobs: InProcessJobs, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = await streamed_in_background(ctx)

    async def failing_send(job: Job, *, delay: int = 0) -> None:
        raise UpstreamError("The job queue failed: simulated")

    monkeypatch.setattr(runner_jobs, "send", failing_send)
    await closed_at_first_delta(ctx, plan)
    row = await responses_repo.get(db, plan.response_id, None)
    assert row is not None and row.status == "failed" and row.error is not None
    assert "could not be queued" in row.error["message"]


async def test_a_stream_that_ends_first_hands_nothing_over(client: httpx.AsyncClient, db: SQLiteD1,
                                                           runner_jobs: InProcessJobs) -> None:
    events = sse_events(await client.post("/v1/responses", json={
        "model": LLAMA, "input": "echo: done", "background": True, "stream": True}))
    assert events[-1]["type"] == "response.completed"
    assert (await only_response(db))["status"] == "completed" and len(runner_jobs) == 1  # only its watchdog


async def test_cancelling_a_streamed_background_response_ends_its_stream_as_cancelled(
        client: httpx.AsyncClient, db: SQLiteD1, simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    real = simulator.run

    async def cancelled_while_generating(model: str, inputs: dict[str, Any], options: Any = None) -> Any:
        row = await only_response(db)
        r = await client.post(f"/v1/responses/{row['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        return await real(model, inputs, options)

    monkeypatch.setattr(simulator, "run", cancelled_while_generating)
    events = sse_events(await client.post("/v1/responses", json={
        "model": LLAMA, "input": "echo: never shown", "background": True, "stream": True}))
    kinds = [e["type"] for e in events]
    assert "response.completed" not in kinds  # what is stored is cancelled, and so the stream ends
    assert events[-1] == {"type": "error", "code": "response_cancelled", "message": "The response was cancelled.",
                          "param": None, "sequence_number": len(events) - 1}
    stored = await status(client, events[0]["response"]["id"])
    assert stored["status"] == "cancelled" and stored["output"] == []
    assert await outputs(db) == 0


async def test_a_cancel_stops_the_model_of_a_streamed_background_response(
        client: httpx.AsyncClient, db: SQLiteD1, simulator: Simulator, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def cancel_at(n: int) -> None:
        if n == 40:  # mid-answer
            row = await only_response(db)
            assert await responses_repo.cancel(db, row["id"], int(clock.now))

    pace(simulator, monkeypatch, cancel_at)
    monkeypatch.setattr(runner, "CHECK_EVERY", 0.0)  # look at every delta
    events = sse_events(await client.post("/v1/responses", json={
        "model": LLAMA, "input": LONG, "background": True, "stream": True}))
    assert events[-1]["type"] == "error" and events[-1]["code"] == "response_cancelled"
    shown = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert 0 < len(shown) < len(LONG) - len("echo: ")
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert [e["item"]["status"] for e in done] == ["incomplete"]
    assert simulator.streams[-1].closed and not simulator.streams[-1].finished  # the model was stopped
    assert (await only_response(db))["status"] == "cancelled"


async def test_a_cancelled_responses_replay_ends_as_its_stream_did(client: httpx.AsyncClient, ctx: AppContext) -> None:
    """Replayed once cancelled (GET …?stream=true), a response's stream ends with the ``error`` event
    ``response_cancelled``, as its own stream and a followed one do; a client resuming past it (from the last
    number its stream sent) gets that ending, numbered next, not an empty stream with no ending."""
    response_id = await left_before_it_began(ctx, model=LLAMA, input="echo: never made")
    assert (await client.post(f"/v1/responses/{response_id}/cancel")).json()["status"] == "cancelled"
    url = f"/v1/responses/{response_id}"
    events = sse_events(await client.get(url, params={"stream": "true"}))  # (checked: numbered, one ending last)
    assert [e["type"] for e in events] == ["response.created", "response.queued", "response.in_progress", "error"]
    assert events[-1] == {"type": "error", "code": "response_cancelled", "message": "The response was cancelled.",
                          "param": None, "sequence_number": 3}
    r = await client.get(url, params={"stream": "true", "starting_after": "40"})
    resumed = [json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")]
    assert resumed == [{**events[-1], "sequence_number": 41}]


# ---- faults at each step: the job queue, D1, R2 ----------------------------------------------------


async def test_the_queue_failing_fails_the_queued_response_at_once(
        client: httpx.AsyncClient, db: SQLiteD1, runner_jobs: InProcessJobs, monkeypatch: pytest.MonkeyPatch) -> None:
    for failure in (UpstreamError("The job queue failed: simulated"), RuntimeError("queue down")):
        async def failing_send(job: Job, *, delay: int = 0, failure: Exception = failure) -> None:
            raise failure

        monkeypatch.setattr(runner_jobs, "send", failing_send)
        r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: x", "background": True})
        assert r.status_code == 502 and r.json()["error"]["type"] == "server_error"
        assert_matches(r.json(), "ErrorResponse")
    rows = await db.prepare("SELECT status, deadline, error FROM responses").all()
    assert [(row["status"], row["deadline"]) for row in rows] == [("failed", None), ("failed", None)]
    assert all("could not be queued" in row["error"] for row in rows)


@pytest.fixture
def flaky(db: SQLiteD1) -> FlakyD1:
    return FlakyD1(db)


@pytest.fixture
def flaky_app(simulator: Simulator, flaky: FlakyD1, bucket: FolderR2, runner_jobs: InProcessJobs,
              clock: Clock) -> Any:
    return create_app(Backends(ai=simulator, db=flaky, bucket=bucket, jobs=runner_jobs),  # type: ignore[arg-type]
                      Settings(access_token=(KEY,)), clock=clock)


@pytest.fixture
async def flaky_client(flaky_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=flaky_app), base_url="http://t",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        yield c


CLAIM = "SET status = 'in_progress'"
READ_INPUT = "role IN (?)"
ROWS_OF_INPUT = [{"role": "user", "content": "hi"}, {"role": "user", "content": "echo: later"}]
"""Two messages: an input stored as rows of items, which ``plan_of`` reads with :data:`READ_INPUT` (a text input is
in the response's row: ``migrations/0021_response_input_in_row.sql``)."""


@pytest.mark.parametrize("statement", [CLAIM, READ_INPUT])
async def test_d1_failing_at_the_claim_or_at_plan_of_is_retried(
        flaky_client: httpx.AsyncClient, flaky_app: Any, flaky: FlakyD1, runner_jobs: InProcessJobs,
        simulator: Simulator, statement: str) -> None:
    response = await queue(flaky_client, ROWS_OF_INPUT)
    flaky.arm(lambda sql: statement in sql, times=1)
    assert await runner_jobs.drain(flaky_app.state.ctx) == 2  # failed once (not failing the response), retried
    assert flaky.times == 0
    done = await status(flaky_client, response["id"])
    assert done["status"] == "completed" and done["output"][0]["content"][0]["text"] == "later"
    assert len(simulator.calls) == 1


async def test_d1_failing_at_the_claim_of_a_streamed_background_response(
        flaky_client: httpx.AsyncClient, flaky: FlakyD1, simulator: Simulator) -> None:
    flaky.arm(lambda sql: CLAIM in sql, times=1)
    r = await flaky_client.post("/v1/responses", json={"model": LLAMA, "input": "echo: x", "background": True,
                                                       "stream": True})
    assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"
    rows = await flaky.db.prepare("SELECT status, deadline FROM responses").all()
    assert rows == [{"status": "failed", "deadline": None}]  # not left queued without a job
    assert simulator.calls == []


async def test_d1_failing_at_plan_of_for_good_leaves_it_to_the_deadline(
        flaky_client: httpx.AsyncClient, flaky_app: Any, flaky: FlakyD1, runner_jobs: InProcessJobs,
        clock: Clock) -> None:
    response = await queue(flaky_client, ROWS_OF_INPUT)
    flaky.arm(lambda sql: READ_INPUT in sql, times=100)
    await runner_jobs.drain(flaky_app.state.ctx)  # every attempt fails: dropped (the dead-letter queue)
    flaky.arm(lambda sql: False)
    assert (await status(flaky_client, response["id"]))["status"] == "queued"
    clock.now += runner.DEADLINE
    assert (await status(flaky_client, response["id"]))["status"] == "failed"


BIG = "echo: " + "z" * 70_000  # its items are stored in R2


async def test_r2_failing_at_a_background_finish(client: httpx.AsyncClient, ctx: AppContext, bucket: FolderR2,
                                                 db: SQLiteD1, runner_jobs: InProcessJobs, clock: Clock,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    response = await queue(client, BIG)

    async def failing_put(*args: Any, **kwargs: Any) -> Any:
        raise UpstreamError("R2 is down")

    real_put = bucket.put
    monkeypatch.setattr(bucket, "put", failing_put)
    await runner_jobs.drain(ctx)
    monkeypatch.setattr(bucket, "put", real_put)
    failed = await status(client, response["id"])
    assert failed["status"] == "failed" and failed["error"] == {"code": "server_error", "message": "R2 is down"}
    assert failed["output"] == [] and await outputs(db) == 0
    # the chain continues from what was stored: its input, no half-written output
    nxt = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: next",
                                                   "previous_response_id": response["id"]})
    assert nxt.status_code == 200 and nxt.json()["status"] == "completed"
    clock.now += 7 * 24 * 3600
    await run_scheduled(ctx.backends, ctx.settings, int(clock.now))
    assert await count(db, "items WHERE status != 'ready'") == 0


async def test_r2_failing_while_reading_a_chain(client: httpx.AsyncClient, ctx: AppContext, bucket: FolderR2,
                                                db: SQLiteD1, runner_jobs: InProcessJobs,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    first = await client.post("/v1/responses", json={"model": LLAMA, "input": BIG})
    assert first.status_code == 200
    queued = await queue(client, previous_response_id=first.json()["id"])  # its job reads the chain again
    before = await count(db, "responses")
    real_get = bucket.get

    async def failing_get(key: str) -> Any:
        raise UpstreamError("R2 is down")

    monkeypatch.setattr(bucket, "get", failing_get)
    body = {"model": LLAMA, "input": "echo: more", "previous_response_id": first.json()["id"]}
    r = await client.post("/v1/responses", json=body)
    assert r.status_code == 502 and r.json()["error"]["message"] == "R2 is down"
    assert_matches(r.json(), "ErrorResponse")
    assert await count(db, "responses") == before  # nothing written
    await runner_jobs.drain(ctx)  # R2 down at every attempt: retried, then dropped — still queued
    assert (await status(client, queued["id"]))["status"] == "queued"
    monkeypatch.setattr(bucket, "get", real_get)
    await execute(ctx, Job(runner.JOB_KIND, queued["id"], None))  # redelivered once R2 is back
    assert (await status(client, queued["id"]))["status"] == "completed"


async def test_an_item_missing_from_r2_fails_the_chain_not_silently(client: httpx.AsyncClient, ctx: AppContext,
                                                                    bucket: FolderR2, db: SQLiteD1,
                                                                    runner_jobs: InProcessJobs) -> None:
    first = (await client.post("/v1/responses", json={"model": LLAMA, "input": BIG})).json()
    queued = await queue(client, previous_response_id=first["id"])
    row = await db.prepare("SELECT object_key FROM items WHERE container = ? AND object_key IS NOT NULL").bind(
        first["id"]).first()
    assert row is not None
    await bucket.delete(row["object_key"])  # lost
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: more",
                                                 "previous_response_id": first["id"]})
    assert r.status_code == 500 and r.json()["error"]["param"] == "previous_response_id"
    assert "could not be read" in r.json()["error"]["message"]
    await runner_jobs.drain(ctx)  # not a passing failure: the queued one fails at once
    failed = await status(client, queued["id"])
    assert failed["status"] == "failed" and "could not be read" in failed["error"]["message"]


# ---- the previous response past its deadline; stored sizes; the request's settings in the job -----


async def test_a_previous_response_past_its_deadline_is_failed_before_it_is_continued(
        client: httpx.AsyncClient, runner_jobs: InProcessJobs, clock: Clock) -> None:
    lost = await queue(client, "echo: lost")
    runner_jobs.store = MemoryJobs()  # its message is lost
    body = {"model": LLAMA, "input": "echo: next", "previous_response_id": lost["id"]}
    early = await client.post("/v1/responses", json=body)
    assert early.status_code == 400 and "still queued" in early.json()["error"]["message"]
    clock.now += runner.DEADLINE
    r = await client.post("/v1/responses", json=body)
    assert r.status_code == 200 and r.json()["output"][0]["content"][0]["text"] == "next"
    assert (await status(client, lost["id"]))["status"] == "failed"


@pytest.mark.parametrize(("field", "value", "param"), [
    ("text", {"format": {"type": "json_schema", "name": "big", "schema": {
        "type": "object", "description": "d" * (1024 * 1024)}}}, "text.format"),
    ("tool_choice", {"type": "allowed_tools", "mode": "auto", "tools": [
        {"type": "function", "name": f"f{i:06d}" + "x" * 40} for i in range(20_000)]}, "tool_choice"),
    ("instructions", "i" * (1024 * 1024), "instructions"),
])
@pytest.mark.parametrize("background", [False, True])
async def test_what_a_response_stores_must_fit_its_row(client: httpx.AsyncClient, db: SQLiteD1,
                                                       simulator: Simulator, field: str, value: Any, param: str,
                                                       background: bool) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: json", field: value,
                                                 "background": background})
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and "must be under 1 MiB" in error["message"]
    assert simulator.calls == [] and await count(db, "responses") == 0  # refused before the model ran


async def test_a_background_response_runs_with_the_requests_settings(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1) -> None:
    sent = {"max_tool_calls": 2, "include": ["file_search_call.results"], "user": "u-1", "safety_identifier": "s-1",
            "prompt_cache_key": "k-1", "top_logprobs": 3, "service_tier": "flex", "parallel_tool_calls": False}
    response = await queue(client, "echo: settings", **sent)
    assert "__settings" not in response and "include" not in response
    row = await responses_repo.get(db, response["id"], None)
    assert row is not None
    plan = await runner.plan_of(ctx, row)
    assert {k: getattr(plan.request, k) for k in sent} == sent
    assert plan.request.temperature is None and plan.request.top_p is None and plan.request.tool_choice is None
    await runner_jobs.drain(ctx)
    inputs = simulator.calls[-1][1]
    assert "temperature" not in inputs and "top_p" not in inputs  # the model's defaults, as in the foreground
    stored = await status(client, response["id"])
    assert "__settings" not in stored and stored["temperature"] == 1.0 and stored["user"] == "u-1"


async def test_a_background_response_runs_with_the_requests_penalties(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator) -> None:
    """The penalties are settings a job rebuilds its request from, as the foreground passes them to the model."""
    response = await queue(client, "echo: penalised", frequency_penalty=0.75, presence_penalty=-0.5)
    assert response["frequency_penalty"] == 0.75 and response["presence_penalty"] == -0.5
    await runner_jobs.drain(ctx)
    inputs = simulator.calls[-1][1]
    assert inputs["frequency_penalty"] == 0.75 and inputs["presence_penalty"] == -0.5
    stored = await status(client, response["id"])
    assert stored["status"] == "completed"
    assert stored["frequency_penalty"] == 0.75 and stored["presence_penalty"] == -0.5


async def test_a_completion_window_is_kept_by_running_at_once(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs) -> None:
    """background_options (client 3.63.0): a 2h or 8h window is met by a response that starts at once."""
    response = await queue(client, "echo: later", background_options={"completion_window": "2h",
                                                                       "continuation_id": "c-1"})
    assert response["status"] == "queued"
    await runner_jobs.drain(ctx)
    assert (await status(client, response["id"]))["status"] == "completed"


async def test_a_response_queued_before_its_settings_were_kept_still_runs(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, db: SQLiteD1) -> None:
    response = await queue(client, "echo: old row", temperature=0.5)
    row = await responses_repo.get(db, response["id"], None)
    assert row is not None and row.settings is not None and row.settings["temperature"] == 0.5
    await db.prepare("UPDATE responses SET request = ? WHERE id = ?").bind(
        json.dumps(row.request), row.id).run()  # as stored before
    old = await responses_repo.get(db, response["id"], None)
    assert old is not None and old.settings is None
    assert (await runner.plan_of(ctx, old)).request.temperature == 0.5
    await runner_jobs.drain(ctx)
    assert (await status(client, response["id"]))["status"] == "completed"


async def test_d1_failing_while_a_streamed_background_response_looks_at_its_status(
        flaky_client: httpx.AsyncClient, flaky: FlakyD1, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "CHECK_EVERY", 0.0)
    flaky.arm(lambda sql: sql.startswith("SELECT status FROM responses"), times=1000)
    events = sse_events(await flaky_client.post("/v1/responses", json={
        "model": LLAMA, "input": "echo: on and on", "background": True, "stream": True}))
    assert flaky.times < 1000  # it looked, and failed to
    assert events[-1]["type"] == "response.completed"  # the generation went on; its conditional end decided
    assert (await status(flaky_client, events[-1]["response"]["id"]))["status"] == "completed"


# ---- a generator that dies: its response taken over by a redelivered job ------------------------------


def text_of(response: dict[str, Any]) -> list[str]:
    return [part["text"] for item in response["output"] for part in item["content"]]


async def claimed_by_a_dead_generator(client: httpx.AsyncClient, runner_jobs: InProcessJobs, db: SQLiteD1,
                                      clock: Clock, text: str = "echo: later") -> tuple[str, str]:
    """A background response whose job was delivered and claimed it (``in_progress``, its liveness mark
    now), and whose process then died: its id and the dead generator's claim."""
    response = await queue(client, text)
    runner_jobs.store = MemoryJobs()  # the job was taken …
    token = await responses_repo.claim(db, response["id"], int(clock.now))  # … claimed it, and died
    assert token is not None
    return response["id"], token


async def test_a_response_whose_generator_died_is_taken_over_by_its_redelivered_job(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock) -> None:
    response_id, _ = await claimed_by_a_dead_generator(client, runner_jobs, db, clock)
    job = Job(runner.JOB_KIND, response_id, None)
    clock.now += runner.STALE_AFTER + 1  # its mark not refreshed since: the generator is taken for dead
    await execute(ctx, job)  # the Queue delivers its job again (locally: its lease lapsed)
    done = await status(client, response_id)
    assert done["status"] == "completed" and text_of(done) == ["later"]
    assert len(simulator.calls) == 1 and await outputs(db) == 1
    await execute(ctx, job)  # delivered once more: it has ended, nothing to do
    assert len(simulator.calls) == 1 and await outputs(db) == 1
    assert len(runner_jobs) == 0


async def test_a_cancel_of_a_response_whose_generator_died_ends_it_at_once(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock) -> None:
    """A response's cancel is one statement, whoever generates it: a dead generator leaves nothing to wait
    for, and its job delivered again finds the response ended."""
    response_id, _ = await claimed_by_a_dead_generator(client, runner_jobs, db, clock)
    clock.now += 30
    r = await client.post(f"/v1/responses/{response_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    clock.now += runner.STALE_AFTER + 1
    await execute(ctx, Job(runner.JOB_KIND, response_id, None))
    assert (await status(client, response_id))["status"] == "cancelled" and simulator.calls == []
    assert len(runner_jobs) == 0


async def test_a_fresh_mark_is_not_taken_over_and_the_job_comes_back(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock) -> None:
    """A delivery that finds the response in progress with a fresh mark generates nothing, and sends its
    job again, due when the mark would be stale: if the generator died meanwhile, that one takes over."""
    response_id, _ = await claimed_by_a_dead_generator(client, runner_jobs, db, clock)
    clock.now += 60
    await execute(ctx, Job(runner.JOB_KIND, response_id, None))
    assert (await status(client, response_id))["status"] == "in_progress" and simulator.calls == []
    assert len(runner_jobs) == 1 and runner_jobs.store.next_due() == clock.now + runner.STALE_AFTER - 60 + 1
    assert await runner_jobs.drain(ctx) == 0  # not due yet
    clock.now += runner.STALE_AFTER - 60 + 1
    assert await runner_jobs.drain(ctx) == 1
    done = await status(client, response_id)
    assert done["status"] == "completed" and len(simulator.calls) == 1 and len(runner_jobs) == 0
    assert await outputs(db) == 1


async def test_the_job_of_a_live_generator_comes_back_until_the_deadline_then_ends_it(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock) -> None:
    """A generator that keeps refreshing its mark is never taken over; its job, delivered meanwhile, comes
    back a bounded number of times: at the deadline the response is failed, and nothing is sent again."""
    response_id, token = await claimed_by_a_dead_generator(client, runner_jobs, db, clock)
    await runner_jobs.send(Job(runner.JOB_KIND, response_id, None))  # a second delivery of its job
    deliveries = 0
    while len(runner_jobs):
        due = runner_jobs.store.next_due()
        assert due is not None
        clock.now = due
        assert await responses_repo.refresh(db, response_id, token, int(clock.now))  # the generator is alive
        assert await runner_jobs.drain(ctx) == 1
        deliveries += 1
        assert deliveries <= runner.DEADLINE // runner.STALE_AFTER + 2
    failed = await status(client, response_id)
    assert failed["status"] == "failed" and "deadline" in failed["error"]["message"]
    assert simulator.calls == [] and clock.now > failed["created_at"] + runner.DEADLINE
    assert not await responses_repo.refresh(db, response_id, token, int(clock.now))  # the generator told to stop


def hooked(ctx: AppContext) -> AppContext:
    """``ctx`` for a deployment that sends webhook events (queued as jobs, counted by :func:`webhook_jobs`)."""
    return dataclasses.replace(ctx, settings=dataclasses.replace(
        ctx.settings, webhook_url="https://hooks.test/", webhook_secret="secret"))


def webhook_jobs(runner_jobs: InProcessJobs, clock: Clock) -> list[str]:
    """The webhook events queued, by type (taken out of the queue)."""
    types = []
    while (claimed := runner_jobs.store.take(clock.now)) is not None:
        assert claimed.job.kind == webhooks.JOB_KIND
        types.append(claimed.job.id.split("/")[1])
    return types


async def test_a_slow_generator_taken_over_writes_nothing(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A generator that was only slow (its model call outlasting the stale limit, its refresh not yet due)
    loses to the delivery that took it over, even when it finishes first: its finish and its items are
    conditional on its claim, so it writes neither its output nor its status, and sends no webhook event;
    the response ends as the taker writes it."""
    response = await queue(client)
    runner_jobs.store = MemoryJobs()
    job = Job(runner.JOB_KIND, response["id"], None)
    slow_call, taker_call = Held("stale"), Held("fresh")
    held(simulator, monkeypatch, slow_call, taker_call)
    slow = asyncio.create_task(execute(hooked(ctx), job))
    await asyncio.wait_for(slow_call.entered.wait(), 5)
    clock.now += runner.STALE_AFTER + 1  # no refresh meanwhile (one is due every 30 real seconds)
    taker = asyncio.create_task(execute(hooked(ctx), job))  # a redelivery takes it over, from the start
    await asyncio.wait_for(taker_call.entered.wait(), 5)
    slow_call.release.set()
    await asyncio.wait_for(slow, 5)  # its model answers first: its end is written nowhere
    assert (await status(client, response["id"]))["status"] == "in_progress"
    assert await outputs(db) == 0
    taker_call.release.set()
    await asyncio.wait_for(taker, 5)
    done = await status(client, response["id"])
    assert done["status"] == "completed" and text_of(done) == ["fresh"]
    assert await outputs(db) == 1
    assert webhook_jobs(runner_jobs, clock) == ["response.completed"]  # the taker's alone


async def test_a_slow_generator_taken_over_is_stopped_by_its_next_refresh(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "REFRESH_EVERY", 0.01)
    response = await queue(client)
    runner_jobs.store = MemoryJobs()
    job = Job(runner.JOB_KIND, response["id"], None)
    slow_call = Held("stale")
    held(simulator, monkeypatch, slow_call)
    slow = asyncio.create_task(execute(ctx, job))
    await asyncio.wait_for(slow_call.entered.wait(), 5)
    clock.now += 10
    await asyncio.sleep(0.05)  # it refreshes its mark while its model works
    row = await responses_repo.get(db, response["id"], None)
    assert row is not None and row.status == "in_progress" and row.updated_at == int(clock.now)
    clock.now += runner.STALE_AFTER + 1  # … then its process stalls (its refreshes stop getting through)
    assert await responses_repo.take_over(db, response["id"], int(clock.now), int(clock.now) - runner.STALE_AFTER)
    await asyncio.wait_for(slow, 5)  # its next refresh finds it taken over: its model call is stopped
    assert not slow_call.release.is_set() and await outputs(db) == 0
    assert (await status(client, response["id"]))["status"] == "in_progress"  # the taker's to end


async def test_a_live_generators_mark_is_not_taken_over(ctx: AppContext, client: httpx.AsyncClient,
                                                        db: SQLiteD1, clock: Clock) -> None:
    """The takeover is one conditional statement: a fresh mark, a second taker, an ended response: none."""
    response = await queue(client)
    now = int(clock.now)
    assert await responses_repo.take_over(db, response["id"], now, now) is None  # queued: claimed, not taken
    assert await responses_repo.claim(db, response["id"], now) is not None
    assert await responses_repo.take_over(db, response["id"], now + 60, now + 60 - runner.STALE_AFTER) is None
    later = now + runner.STALE_AFTER + 1
    assert await responses_repo.take_over(db, response["id"], later, later - runner.STALE_AFTER) is not None
    assert await responses_repo.take_over(db, response["id"], later, later - runner.STALE_AFTER) is None
    late = now + runner.DEADLINE + 1  # past its deadline: the deadline ends it, nobody takes it
    assert await responses_repo.take_over(db, response["id"], late, late - runner.STALE_AFTER) is None


# ---- a streamed background response whose process died: taken over by its watchdog ------------------------


async def abandoned_mid_stream(ctx: AppContext) -> tuple[runner.Plan, list[dict[str, Any]], AsyncIterator[Any]]:
    """A background response streamed in its request, whose process died at its first text delta (its
    stream never resumed nor closed): its plan, the events its client saw, and the stream (to close at the
    end of the test)."""
    plan = await streamed_in_background(ctx, key_hash(KEY))  # the test client's
    stream = runner.execute(ctx, plan)
    seen = []
    async for event in stream:
        seen.append(event)
        if event["type"] == "response.output_text.delta":
            break
    return plan, seen, stream


async def test_a_streamed_background_response_whose_process_died_is_taken_over_by_its_watchdog(
        client: httpx.AsyncClient, ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator,
        db: SQLiteD1, clock: Clock) -> None:
    """Its watchdog job, sent when it started and due when its mark would be stale, takes it over, as the
    redelivered job of a queued one would; a stream resumed from what its client saw goes on where it was,
    its sequence numbers following on, no item shown twice."""
    plan, seen, stream = await abandoned_mid_stream(ctx)
    assert len(runner_jobs) == 1 and await runner_jobs.drain(ctx) == 0  # the watchdog, not due yet
    clock.now += runner.STALE_AFTER + 1  # its mark not refreshed since: the stream's process is taken for dead
    assert await runner_jobs.drain(ctx) == 1
    done = await status(client, plan.response_id)
    assert done["status"] == "completed" and text_of(done) == [LONG.removeprefix("echo: ")]
    assert len(simulator.calls) == 2 and await outputs(db) == 1
    last = seen[-1]["sequence_number"]
    r = await client.get(f"/v1/responses/{plan.response_id}", params={"stream": "true", "starting_after": last})
    assert r.status_code == 200
    resumed = checked([json.loads(line[6:]) for line in r.text.split("\n") if line.startswith("data: ")], last + 1)
    assert not [e for e in resumed if e["type"] in ("response.created", "response.output_item.added")]
    # the tail is the stored response's replay (its taker's, one delta per item): the item's text is whole in
    # its done events and the last one
    assert [e["text"] for e in resumed if e["type"] == "response.output_text.done"] == text_of(done)
    assert resumed[-1]["type"] == "response.completed"
    assert resumed[-1]["response"]["output"] == done["output"]
    await stream.aclose()  # type: ignore[attr-defined]  # the dead stream closed at last: it hands nothing back
    assert (await status(client, plan.response_id))["status"] == "completed" and len(runner_jobs) == 0


async def test_a_streamed_background_response_refreshes_its_mark_and_its_watchdog_leaves_it_be(
        ctx: AppContext, runner_jobs: InProcessJobs, simulator: Simulator, db: SQLiteD1, clock: Clock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "REFRESH_EVERY", 0.01)
    call = Held("live")
    held(simulator, monkeypatch, call)
    plan = await streamed_in_background(ctx)
    streaming = asyncio.create_task(_drain(runner.execute(ctx, plan)))
    await asyncio.wait_for(call.entered.wait(), 5)
    clock.now += runner.STALE_AFTER + 1
    await asyncio.sleep(0.05)  # it refreshes its mark while its model works
    row = await responses_repo.get(db, plan.response_id, None)
    assert row is not None and row.updated_at == int(clock.now)
    assert await runner_jobs.drain(ctx) == 1  # the watchdog finds it alive: comes back later, generates nothing
    assert len(runner_jobs) == 1 and len(simulator.calls) == 0
    call.release.set()
    await asyncio.wait_for(streaming, 5)
    assert await responses_repo.status_of(db, plan.response_id) == "completed" and len(simulator.calls) == 1


async def _drain(events: AsyncIterator[Any]) -> None:
    async for _ in events:
        pass
