"""Background jobs: the port, the handlers, the in-process runner (drained and running), the Queue consumer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import httpx
import pytest

from openai_workers_ai import jobs as jobs_module
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.context import AppContext
from openai_workers_ai.jobs import InProcessJobs, MemoryJobs, consume, execute
from openai_workers_ai.ports import MAX_DELAY, Backends, Job
from openai_workers_ai.repositories import images
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .assistants import assistant, ok, run, thread
from .conftest import KEY, Clock

TTL = 600



@pytest.fixture
def runner(clock: Clock) -> InProcessJobs:
    return InProcessJobs(clock)


@pytest.fixture
def app(simulator: Simulator, db: SQLiteD1, bucket: FolderR2, runner: InProcessJobs, clock: Clock):  # noqa: ANN201
    settings = Settings(access_token=(KEY,), image_url_ttl=TTL)
    return create_app(Backends(ai=simulator, db=db, bucket=bucket, jobs=runner), settings, clock=clock)


@pytest.fixture
def ctx(app) -> AppContext:  # noqa: ANN001
    context: AppContext = app.state.ctx
    return context


async def generate(client: httpx.AsyncClient) -> str:
    r = await client.post("/v1/images/generations", json={"prompt": "a cat", "model": "dall-e-2", "response_format": "url"})
    assert r.status_code == 200, r.text
    return str(r.json()["data"][0]["url"]).rsplit("/", 1)[1]


async def stored_images(bucket: FolderR2) -> list[str]:
    return [o.key for o in await bucket.list(images.PREFIX)]


async def test_a_generated_image_is_deleted_by_its_job_when_it_expires(
    client: httpx.AsyncClient, ctx: AppContext, runner: InProcessJobs, clock: Clock, bucket: FolderR2
) -> None:
    name = await generate(client)
    assert len(runner) == 1  # sent when the image was stored, due at its expiry
    assert await runner.drain(ctx) == 0  # not due yet
    assert (await client.get(f"/v1/images/{name}")).status_code == 200
    clock.now += TTL
    assert await runner.drain(ctx) == 1
    assert await stored_images(bucket) == []
    assert (await client.get(f"/v1/images/{name}")).status_code == 404


async def test_a_redelivered_or_early_job_is_harmless(
    client: httpx.AsyncClient, ctx: AppContext, runner: InProcessJobs, clock: Clock, bucket: FolderR2
) -> None:
    name = await generate(client)
    job = Job("images.expire", name)
    await execute(ctx, job)  # delivered early: the image stays, the job comes back at the expiry
    assert await stored_images(bucket) != [] and len(runner) == 2
    clock.now += TTL
    assert await runner.drain(ctx) == 2  # both copies run; the second finds nothing left to do
    await execute(ctx, job)  # and a third, redelivered later
    assert await stored_images(bucket) == [] and len(runner) == 0


async def test_a_long_delay_is_capped_at_the_queue_limit(ctx: AppContext, runner: InProcessJobs, clock: Clock) -> None:
    await jobs_module.send(ctx, Job("images.expire", "x.png"), delay=10 * MAX_DELAY)
    clock.now += MAX_DELAY
    assert await runner.drain(ctx) == 1


async def test_failures_are_retried_then_dropped(
    ctx: AppContext, runner: InProcessJobs, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    async def flaky(context: AppContext, job: Job) -> None:
        attempts.append(job.id)
        if job.id == "always" or attempts.count(job.id) == 1:
            raise RuntimeError("boom")

    monkeypatch.setitem(jobs_module.HANDLERS, "test.flaky", flaky)
    await runner.send(Job("test.flaky", "once"))
    await runner.send(Job("test.flaky", "always"))
    await runner.send(Job("no.such.kind", "x"))  # dropped, not retried
    assert await runner.drain(ctx) == 3 + 1 + 2  # three jobs; "once" again; "always" twice more
    assert attempts.count("once") == 2 and attempts.count("always") == runner.max_attempts
    assert len(runner) == 0


class Delivery:
    def __init__(self, body: object) -> None:
        self.body, self.fate = body, ""

    @property
    def job(self) -> Job | None:
        return Job.from_json(self.body)

    def ack(self) -> None:
        self.fate = "ack"

    def retry(self) -> None:
        self.fate = "retry"


async def test_a_queue_batch_is_acked_or_retried_per_message(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def handler(context: AppContext, job: Job) -> None:
        if job.id == "bad":
            raise RuntimeError("boom")

    monkeypatch.setitem(jobs_module.HANDLERS, "test.kind", handler)
    batch = [Delivery({"kind": "test.kind", "id": "good", "owner": "o"}), Delivery({"kind": "test.kind", "id": "bad"}),
             Delivery("not a job"), Delivery({"kind": "unknown", "id": "x"})]
    await consume(ctx, batch)
    assert [d.fate for d in batch] == ["ack", "retry", "ack", "ack"]


class Watched(Delivery):
    """A delivery whose fate is told to ``fated`` as it is decided."""

    def __init__(self, body: object, fated: asyncio.Event) -> None:
        super().__init__(body)
        self.fated = fated

    def ack(self) -> None:
        super().ack()
        self.fated.set()

    def retry(self) -> None:
        super().retry()
        self.fated.set()


async def test_a_queue_batch_runs_its_jobs_concurrently(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    both = asyncio.Event()

    async def slow(context: AppContext, job: Job) -> None:  # each waits for the other to start: one at a time, it fails
        started.append(job.id)
        if len(started) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), timeout=5)

    monkeypatch.setitem(jobs_module.HANDLERS, "test.slow", slow)
    batch = [Delivery({"kind": "test.slow", "id": "a"}), Delivery({"kind": "test.slow", "id": "b"})]
    await asyncio.wait_for(consume(ctx, batch), timeout=10)
    assert [d.fate for d in batch] == ["ack", "ack"]


async def test_a_failed_job_is_retried_while_the_others_of_its_batch_run_on(ctx: AppContext,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bad_fated = asyncio.Event()

    async def handler(context: AppContext, job: Job) -> None:
        if job.id == "bad":
            raise RuntimeError("boom")
        await asyncio.wait_for(bad_fated.wait(), timeout=5)  # still running when the failed one is retried

    monkeypatch.setitem(jobs_module.HANDLERS, "test.kind", handler)
    batch = [Delivery({"kind": "test.kind", "id": "good"}), Watched({"kind": "test.kind", "id": "bad"}, bad_fated)]
    await asyncio.wait_for(consume(ctx, batch), timeout=10)
    assert [d.fate for d in batch] == ["ack", "retry"]


async def test_a_queue_batch_runs_at_most_concurrency_jobs_at_once(ctx: AppContext,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    running: list[str] = []
    most = 0

    async def counted(context: AppContext, job: Job) -> None:
        nonlocal most
        running.append(job.id)
        most = max(most, len(running))
        for _ in range(3):
            await asyncio.sleep(0)
        running.remove(job.id)

    monkeypatch.setitem(jobs_module.HANDLERS, "test.counted", counted)
    batch = [Delivery({"kind": "test.counted", "id": str(i)}) for i in range(5)]
    await consume(ctx, batch, concurrency=2)
    assert most == 2 and [d.fate for d in batch] == ["ack"] * 5


async def test_a_run_delivered_twice_in_one_batch_generates_once(client: httpx.AsyncClient, ctx: AppContext,
                                                                 simulator: Simulator) -> None:
    asst = await assistant(client)
    created_thread = await thread(client, "echo: once")
    created = await run(client, created_thread["id"], asst["id"])
    body = Job("runs.execute", created["id"]).to_json()
    batch = [Delivery(body), Delivery(body)]  # the two deliveries race for the run's claim
    await consume(ctx, batch)
    assert [d.fate for d in batch] == ["ack", "ack"]
    done = await ok(client.get(f"/v1/threads/{created_thread['id']}/runs/{created['id']}"))
    assert done["status"] == "completed" and len(simulator.calls) == 1


def test_jobs_travel_as_json() -> None:
    job = Job("images.expire", "abc.png", owner="k")
    assert Job.from_json(job.to_json()) == job
    assert Job.from_json({"kind": "k", "id": "i"}) == Job("k", "i")
    assert Job.from_json({"kind": "k"}) is None and Job.from_json([1]) is None


async def test_the_running_runner_executes_jobs_as_they_come_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []
    done = asyncio.Event()

    async def record(context: AppContext, job: Job) -> None:
        ran.append(job.id)
        if len(ran) == 2:
            done.set()

    monkeypatch.setitem(jobs_module.HANDLERS, "test.record", record)
    runner = InProcessJobs()
    app = create_app(Backends(ai=Simulator(), db=SQLiteD1(), bucket=FolderR2(tmp_path), jobs=runner), Settings())
    async with runner.running(app.state.ctx):
        await runner.send(Job("test.record", "later"), delay=1)
        await runner.send(Job("test.record", "now"))
        await asyncio.wait_for(done.wait(), timeout=5)
    assert ran == ["now", "later"]


async def test_without_a_queue_nothing_is_sent(tmp_path: Path) -> None:
    app = create_app(Backends(ai=Simulator(), db=SQLiteD1(), bucket=FolderR2(tmp_path)), Settings())
    assert await jobs_module.send(app.state.ctx, Job("images.expire", "x.png")) is False



async def test_a_stop_that_lands_as_the_runner_wakes_still_stops_it() -> None:
    """The runner woken (a job sent, or one ending) in the very turn it is told to stop: it stops. (Python
    3.11's ``asyncio.wait_for`` returns, swallowing the cancel, when the wait it was cancelled in has just
    ended: the runner went on, and ``running()`` waited for it forever.)"""
    store = MemoryJobs()
    store.poll = 1.0  # a timed wait, as the jobs file's runner waits
    runner = InProcessJobs(store=store)

    async def stopped_as_woken() -> None:
        async with runner.running(cast(AppContext, None)):
            for _ in range(3):
                await asyncio.sleep(0)  # the runner waits to be woken
            runner._wake.set()  # woken … and stopped in the same turn

    await asyncio.wait_for(stopped_as_woken(), timeout=5)


async def test_a_job_that_hangs_is_cancelled_at_its_ceiling_retried_then_dropped(
    ctx: AppContext, clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cancelled: list[str] = []

    async def hangs(context: AppContext, job: Job) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(job.id)
            raise

    monkeypatch.setitem(jobs_module.HANDLERS, "test.hangs", hangs)
    runner = InProcessJobs(clock, max_run=0.01)
    await runner.send(Job("test.hangs", "stuck"))
    assert await runner.drain(ctx) == runner.max_attempts  # each attempt cut short, then it is dropped
    assert cancelled == ["stuck"] * runner.max_attempts and len(runner) == 0
    assert "job test.hangs stuck ran for more than 0.01 s; cancelled" in caplog.text
    assert f"job test.hangs stuck failed {runner.max_attempts} times; dropped" in caplog.text


async def test_a_job_within_its_ceiling_is_not_cut_short(ctx: AppContext, clock: Clock,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    async def brief(context: AppContext, job: Job) -> None:
        await asyncio.sleep(0)
        ran.append(job.id)

    monkeypatch.setitem(jobs_module.HANDLERS, "test.brief", brief)
    runner = InProcessJobs(clock, max_run=5)
    await runner.send(Job("test.brief", "quick"))
    assert await runner.drain(ctx) == 1 and ran == ["quick"] and len(runner) == 0
