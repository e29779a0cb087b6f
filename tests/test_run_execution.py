"""How runs execute: at-least-once delivery (a redelivered job never generates twice nor resurrects a
cancelled run), a cancel / a thread deleted / an expiry while the model streams, failures of Workers AI
and of D1 mid-run (the run ends ``failed`` with ``last_error``, never ``in_progress``), expiry on read and
by the cron, and what the model is given (instructions, truncation, attachments, images)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.context import AppContext
from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.jobs import InProcessJobs, MemoryJobs
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import Backends, Job, Statement
from openai_workers_ai.repositories import runs as repositories_runs
from openai_workers_ai.runner import liveness, run_status
from openai_workers_ai.runner import runs as executor
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator
from openai_workers_ai.types.runs import AssistantStreamEvent

from .assistants import CALL_WEATHER, LLAMA, assistant, error_of, events, finished, listed, names, ok, run, thread
from .conftest import KEY, Clock
from .held_calls import Held, held
from .openapi import assert_matches
from .sse import post_and_leave
from .test_threads import PNG, upload


class FlakyD1:
    """D1 whose statements fail (as D1 fails: an ``UpstreamError``) when ``fails(sql)`` says so, ``times`` times;
    with ``lost``, a failing ``run()`` statement is written first (D1's answer, not the write, is lost)."""

    def __init__(self, db: SQLiteD1) -> None:
        self.db = db
        self.fails: Callable[[str], bool] = lambda sql: False
        self.times = 0
        self.lost = False

    def arm(self, fails: Callable[[str], bool], times: int = 1, *, lost: bool = False) -> None:
        self.fails, self.times, self.lost = fails, times, lost

    def check(self, sql: str) -> None:
        if self.times and self.fails(sql):
            self.times -= 1
            raise UpstreamError("D1_ERROR: injected failure", status=500)

    def prepare(self, sql: str) -> _FlakyStatement:
        return _FlakyStatement(self, self.db.prepare(sql))

    async def batch(self, statements: Sequence[Statement]) -> None:
        inner = []
        for statement in statements:
            assert isinstance(statement, _FlakyStatement)
            self.check(statement.inner.sql)
            inner.append(statement.inner)
        await self.db.batch(inner)


class _FlakyStatement:
    def __init__(self, db: FlakyD1, inner: Any) -> None:
        self.flaky, self.inner = db, inner

    def bind(self, *values: Any) -> _FlakyStatement:
        return _FlakyStatement(self.flaky, self.inner.bind(*values))

    async def all(self) -> list[dict[str, Any]]:
        self.flaky.check(self.inner.sql)
        result: list[dict[str, Any]] = await self.inner.all()
        return result

    async def first(self) -> dict[str, Any] | None:
        self.flaky.check(self.inner.sql)
        result: dict[str, Any] | None = await self.inner.first()
        return result

    async def run(self) -> int:
        if not self.flaky.lost:
            self.flaky.check(self.inner.sql)
        result: int = await self.inner.run()
        if self.flaky.lost:
            self.flaky.check(self.inner.sql)
        return result



class FlakyJobs(InProcessJobs):
    """The in-process runner, whose ``send`` fails (as a Queue's does: an ``UpstreamError``) ``failures`` times;
    with ``delivered``, the job is sent and run first (the Queue's answer, not the message, is lost)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.failures = 0
        self.delivered: AppContext | None = None

    async def send(self, job: Job, *, delay: int = 0) -> None:
        if not self.failures:
            await super().send(job, delay=delay)
            return
        self.failures -= 1
        if self.delivered is not None:
            await super().send(job, delay=delay)
            await self.drain(self.delivered)
        raise UpstreamError("The job queue failed: injected failure")


@pytest.fixture
def jobs(clock: Clock) -> FlakyJobs:
    return FlakyJobs(clock)


@pytest.fixture
def flaky(db: SQLiteD1) -> FlakyD1:
    return FlakyD1(db)


@pytest.fixture
def app(simulator: Simulator, flaky: FlakyD1, bucket: FolderR2, jobs: InProcessJobs, settings: Settings,
        clock: Clock):  # noqa: ANN201
    return create_app(Backends(ai=simulator, db=flaky, bucket=bucket, jobs=jobs), settings, clock=clock)


@pytest.fixture
def ctx(app: Any) -> AppContext:
    context: AppContext = app.state.ctx
    return context


@pytest.fixture(autouse=True)
def look_at_every_delta(monkeypatch: pytest.MonkeyPatch) -> None:
    """The executor looks at the run's status after every delta (not once a second), so a test can act mid-stream."""
    monkeypatch.setattr(executor, "CHECK_EVERY", 0.0)


async def until(stream: AsyncGenerator[AssistantStreamEvent, None], name: str) -> list[str]:
    """The events' names up to and including the first ``name``."""
    seen = []
    async for event in stream:
        seen.append(event.event)
        if event.event == name:
            return seen
    raise AssertionError(f"no {name} in {seen}")


async def rest(stream: AsyncGenerator[AssistantStreamEvent, None]) -> list[AssistantStreamEvent]:
    return [event async for event in stream]


LONG = "echo: " + " ".join(f"w{i}" for i in range(40))


async def started(client: httpx.AsyncClient, text: str = LONG, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A thread holding ``text``, and a queued run of it (its job not run)."""
    asst = await assistant(client)
    created_thread = await thread(client, text)
    return created_thread, await run(client, created_thread["id"], asst["id"], **fields)


async def messages_of(client: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    return await listed(client, f"/v1/threads/{thread_id}/messages", "ListMessagesResponse")


# ---- at-least-once delivery ---------------------------------------------------------------------


async def test_a_redelivered_job_never_generates_twice(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                       ctx: AppContext, simulator: Simulator) -> None:
    created_thread, created = await started(client, "echo: once")
    job = Job("runs.execute", created["id"])
    await jobs.send(job)  # delivered twice before it ran
    assert await jobs.drain(ctx) == 2
    calls = len(simulator.calls)
    await jobs.send(job)  # and once more after it completed
    await jobs.drain(ctx)
    assert len(simulator.calls) == calls == 1
    assert [m["role"] for m in await messages_of(client, created_thread["id"])] == ["assistant", "user"]
    assert (await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}")))["status"] == "completed"


async def test_a_second_delivery_while_the_first_runs_does_nothing(client: httpx.AsyncClient, ctx: AppContext) -> None:
    _, created = await started(client)
    async with aclosing(executor.execute(ctx, created["id"])) as first:
        await until(first, "thread.message.delta")
        assert await rest(executor.execute(ctx, created["id"])) == []  # claimed already: nothing to do
        assert [e.event for e in await rest(first)][-1] == "thread.run.completed"


async def test_a_redelivered_job_does_not_resurrect_a_cancelled_run(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                                    ctx: AppContext, simulator: Simulator) -> None:
    created_thread, created = await started(client, "echo: never")
    await ok(client.post(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/cancel"))
    await jobs.send(Job("runs.execute", created["id"]))
    assert await jobs.drain(ctx) == 2
    assert simulator.calls == []
    assert (await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}")))["status"] == "cancelled"


# ---- while the model streams ----------------------------------------------------------------------


async def test_cancel_while_the_model_streams(client: httpx.AsyncClient, ctx: AppContext) -> None:
    created_thread, created = await started(client)
    base = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    async with aclosing(executor.execute(ctx, created["id"])) as stream:
        await until(stream, "thread.message.delta")
        cancelling = await ok(client.post(f"{base}/cancel"), "RunObject")
        assert cancelling["status"] == "cancelling"
        tail = await rest(stream)
    # the reply and the step as stored: the clients' stream helpers end the message on
    # thread.message.incomplete (on_text_done, on_message_done)
    assert [e.event for e in tail] == ["thread.message.incomplete", "thread.run.step.cancelled", "thread.run.cancelled"]
    streamed_reply, streamed_step = tail[0].data.model_dump(), tail[1].data.model_dump()
    assert streamed_reply["status"] == "incomplete" and streamed_reply["incomplete_details"] == {"reason": "run_cancelled"}
    assert streamed_step["status"] == "cancelled" and streamed_step["cancelled_at"] is not None
    ended = await ok(client.get(base), "RunObject")
    assert ended["status"] == "cancelled" and ended["cancelled_at"] is not None
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["status"] == "incomplete" and reply["incomplete_details"] == {"reason": "run_cancelled"}
    assert reply["content"][0]["text"]["value"].startswith("w0")  # what was written is kept
    steps = await listed(client, f"{base}/steps", "ListRunStepsResponse")
    assert [s["status"] for s in steps] == ["cancelled"] and steps == [streamed_step]
    assert await ok(client.get(f"/v1/threads/{created_thread['id']}/messages/{reply['id']}")) == streamed_reply


async def test_a_run_whose_thread_is_deleted_mid_stream_stops_and_leaves_nothing(
    client: httpx.AsyncClient, ctx: AppContext, db: SQLiteD1
) -> None:
    created_thread, created = await started(client)
    async with aclosing(executor.execute(ctx, created["id"])) as stream:
        await until(stream, "thread.message.delta")
        await ok(client.delete(f"/v1/threads/{created_thread['id']}"))
        assert await rest(stream) == []
    for table in ("messages", "runs", "run_steps"):
        assert db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0


async def test_a_run_read_past_its_deadline_mid_stream_expires(client: httpx.AsyncClient, ctx: AppContext,
                                                               clock: Clock) -> None:
    created_thread, created = await started(client)
    base = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    async with aclosing(executor.execute(ctx, created["id"])) as stream:
        await until(stream, "thread.message.delta")
        clock.now += 601
        assert (await ok(client.get(base), "RunObject"))["status"] == "expired"
        tail = [e.event for e in await rest(stream)]
    assert tail == ["thread.message.incomplete", "thread.run.step.expired", "thread.run.expired"]
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["status"] == "incomplete" and reply["incomplete_details"] == {"reason": "run_expired"}


class SlowSimulator(Simulator):
    """The simulator, its streams paced (a pause before each chunk), as a real model's are."""

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        result = await super().run(model, inputs, options)
        if not inputs.get("stream") or isinstance(result, (bytes, dict)):
            return result

        async def paced() -> AsyncIterator[bytes]:
            async for chunk in result:
                await asyncio.sleep(0.001)
                yield chunk

        return paced()


async def test_a_stream_closed_mid_run_hands_the_run_to_the_background(
    client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext
) -> None:
    created_thread, created = await started(client)  # its job waits: the executor below takes the run first
    async with aclosing(executor.execute(ctx, created["id"])) as stream:
        await until(stream, "thread.message.delta")
    # closed mid-reply: the run is queued again, its unfinished reply and step gone, a job sent
    base = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    assert (await ok(client.get(base)))["status"] == "queued"
    assert [m["role"] for m in await messages_of(client, created_thread["id"])] == ["user"]
    assert await listed(client, f"{base}/steps", "ListRunStepsResponse") == []
    # its own job, the hand-off's, and the stream's watchdog (due when its mark would be stale): the first to
    # run generates, the others find nothing to do
    assert len(jobs) == 3
    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "completed"
    replies = await messages_of(client, created_thread["id"])
    assert [m["role"] for m in replies] == ["assistant", "user"] and replies[0]["status"] == "completed"


async def test_a_client_that_disconnects_mid_stream_leaves_the_run_to_the_background(
    flaky: FlakyD1, bucket: FolderR2, jobs: InProcessJobs, settings: Settings, clock: Clock
) -> None:
    app = create_app(Backends(ai=SlowSimulator(), db=flaky, bucket=bucket, jobs=jobs), settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        created_thread = await thread(client, LONG)
        asst = await assistant(client)
    await post_and_leave(app, f"/v1/threads/{created_thread['id']}/runs", {"assistant_id": asst["id"], "stream": True},
                         b"thread.message.delta")
    await asyncio.sleep(0.01)
    assert len(jobs) == 2  # the hand-off's job, and the stream's watchdog (later)
    await jobs.drain(app.state.ctx)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        runs = await listed(client, f"/v1/threads/{created_thread['id']}/runs", "ListRunsResponse")
        assert runs[0]["status"] == "completed"
        replies = await messages_of(client, created_thread["id"])
        assert [m["status"] for m in replies] == ["completed", "completed"]
        assert replies[0]["content"][0]["text"]["value"] == LONG.removeprefix("echo: ")


async def test_without_a_job_queue_a_closed_stream_fails_its_run(
    client: httpx.AsyncClient, simulator: Simulator, flaky: FlakyD1, bucket: FolderR2, settings: Settings
) -> None:
    created_thread, created = await started(client)  # queued (its job never runs)
    queueless: AppContext = create_app(Backends(ai=simulator, db=flaky, bucket=bucket), settings).state.ctx
    async with aclosing(executor.execute(queueless, created["id"])) as stream:
        await until(stream, "thread.message.delta")
    failed = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}"), "RunObject")
    assert failed["status"] == "failed"
    assert failed["last_error"] == {"code": "server_error", "message": "The stream was closed before the run ended."}
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["status"] == "incomplete" and reply["incomplete_details"] == {"reason": "run_failed"}


# ---- failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), [("fail:503", "server_error"), ("fail:429", "rate_limit_exceeded"),
                                            ("fail:400", "invalid_prompt"), ("fail:500", "server_error")])
async def test_workers_ai_failing_fails_the_run(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                                text: str, code: str) -> None:
    created_thread, created = await started(client, text)
    failed = await finished(client, jobs, ctx, created)
    assert failed["status"] == "failed" and failed["failed_at"] is not None
    assert failed["last_error"]["code"] == code and failed["last_error"]["message"].startswith("Workers AI")
    assert failed["expires_at"] is None
    assert [m["role"] for m in await messages_of(client, created_thread["id"])] == ["user"]


async def test_workers_ai_failing_mid_stream(client: httpx.AsyncClient) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "fail-mid:503")
    base = f"/v1/threads/{created_thread['id']}"
    pairs = events(await client.post(f"{base}/runs", json={"assistant_id": asst["id"], "stream": True}))
    assert names(pairs)[-3:] == ["thread.message.incomplete", "thread.run.step.failed", "thread.run.failed"]
    assert pairs[-3][1]["status"] == "incomplete" and pairs[-3][1]["incomplete_details"] == {"reason": "run_failed"}
    failed = pairs[-1][1]
    assert failed["last_error"]["code"] == "server_error"
    assert pairs[-2][1]["last_error"] == failed["last_error"]
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["status"] == "incomplete" and reply["incomplete_details"] == {"reason": "run_failed"}
    assert reply["content"][0]["text"]["value"] == "partial answer"
    steps = await listed(client, f"{base}/runs/{failed['id']}/steps", "ListRunStepsResponse")
    assert steps[0]["status"] == "failed" and steps[0]["failed_at"] is not None


@pytest.mark.parametrize("statement", [
    "UPDATE messages SET content",  # writing the reply whole
    "INSERT INTO run_steps",  # starting the reply
    "SELECT id, created_at, thread_id",  # reading the thread
])
async def test_d1_failing_mid_run_fails_the_run(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                                flaky: FlakyD1, statement: str) -> None:
    created_thread, created = await started(client, "echo: hello")
    flaky.arm(lambda sql: sql.startswith(statement))
    failed = await finished(client, jobs, ctx, created)
    assert failed["status"] == "failed"
    assert failed["last_error"] == {"code": "server_error", "message": "D1_ERROR: injected failure"}
    for message in await messages_of(client, created_thread["id"]):
        assert message["status"] != "in_progress"


async def test_d1_failing_at_the_claim_is_retried(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                                  flaky: FlakyD1) -> None:
    _, created = await started(client, "echo: hello")
    flaky.arm(lambda sql: sql.startswith("UPDATE runs SET status"))
    done = await finished(client, jobs, ctx, created)  # the job failed once, and its retry ran the run
    assert done["status"] == "completed"


D1_FAILED = {"code": "server_error", "message": "D1_ERROR: injected failure"}
REPLY_WRITE = "UPDATE messages SET content"


async def test_d1_failing_again_while_a_run_fails_still_ends_it_failed(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                                         ctx: AppContext, flaky: FlakyD1,
                                                                         clock: Clock) -> None:
    created_thread, created = await started(client, "echo: hello")
    flaky.arm(lambda sql: sql.startswith(REPLY_WRITE), times=5)  # the reply's write fails, and fails again
    failed = await finished(client, jobs, ctx, created)
    assert failed["status"] == "failed" and failed["last_error"] == D1_FAILED and failed["expires_at"] is None
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["role"] == "assistant" and reply["status"] == "incomplete"
    assert reply["incomplete_details"] == {"reason": "run_failed"}
    steps = await listed(client, f"/v1/threads/{created_thread['id']}/runs/{created['id']}/steps", "ListRunStepsResponse")
    assert [s["status"] for s in steps] == ["failed"]
    clock.now += 601  # it ended: it does not expire later, without its last_error
    later = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}"), "RunObject")
    assert later["status"] == "failed" and later["last_error"] == D1_FAILED
    await run(client, created_thread["id"], failed["assistant_id"])  # the thread is free


async def test_d1_failing_again_while_a_streamed_run_fails_ends_the_stream_with_the_failure(
    client: httpx.AsyncClient, flaky: FlakyD1
) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hello")
    flaky.arm(lambda sql: sql.startswith(REPLY_WRITE), times=5)
    pairs = events(await client.post(f"/v1/threads/{created_thread['id']}/runs",
                                     json={"assistant_id": asst["id"], "stream": True}))
    assert names(pairs)[-2:] == ["thread.run.step.failed", "thread.run.failed"]
    failed = pairs[-1][1]
    assert failed["status"] == "failed" and failed["last_error"] == D1_FAILED
    assert failed["usage"] is not None and failed["usage"]["completion_tokens"] > 0
    stored = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{failed['id']}"), "RunObject")
    assert stored == failed


RUN_READ = "SELECT id, thread_id, assistant_id, created_at, status"
CLAIM = "UPDATE runs SET status"


@pytest.mark.parametrize(("statement", "lost"), [
    (RUN_READ, False),  # the executor's first read of the run
    (CLAIM, False),  # queued → in_progress, not written
    (CLAIM, True),  # queued → in_progress written, but D1's answer lost: the run is in_progress, and nobody runs it
])
async def test_a_stream_that_cannot_start_its_run_fails_it(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                           flaky: FlakyD1, statement: str, lost: bool) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hello")
    url = f"/v1/threads/{created_thread['id']}/runs"
    flaky.arm(lambda sql: sql.startswith(statement), lost=lost)
    pairs = events(await client.post(url, json={"assistant_id": asst["id"], "stream": True}))
    assert names(pairs) == ["thread.run.created", "thread.run.queued", "thread.run.failed"]
    failed = pairs[-1][1]
    assert failed["last_error"] == D1_FAILED and failed["failed_at"] is not None and failed["expires_at"] is None
    assert await ok(client.get(f"{url}/{failed['id']}"), "RunObject") == failed
    assert len(jobs) == 0  # not left to the background
    again = events(await client.post(url, json={"assistant_id": asst["id"], "stream": True}))  # the thread is free
    assert names(again)[-1] == "thread.run.completed"


async def test_streamed_tool_outputs_whose_run_cannot_start_fail_it(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                                    ctx: AppContext, flaky: FlakyD1) -> None:
    created_thread, created = await started(client, CALL_WEATHER)
    waiting = await finished(client, jobs, ctx, created)
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    flaky.arm(lambda sql: sql.startswith(CLAIM) and "started_at" in sql)  # the claim (not the submission's update)
    pairs = events(await client.post(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/submit_tool_outputs",
                                     json={"tool_outputs": [{"tool_call_id": call, "output": "sunny"}], "stream": True}))
    assert names(pairs) == ["thread.run.queued", "thread.run.failed"]
    assert pairs[-1][1]["last_error"] == D1_FAILED
    steps = await listed(client, f"/v1/threads/{created_thread['id']}/runs/{created['id']}/steps", "ListRunStepsResponse")
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "failed")]


async def test_when_even_the_failure_cannot_be_written_the_stream_ends_with_an_error_event(
    client: httpx.AsyncClient, flaky: FlakyD1, clock: Clock
) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hello")
    flaky.arm(lambda sql: sql.startswith(CLAIM), times=2)  # the claim, then queued → failed
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"], "stream": True})
    assert r.status_code == 200
    blocks = [dict(line.split(": ", 1) for line in block.split("\n")) for block in r.text.split("\n\n") if block]
    assert [b["event"] for b in blocks] == ["thread.run.created", "thread.run.queued", "error"]  # and no done
    error = json.loads(blocks[-1]["data"])  # OpenAI's ErrorEvent: the error object is the data
    assert error == {"message": "D1_ERROR: injected failure", "type": "server_error", "param": None, "code": None}
    assert_matches({"event": "error", "data": error}, "AssistantStreamEvent")
    created = json.loads(blocks[0]["data"])
    url = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    assert (await ok(client.get(url)))["status"] == "queued"  # left to expire
    clock.now += 600
    assert (await ok(client.get(url)))["status"] == "expired"


async def test_without_a_job_queue_a_run_that_cannot_start_is_answered_failed(
    client: httpx.AsyncClient, simulator: Simulator, flaky: FlakyD1, bucket: FolderR2, settings: Settings,
    clock: Clock
) -> None:
    queueless = create_app(Backends(ai=simulator, db=flaky, bucket=bucket), settings, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=queueless), base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as direct:
        asst = await assistant(direct)
        created_thread = await thread(direct, "echo: hello")
        flaky.arm(lambda sql: sql.startswith(CLAIM))
        failed = await ok(direct.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"]}),
                          "RunObject")
    assert failed["status"] == "failed" and failed["last_error"] == D1_FAILED


UNSENT = {"code": "server_error", "message": "The run could not be queued for execution."}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client marks the Assistants API deprecated
async def test_a_run_whose_job_cannot_be_sent_fails_and_the_clients_retry_makes_a_new_one(
    client: httpx.AsyncClient, jobs: FlakyJobs, ctx: AppContext
) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: hello")
    url = f"/v1/threads/{created_thread['id']}/runs"
    jobs.failures = 1
    error = error_of(await client.post(url, json={"assistant_id": asst["id"]}), 502)
    assert error["type"] == "server_error"
    [failed] = await listed(client, url, "ListRunsResponse")
    assert failed["status"] == "failed" and failed["last_error"] == UNSENT and failed["expires_at"] is None

    # The official client retries a 5xx; its retry finds the thread free and makes a new run.
    jobs.failures = 1
    official = AsyncOpenAI(base_url="http://testserver/v1", api_key=KEY, http_client=client, max_retries=1)
    created = await official.beta.threads.runs.create(created_thread["id"], assistant_id=asst["id"])
    assert created.status == "queued"
    assert [r["status"] for r in await listed(client, url, "ListRunsResponse")] == ["queued", "failed", "failed"]
    done = await finished(client, jobs, ctx, created.model_dump())
    assert done["status"] == "completed"


async def test_tool_outputs_whose_job_cannot_be_sent_fail_the_run(client: httpx.AsyncClient, jobs: FlakyJobs,
                                                                  ctx: AppContext) -> None:
    created_thread, created = await started(client, CALL_WEATHER)
    waiting = await finished(client, jobs, ctx, created)
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    submit = f"/v1/threads/{created_thread['id']}/runs/{created['id']}/submit_tool_outputs"
    outputs = {"tool_outputs": [{"tool_call_id": call, "output": "sunny"}]}
    jobs.failures = 1
    error_of(await client.post(submit, json=outputs), 502)
    failed = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}"), "RunObject")
    assert failed["status"] == "failed" and failed["last_error"] == UNSENT and failed["required_action"] is None
    steps = await listed(client, f"/v1/threads/{created_thread['id']}/runs/{created['id']}/steps", "ListRunStepsResponse")
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "failed")]
    # A retry of the same call is refused as the run has ended; the thread is free for a new run.
    assert error_of(await client.post(submit, json=outputs), 400)["message"] == \
        'Runs in status "failed" do not accept tool outputs.'
    again = await run(client, created_thread["id"], waiting["assistant_id"])
    assert (await finished(client, jobs, ctx, again))["status"] == "requires_action"


async def test_a_job_whose_sending_failed_but_got_through_is_answered_as_it_ran(client: httpx.AsyncClient,
                                                                               jobs: FlakyJobs, ctx: AppContext) -> None:
    created_thread = await thread(client, "echo: hello")
    asst = await assistant(client)
    jobs.failures, jobs.delivered = 1, ctx  # the job was sent and ran; only the Queue's answer was lost
    done = await ok(client.post(f"/v1/threads/{created_thread['id']}/runs", json={"assistant_id": asst["id"]}),
                    "RunObject")
    assert done["status"] == "completed" and done["last_error"] is None


# ---- expiry ---------------------------------------------------------------------------------------------


async def test_a_queued_run_expires_on_read_and_its_job_then_does_nothing(
    client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator
) -> None:
    created_thread, created = await started(client, "echo: late")
    clock.now += 600
    expired = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}"), "RunObject")
    assert expired["status"] == "expired"
    await jobs.drain(ctx)
    assert simulator.calls == []
    # the thread is free again
    asst = await assistant(client)
    assert (await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"])))["status"] == \
        "completed"


async def test_a_run_keeps_its_expiry_through_tool_outputs(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                            ctx: AppContext, clock: Clock) -> None:
    """``expires_at`` is set when the run is created and stays the same while it waits for tool outputs and once
    they are submitted, as OpenAI's (openai/openai-dotnet tests/SessionRecords/AssistantsTests/FunctionToolsWork.json:
    queued, requires_action, queued again and in_progress all ``"expires_at": 1761862279``)."""
    created_thread, created = await started(client, CALL_WEATHER)
    clock.now += 300
    waiting = await finished(client, jobs, ctx, created)
    assert waiting["status"] == "requires_action" and waiting["expires_at"] == created["expires_at"]
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    clock.now += 200
    base = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    queued = await ok(client.post(f"{base}/submit_tool_outputs",
                                  json={"tool_outputs": [{"tool_call_id": call, "output": "x"}]}))
    assert queued["status"] == "queued" and queued["expires_at"] == created["expires_at"]
    assert (await finished(client, jobs, ctx, queued))["status"] == "completed"


async def test_a_run_waiting_for_tool_outputs_expires(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                      ctx: AppContext, clock: Clock) -> None:
    created_thread, created = await started(client, CALL_WEATHER)
    waiting = await finished(client, jobs, ctx, created)
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    clock.now += 601
    base = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    r = await client.post(f"{base}/submit_tool_outputs", json={"tool_outputs": [{"tool_call_id": call, "output": "x"}]})
    assert error_of(r, 400)["message"] == 'Runs in status "expired" do not accept tool outputs.'
    steps = await listed(client, f"{base}/steps", "ListRunStepsResponse")
    # as OpenAI's steps, it shows its run's expires_at (the deadline it passed), no expired_at
    expired = await ok(client.get(base))
    assert expired["status"] == "expired" and expired["expires_at"] is not None
    assert steps[0]["status"] == "expired" and steps[0]["expires_at"] == expired["expires_at"]
    assert "expired_at" not in steps[0]


async def test_tool_outputs_that_lose_a_race_to_expiry(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                       ctx: AppContext, flaky: FlakyD1, clock: Clock) -> None:
    created_thread, created = await started(client, CALL_WEATHER)
    waiting = await finished(client, jobs, ctx, created)
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    passed: list[bool] = []

    def deadline_passes(sql: str) -> bool:  # right after the route has read the run, still waiting
        if sql.startswith(RUN_READ) and sql.endswith("WHERE id = ?") and not passed:
            passed.append(True)
            clock.now += run_status.RUN_TTL + 1
        return False

    flaky.arm(deadline_passes)
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/submit_tool_outputs",
                          json={"tool_outputs": [{"tool_call_id": call, "output": "sunny"}]})
    assert passed and error_of(r, 400)["message"] == 'Runs in status "expired" do not accept tool outputs.'
    expired = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}"), "RunObject")
    assert expired["status"] == "expired" and expired["required_action"] is None
    steps = await listed(client, f"/v1/threads/{created_thread['id']}/runs/{created['id']}/steps", "ListRunStepsResponse")
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "expired")]
    assert len(jobs) == 0  # nothing sent to execute it


async def test_a_cancel_that_keeps_losing_the_race_gives_up(client: httpx.AsyncClient, db: SQLiteD1,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    created_thread, created = await started(client, "echo: hi")
    transition = repositories_runs.transition
    tried: list[tuple[str, ...]] = []

    async def overtaken(db_: Any, run_id: str, sources: tuple[str, ...], status: str, *args: Any, **kwargs: Any) -> bool:
        if status in ("cancelled", "cancelling"):  # another actor moves the run first: queued ↔ in_progress
            tried.append(sources)
            other = "in_progress" if sources == ("queued",) else "queued"
            await db.prepare("UPDATE runs SET status = ? WHERE id = ?").bind(other, run_id).run()
        changed: bool = await transition(db_, run_id, sources, status, *args, **kwargs)  # type: ignore[arg-type]
        return changed

    monkeypatch.setattr(repositories_runs, "transition", overtaken)
    r = await client.post(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/cancel")
    assert error_of(r, 400)["message"] == "The run changed status while it was being cancelled; please retry."
    assert tried == [("queued",), ("in_progress",), ("queued",)]  # three tries, each overtaken
    assert (await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}")))["status"] == "in_progress"


async def test_the_cron_expires_overdue_runs(client: httpx.AsyncClient, app: Any, clock: Clock, db: SQLiteD1) -> None:
    created_thread, created = await started(client, "echo: x")
    ctx: AppContext = app.state.ctx
    assert "runs_expired" not in await run_scheduled(ctx.backends, ctx.settings, int(clock.now))
    clock.now += 600
    totals = await run_scheduled(ctx.backends, ctx.settings, int(clock.now))
    assert totals["runs_expired"] == 1 and totals["errors"] == 0
    status = db.conn.execute("SELECT status FROM runs WHERE id = ?", (created["id"],)).fetchone()[0]
    assert status == "expired"


async def test_a_cancelling_run_whose_executor_died_ends_cancelled(client: httpx.AsyncClient, ctx: AppContext,
                                                                   clock: Clock) -> None:
    created_thread, created = await started(client)
    base = f"/v1/threads/{created_thread['id']}/runs/{created['id']}"
    stream = executor.execute(ctx, created["id"])
    await until(stream, "thread.message.delta")  # the executor is never resumed: as if its Worker died
    assert (await ok(client.post(f"{base}/cancel")))["status"] == "cancelling"
    clock.now += 600
    ended = await ok(client.get(base), "RunObject")
    assert ended["status"] == "cancelled"
    assert (await messages_of(client, created_thread["id"]))[0]["status"] == "incomplete"
    await stream.aclose()


# ---- what the model is given ---------------------------------------------------------------------------


def prompt(simulator: Simulator) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = simulator.calls[-1][1]["messages"]
    return messages


async def test_instructions_then_the_thread(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                            simulator: Simulator) -> None:
    asst = await assistant(client, instructions="You are terse.")
    created_thread = await thread(client, "echo: one")
    await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"],
                                                additional_instructions="Today is Monday."))
    assert prompt(simulator) == [{"role": "system", "content": "You are terse.\n\nToday is Monday."},
                                 {"role": "user", "content": "echo: one"}]
    await ok(client.post(f"/v1/threads/{created_thread['id']}/messages", json={"role": "user", "content": "echo: two"}))
    await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert [m["content"] for m in prompt(simulator)] == ["You are terse.", "echo: one", "one", "echo: two"]


async def test_truncation_last_messages(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                        simulator: Simulator) -> None:
    asst = await assistant(client, instructions="Hi.")
    created_thread = await thread(client, *[f"echo: {i}" for i in range(6)])
    await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"],
                                                truncation_strategy={"type": "last_messages", "last_messages": 2}))
    assert [m["content"] for m in prompt(simulator)] == ["Hi.", "echo: 4", "echo: 5"]


async def test_max_prompt_tokens_drops_the_oldest_messages(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                           ctx: AppContext, simulator: Simulator) -> None:
    asst = await assistant(client, instructions="Hi.")
    big = "x" * 400  # ~100 tokens each
    created_thread = await thread(client, *[f"{big} {i}" for i in range(5)], "echo: last")
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"], max_prompt_tokens=256))
    assert done["status"] == "completed"
    assert [m["content"][-1:] for m in prompt(simulator)] == [".", "3", "4", "t"]


async def test_a_prompt_that_cannot_fit_max_prompt_tokens_ends_incomplete(client: httpx.AsyncClient,
                                                                          jobs: InProcessJobs, ctx: AppContext,
                                                                          simulator: Simulator) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "x" * 2000)
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"], max_prompt_tokens=256))
    assert done["status"] == "incomplete" and done["incomplete_details"] == {"reason": "max_prompt_tokens"}
    assert simulator.calls == []


async def test_max_prompt_tokens_covers_the_whole_run(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                     ctx: AppContext, simulator: Simulator) -> None:
    # OpenAI: "These limits apply to the total number of tokens used in all completions throughout the Run's
    # lifecycle. [...] If only 200 prompt tokens [...] are used in the first completion, the second completion
    # will have available limits of 300 prompt tokens". The simulator counts a word a token; the gateway
    # estimates four characters a token, so these ~210 words are ~120 tokens of prompt to fit.
    asst = await assistant(client)
    created_thread = await thread(client, CALL_WEATHER + "\n" + "w " * 200)
    waiting = await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"],
                                                         max_prompt_tokens=256))
    assert waiting["status"] == "requires_action"
    call = waiting["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    calls = len(simulator.calls)
    await ok(client.post(f"/v1/threads/{created_thread['id']}/runs/{waiting['id']}/submit_tool_outputs",
                         json={"tool_outputs": [{"tool_call_id": call, "output": "sunny"}]}))
    done = await finished(client, jobs, ctx, waiting)
    assert done["status"] == "incomplete" and done["incomplete_details"] == {"reason": "max_prompt_tokens"}
    assert len(simulator.calls) == calls  # no second completion: its prompt needs more than what is left
    used = done["usage"]["prompt_tokens"]  # the first completion's alone
    assert 200 < used < 256  # it fitted, and left 256 - used for the rest of the run


async def test_max_completion_tokens_ends_incomplete(client: httpx.AsyncClient, jobs: InProcessJobs,
                                                     ctx: AppContext) -> None:
    created_thread, created = await started(client, "echo: " + " ".join(["word"] * 300), max_completion_tokens=256)
    done = await finished(client, jobs, ctx, created)
    assert done["status"] == "incomplete" and done["incomplete_details"] == {"reason": "max_completion_tokens"}
    assert done["usage"]["completion_tokens"] == 256
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["status"] == "incomplete" and reply["incomplete_details"] == {"reason": "max_tokens"}
    assert len(reply["content"][0]["text"]["value"].split()) == 256


async def test_attached_text_files_go_in_as_context(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                                    simulator: Simulator) -> None:
    notes = await upload(client, "notes.txt", "The cat is called Tom. ✓".encode())
    blob = await upload(client, "blob.bin", bytes(range(256)))
    asst = await assistant(client)
    created_thread = await ok(client.post("/v1/threads", json={"messages": [{
        "role": "user", "content": "echo: What is the cat called?",
        "attachments": [{"file_id": notes, "tools": [{"type": "file_search"}]}, {"file_id": blob}]}]}))
    await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    assert prompt(simulator)[-1]["content"] == (
        "echo: What is the cat called?\n\n[Attached file notes.txt]\nThe cat is called Tom. ✓\n\n"
        "[Attached file blob.bin: not a text file, not shown]")
    await ok(client.delete(f"/v1/files/{notes}"))  # a file deleted since is left out
    await ok(client.post(f"/v1/threads/{created_thread['id']}/messages", json={"role": "user", "content": "echo: hm"}))
    await finished(client, jobs, ctx, await run(client, created_thread["id"], asst["id"]))
    # (the first reply, an echo, still quotes it: only the attachment itself is gone)
    assert prompt(simulator)[1]["content"] == (
        "echo: What is the cat called?\n\n[Attached file blob.bin: not a text file, not shown]")


async def test_images_go_to_vision_models_only(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                               simulator: Simulator) -> None:
    image = await upload(client, "dot.png", PNG, "vision")
    content = [{"type": "text", "text": "What is this?"}, {"type": "image_file", "image_file": {"file_id": image}}]
    created_thread = await ok(client.post("/v1/threads", json={"messages": [{"role": "user", "content": content}]}))
    await finished(client, jobs, ctx, await run(client, created_thread["id"], (await assistant(client))["id"]))
    reply = (await messages_of(client, created_thread["id"]))[0]
    assert reply["content"][0]["text"]["value"] == "I received 1 image: image/png."
    parts = prompt(simulator)[-1]["content"]
    assert any(str(p.get("image_url", {}).get("url", "")).startswith("data:image/png;base64,") for p in parts)

    plain = await ok(client.post("/v1/assistants", json={"model": LLAMA}))
    await ok(client.post(f"/v1/threads/{created_thread['id']}/messages", json={"role": "user", "content": content}))
    done = await finished(client, jobs, ctx, await run(client, created_thread["id"], plain["id"]))
    assert done["status"] == "completed"
    assert prompt(simulator)[-1]["content"] == "What is this?"


async def test_a_stream_reports_a_run_it_could_not_claim(client: httpx.AsyncClient, ctx: AppContext) -> None:
    created_thread, created = await started(client, "echo: x")
    await ok(client.post(f"/v1/threads/{created_thread['id']}/runs/{created['id']}/cancel"))
    assert [e.event for e in await rest(executor.execute(ctx, created["id"]))] == ["thread.run.cancelled"]


async def test_a_run_of_a_thread_made_by_another_client_is_the_thread_owners(
    simulator: Simulator, db: SQLiteD1, bucket: FolderR2, settings: Settings
) -> None:
    """A job carries no key: the executor reads the run and its files by id (checked when they were attached)."""
    local = InProcessJobs()
    app = create_app(Backends(ai=simulator, db=db, bucket=bucket, jobs=local), settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        notes = await upload(client, "n.txt", b"owned text")
        asst = await assistant(client)
        created_thread = await ok(client.post("/v1/threads", json={"messages": [{
            "role": "user", "content": "echo: read", "attachments": [{"file_id": notes}]}]}))
        await finished(client, local, app.state.ctx, await run(client, created_thread["id"], asst["id"]))
        assert "owned text" in (await messages_of(client, created_thread["id"]))[0]["content"][0]["text"]["value"]


# ---- an executor that dies: its run taken over by a redelivered job -------------------------------------


async def claimed_by_a_dead_executor(client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext,
                                     text: str = "echo: hello", *, replying: bool = False
                                     ) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A thread and a run whose job was delivered and claimed it (``in_progress``, its liveness mark now) —
    and, ``replying``, started its reply (a message and its step, ``in_progress``) — and whose process then
    died; and the dead executor's claim."""
    created_thread, created = await started(client, text)
    jobs.store = MemoryJobs()  # the job was taken …
    stored = await repositories_runs.get_by_id(ctx.backends.db, created["id"])
    assert stored is not None
    claim = await executor._claim(ctx, stored)  # … claimed the run …
    assert claim is not None
    if replying:  # … began its reply, and died
        running = stored.run.model_copy(update={"status": "in_progress"})
        async for _ in executor._Generation(ctx, running, claim=claim)._start_message():
            pass
    return created_thread, created, claim


async def steps_of(client: httpx.AsyncClient, created: dict[str, Any]) -> list[dict[str, Any]]:
    return await listed(client, f"/v1/threads/{created['thread_id']}/runs/{created['id']}/steps?order=asc",
                        "ListRunStepsResponse")


async def in_order(client: httpx.AsyncClient, thread_id: str) -> list[dict[str, Any]]:
    return await listed(client, f"/v1/threads/{thread_id}/messages?order=asc", "ListMessagesResponse")


async def test_a_run_whose_executor_died_is_taken_over_by_its_redelivered_job(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator) -> None:
    created_thread, created, _ = await claimed_by_a_dead_executor(client, jobs, ctx, replying=True)
    assert [m["status"] for m in await in_order(client, created_thread["id"])] == ["completed", "in_progress"]
    clock.now += executor.STALE_AFTER + 1  # its mark not refreshed since: the executor is taken for dead
    job = Job(executor.JOB_KIND, created["id"])
    await executor.run_job(ctx, job)  # the Queue delivers its job again (locally: its lease lapsed)
    done = await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}"), "RunObject")
    assert done["status"] == "completed" and len(simulator.calls) == 1
    replies = await in_order(client, created_thread["id"])  # the dead executor's reply dropped, not doubled
    assert [(m["role"], m["status"]) for m in replies] == [("user", "completed"), ("assistant", "completed")]
    assert replies[1]["content"][0]["text"]["value"] == "hello"
    assert [(s["type"], s["status"]) for s in await steps_of(client, created)] == [("message_creation", "completed")]
    await executor.run_job(ctx, job)  # once more: it has ended, nothing to do
    assert len(simulator.calls) == 1 and len(jobs) == 0


async def test_a_taken_over_run_records_the_tool_outputs_its_dead_executor_had_not(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock) -> None:
    """The tool-calls step awaiting the submitted outputs is not the dead executor's to drop: its taker
    records them, and the model goes on."""
    created_thread, created = await started(client, CALL_WEATHER)
    assert (await finished(client, jobs, ctx, created))["status"] == "requires_action"
    pending = (await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}")))["required_action"]
    call = pending["submit_tool_outputs"]["tool_calls"][0]
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}/submit_tool_outputs"
    await ok(client.post(url, json={"tool_outputs": [{"tool_call_id": call["id"], "output": "sunny"}]}))
    jobs.store = MemoryJobs()  # its job taken, the run claimed, and the process dead
    stored = await repositories_runs.get_by_id(ctx.backends.db, created["id"])
    assert stored is not None and await executor._claim(ctx, stored) is not None
    clock.now += executor.STALE_AFTER + 1
    await executor.run_job(ctx, Job(executor.JOB_KIND, created["id"]))
    done = await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}"), "RunObject")
    assert done["status"] == "completed"
    steps = await steps_of(client, created)
    assert [(s["type"], s["status"]) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    assert steps[0]["step_details"]["tool_calls"][0]["function"]["output"] == "sunny"


async def test_a_fresh_mark_is_not_taken_over_and_the_run_job_comes_back(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator) -> None:
    created_thread, created, _ = await claimed_by_a_dead_executor(client, jobs, ctx)
    clock.now += 60
    await executor.run_job(ctx, Job(executor.JOB_KIND, created["id"]))
    assert simulator.calls == [] and len(jobs) == 1
    assert jobs.store.next_due() == clock.now + executor.STALE_AFTER - 60 + 1
    clock.now += executor.STALE_AFTER - 60 + 1
    assert await jobs.drain(ctx) == 1  # now stale: taken over
    done = await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}"), "RunObject")
    assert done["status"] == "completed" and len(simulator.calls) == 1 and len(jobs) == 0


async def test_the_job_of_a_live_executor_comes_back_until_the_run_expires(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator) -> None:
    created_thread, created, claim = await claimed_by_a_dead_executor(client, jobs, ctx)
    await jobs.send(Job(executor.JOB_KIND, created["id"]))  # a second delivery of its job
    deliveries = 0
    while len(jobs):
        due = jobs.store.next_due()
        assert due is not None
        clock.now = due
        assert await repositories_runs.refresh(ctx.backends.db, created["id"], claim, int(clock.now))  # alive
        assert await jobs.drain(ctx) == 1
        deliveries += 1
        assert deliveries <= run_status.RUN_TTL // executor.STALE_AFTER + 2
    expired = await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}"), "RunObject")
    assert expired["status"] == "expired" and simulator.calls == []


async def test_a_slow_executor_taken_over_writes_nothing(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An executor that was only slow loses to the delivery that took its run over, even when its model
    answers first: its reply, its steps and its end are conditional on its claim, so none is written; the
    run ends as its taker writes it."""
    created_thread, created = await started(client, "echo: hello")
    jobs.store = MemoryJobs()
    job = Job(executor.JOB_KIND, created["id"])
    slow_call, taker_call = Held("stale"), Held("fresh")
    held(simulator, monkeypatch, slow_call, taker_call)
    slow = asyncio.create_task(executor.run_job(ctx, job))
    await asyncio.wait_for(slow_call.entered.wait(), 5)
    clock.now += executor.STALE_AFTER + 1  # no refresh meanwhile (one is due every 30 real seconds)
    taker = asyncio.create_task(executor.run_job(ctx, job))
    await asyncio.wait_for(taker_call.entered.wait(), 5)
    slow_call.release.set()
    await asyncio.wait_for(slow, 5)  # its model answers first: nothing of it is written
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}"
    assert (await ok(client.get(url)))["status"] == "in_progress"
    assert [m["role"] for m in await in_order(client, created_thread["id"])] == ["user"]
    assert await steps_of(client, created) == []
    taker_call.release.set()
    await asyncio.wait_for(taker, 5)
    assert (await ok(client.get(url), "RunObject"))["status"] == "completed"
    replies = await in_order(client, created_thread["id"])
    assert [m["role"] for m in replies] == ["user", "assistant"] and replies[1]["content"][0]["text"]["value"] == "fresh"
    assert [(s["type"], s["status"]) for s in await steps_of(client, created)] == [("message_creation", "completed")]


async def test_a_run_executor_taken_over_is_stopped_by_its_next_refresh(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "REFRESH_EVERY", 0.01)
    created_thread, created = await started(client, "echo: hello")
    jobs.store = MemoryJobs()
    slow_call = Held("stale")
    held(simulator, monkeypatch, slow_call)
    slow = asyncio.create_task(executor.run_job(ctx, Job(executor.JOB_KIND, created["id"])))
    await asyncio.wait_for(slow_call.entered.wait(), 5)
    clock.now += 10
    await asyncio.sleep(0.05)  # it refreshes its mark while its model works
    stored = await repositories_runs.get_by_id(ctx.backends.db, created["id"])
    assert stored is not None and stored.updated_at == int(clock.now)
    clock.now += executor.STALE_AFTER + 1  # … then its process stalls
    now = int(clock.now)
    assert await repositories_runs.take_over(ctx.backends.db, created["id"], now, now - executor.STALE_AFTER)
    await asyncio.wait_for(slow, 5)  # its next refresh finds it taken over: it is stopped, handing nothing back
    assert not slow_call.release.is_set() and len(jobs) == 0
    assert (await ok(client.get(f"/v1/threads/{created['thread_id']}/runs/{created['id']}")))["status"] == "in_progress"


# ---- a cancel of a run whose executor died ---------------------------------------------------------------


async def test_a_cancel_of_a_run_whose_executor_died_cancels_it_at_once(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator) -> None:
    """No executor is left to end the cancel: the cancel ends it, as OpenAI's would, not its expiry."""
    created_thread, created, _ = await claimed_by_a_dead_executor(client, jobs, ctx, replying=True)
    clock.now += executor.STALE_AFTER + 1
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}"
    cancelled = await ok(client.post(f"{url}/cancel"), "RunObject")
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] == int(clock.now)
    assert [m["status"] for m in await in_order(client, created_thread["id"])] == ["completed", "incomplete"]
    assert [(s["type"], s["status"]) for s in await steps_of(client, created)] == [("message_creation", "cancelled")]
    await executor.run_job(ctx, Job(executor.JOB_KIND, created["id"]))  # its job delivered again: nothing to do
    assert simulator.calls == [] and (await ok(client.get(url)))["status"] == "cancelled"


async def test_a_cancelling_run_whose_executor_dies_is_cancelled_when_its_mark_goes_stale(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator) -> None:
    """Cancelled while its executor still looked alive, then the executor is gone: the move to ``cancelling``
    keeps the executor's mark, and once that is stale a read — or the job's next delivery — cancels it."""
    created_thread, created, _ = await claimed_by_a_dead_executor(client, jobs, ctx)
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}"
    clock.now += 60
    assert (await ok(client.post(f"{url}/cancel")))["status"] == "cancelling"
    await executor.run_job(ctx, Job(executor.JOB_KIND, created["id"]))  # its mark fresh: comes back when stale
    assert len(jobs) == 1 and jobs.store.next_due() == clock.now + executor.STALE_AFTER - 60 + 1
    assert (await ok(client.get(url)))["status"] == "cancelling"
    clock.now += executor.STALE_AFTER - 60 + 1
    assert await jobs.drain(ctx) == 1
    stored = await repositories_runs.get_by_id(ctx.backends.db, created["id"])
    assert stored is not None and stored.run.status == "cancelled" and simulator.calls == []
    assert len(jobs) == 0


async def test_a_cancelling_run_is_cancelled_by_a_read_once_its_executor_is_stale(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock) -> None:
    created_thread, created, _ = await claimed_by_a_dead_executor(client, jobs, ctx, replying=True)
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}"
    assert (await ok(client.post(f"{url}/cancel")))["status"] == "cancelling"
    clock.now += executor.STALE_AFTER + 1
    assert (await ok(client.get(url), "RunObject"))["status"] == "cancelled"
    assert [m["status"] for m in await in_order(client, created_thread["id"])] == ["completed", "incomplete"]


async def test_a_live_executor_ending_a_cancel_slowly_is_not_overtaken(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock) -> None:
    """An executor that goes on refreshing its mark while ``cancelling`` keeps the run: neither a read nor a
    cancel ends it for it."""
    created_thread, created, claim = await claimed_by_a_dead_executor(client, jobs, ctx)
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}"
    clock.now += executor.STALE_AFTER - 1
    assert await repositories_runs.refresh(ctx.backends.db, created["id"], claim, int(clock.now))
    assert (await ok(client.post(f"{url}/cancel")))["status"] == "cancelling"
    clock.now += executor.STALE_AFTER - 1
    assert await repositories_runs.refresh(ctx.backends.db, created["id"], claim, int(clock.now))  # alive, slow
    clock.now += executor.STALE_AFTER - 1
    assert (await ok(client.get(url)))["status"] == "cancelling"
    error_of(await client.post(f"{url}/cancel"), 400)


async def test_an_abandoned_cancel_loses_to_a_delivery_that_took_the_run_over(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock) -> None:
    created_thread, created, _ = await claimed_by_a_dead_executor(client, jobs, ctx)
    clock.now += executor.STALE_AFTER + 1
    now = int(clock.now)
    stale = await repositories_runs.get_by_id(ctx.backends.db, created["id"])
    assert stale is not None
    assert await repositories_runs.take_over(ctx.backends.db, created["id"], now, now - executor.STALE_AFTER)
    assert not await run_status.cancel_abandoned(ctx.backends.db, stale, now)  # its claim is gone
    assert await repositories_runs.status_of(ctx.backends.db, created["id"]) == "in_progress"


# ---- a streamed run whose process died: taken over by its watchdog ------------------------------------


async def test_a_streamed_run_whose_process_died_is_taken_over_by_its_watchdog(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator) -> None:
    created_thread, created = await started(client, "echo: hello")
    jobs.store = MemoryJobs()  # executed in its request instead (its job, for the test, gone)
    stream = executor.execute(ctx, created["id"])
    await until(stream, "thread.message.delta")  # the stream is never resumed: as if its process died
    assert len(jobs) == 1 and await jobs.drain(ctx) == 0  # its watchdog, due when its mark would be stale
    clock.now += executor.STALE_AFTER + 1
    assert await jobs.drain(ctx) == 1
    url = f"/v1/threads/{created['thread_id']}/runs/{created['id']}"
    assert (await ok(client.get(url), "RunObject"))["status"] == "completed" and len(simulator.calls) == 2
    replies = await in_order(client, created_thread["id"])  # the dead stream's reply dropped, not doubled
    assert [(m["role"], m["status"]) for m in replies] == [("user", "completed"), ("assistant", "completed")]
    assert [(s["type"], s["status"]) for s in await steps_of(client, created)] == [("message_creation", "completed")]
    await stream.aclose()  # closed at last: taken over, it hands nothing back
    assert (await ok(client.get(url)))["status"] == "completed" and len(jobs) == 0


async def test_a_streamed_run_refreshes_its_mark_and_its_watchdog_leaves_it_be(
        client: httpx.AsyncClient, jobs: InProcessJobs, ctx: AppContext, clock: Clock, simulator: Simulator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(liveness, "REFRESH_EVERY", 0.01)
    created_thread, created = await started(client, "echo: hello")
    jobs.store = MemoryJobs()
    call = Held("live")
    held(simulator, monkeypatch, call)
    streaming = asyncio.create_task(rest(executor.execute(ctx, created["id"])))
    await asyncio.wait_for(call.entered.wait(), 5)
    clock.now += executor.STALE_AFTER + 1
    await asyncio.sleep(0.05)  # it refreshes its mark while its model works
    stored = await repositories_runs.get_by_id(ctx.backends.db, created["id"])
    assert stored is not None and stored.updated_at == int(clock.now)
    assert await jobs.drain(ctx) == 1  # the watchdog finds it alive: comes back later, executes nothing
    assert len(jobs) == 1 and len(simulator.calls) == 0
    call.release.set()
    events = await asyncio.wait_for(streaming, 5)
    assert events[-1].event == "thread.run.completed" and len(simulator.calls) == 1
