"""OpenAI's webhook events (``webhooks.py``, docs/webhooks.md): signed as the official client's
``client.webhooks.unwrap`` / ``verify_signature`` checks; sent once when a background response or a batch
ends, through a ``webhooks.send`` job; retried with the same event id; none when the settings are unset."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import httpx
import openai
import openai.lib._webhooks as openai_webhooks
import pytest

from openai_workers_ai import webhooks
from openai_workers_ai.adapters.local import FolderR2, SQLiteD1
from openai_workers_ai.app import create_app
from openai_workers_ai.jobs import InProcessJobs
from openai_workers_ai.maintenance import run_scheduled
from openai_workers_ai.ports import MAX_DELAY, Backends, Fetched, Job
from openai_workers_ai.runner import responses as runner
from openai_workers_ai.settings import Settings
from openai_workers_ai.simulator import Simulator

from .conftest import KEY, Clock
from .openapi import assert_matches

SECRET = "whsec_" + base64.b64encode(b"a test secret of thirty-two byte").decode()
HOOK = "https://hooks.example.com/openai"
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
CHAT = "/v1/chat/completions"


def unwrap(body: bytes, headers: dict[str, str], secret: str = SECRET) -> Any:
    """What a receiver using the official client does with a delivery."""
    return openai.OpenAI(api_key="unused").webhooks.unwrap(body, headers, secret=secret)


class Receiver:
    """A :class:`~openai_workers_ai.ports.Fetcher` standing in for the network: records every POST; the
    first ``failures`` of them fail as a receiver answering 500 would."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        self.failures = 0

    async def get(self, url: str, *, max_bytes: int) -> Fetched:
        raise AssertionError("no GET expected")

    async def post(self, url: str, body: bytes, *, headers: dict[str, str]) -> None:
        self.posts.append((url, body, headers))
        if self.failures:
            self.failures -= 1
            raise OSError("HTTP 500")

    def events(self, at: float | None = None) -> list[Any]:
        """Every delivery, unwrapped (so verified) by the official client — whose clock reads ``at`` when
        the test's clock was moved (it refuses a ``webhook-timestamp`` five minutes off its own)."""
        if at is None:
            return [unwrap(body, headers) for _, body, headers in self.posts]
        with mock.patch.object(openai_webhooks, "time", SimpleNamespace(time=lambda: at)):
            return [unwrap(body, headers) for _, body, headers in self.posts]


@pytest.fixture
def clock() -> Clock:
    now = Clock()
    now.now = float(int(time.time()))  # the client refuses a webhook-timestamp five minutes off its own clock
    return now


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def settings() -> Settings:
    return Settings(access_token=(KEY,), webhook_url=HOOK, webhook_secret=SECRET)


@pytest.fixture
def app(simulator: Simulator, db: SQLiteD1, bucket: FolderR2, receiver: Receiver, clock: Clock,
        settings: Settings) -> Any:
    backends = Backends(ai=simulator, db=db, bucket=bucket, fetcher=receiver, jobs=InProcessJobs(clock))
    return create_app(backends, settings, clock=clock)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as c:
        yield c


async def drain(app: Any) -> int:
    jobs = app.state.ctx.backends.jobs
    assert isinstance(jobs, InProcessJobs)
    return await jobs.drain(app.state.ctx)


async def background(client: httpx.AsyncClient, text: str = "echo: later", **body: Any) -> dict[str, Any]:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": text, "background": True, **body})
    assert r.status_code == 200, r.text
    response: dict[str, Any] = r.json()
    return response


def check_event(event: Any, event_type: str, object_id: str) -> None:
    assert (event.type, event.object, event.data.id) == (event_type, "event", object_id)
    assert event.id.startswith("evt_")
    schema = "Webhook" + "".join(part.capitalize() for part in event_type.split("."))
    assert_matches(event.to_dict(), schema)


# ---- the signature ----------------------------------------------------------------------------------


def test_the_official_client_verifies_what_is_sent() -> None:
    event = webhooks.Event("evt_abc123", "response.completed", "resp_abc123", 1719168000)
    body, now = event.body(), int(time.time())
    headers = webhooks.headers(SECRET, event, body, now)
    assert headers["webhook-id"] == "wh_abc123" and headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,") and headers["content-type"] == "application/json"
    assert json.loads(body) == {"id": "evt_abc123", "object": "event", "created_at": 1719168000,
                                "type": "response.completed", "data": {"id": "resp_abc123"}}
    got = unwrap(body, headers)
    assert isinstance(got, openai.types.webhooks.ResponseCompletedWebhookEvent)
    assert (got.id, got.type, got.created_at, got.data.id) == ("evt_abc123", "response.completed", 1719168000,
                                                               "resp_abc123")
    client = openai.OpenAI(api_key="unused")
    other = "whsec_" + base64.b64encode(b"another secret").decode()
    for args, secret in (((body, headers), other),  # another secret
                         ((body.replace(b"resp_abc123", b"resp_zzz999"), headers), SECRET),  # the body changed
                         ((body, {**headers, "webhook-id": "wh_other"}), SECRET),  # the id changed
                         ((body, webhooks.headers(SECRET, event, body, now - 301)), SECRET)):  # too old
        with pytest.raises(openai.InvalidWebhookSignatureError):
            client.webhooks.verify_signature(*args, secret=secret)
    plain = webhooks.headers("not-a-whsec-secret", event, body, now)  # taken as its UTF-8 bytes, as the client does
    assert unwrap(body, plain, secret="not-a-whsec-secret").id == "evt_abc123"
    with pytest.raises(ValueError, match="not base64"):
        webhooks.signing_key("whsec_not*base64")


def test_an_event_travels_as_a_job_id() -> None:
    event = webhooks.Event("evt_x1", "batch.expired", "batch_abc", 1719168000)
    assert webhooks.Event.from_job_id(event.job_id()) == event
    assert webhooks.Event.from_job_id("evt_x1/batch.expired/batch_abc") is None
    again = webhooks.Event("evt_x1", "batch.expired", "batch_abc", 1719168000, retries=3)
    assert webhooks.Event.from_job_id(again.job_id()) == again and again.job_id() == event.job_id() + "/3"
    assert webhooks.Event.from_job_id(again.job_id() + "/1") is None
    assert webhooks.enabled(Settings(webhook_url=HOOK, webhook_secret=SECRET))
    assert not webhooks.enabled(Settings(webhook_url=HOOK)) and not webhooks.enabled(Settings(webhook_secret=SECRET))
    assert Settings.from_mapping({"WEBHOOK_URL": HOOK, "WEBHOOK_SECRET": SECRET}).webhook_secret == SECRET


# ---- background responses ---------------------------------------------------------------------------


async def test_a_completed_background_response_sends_one_event(client: httpx.AsyncClient, app: Any,
                                                               receiver: Receiver) -> None:
    response = await background(client)
    assert receiver.posts == []  # nothing until it ends
    await drain(app)
    [event] = receiver.events()
    check_event(event, "response.completed", response["id"])
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()
    assert stored["status"] == "completed" and event.created_at == stored["completed_at"]
    url, _, headers = receiver.posts[0]
    assert url == HOOK and headers["webhook-id"] == "wh_" + event.id.removeprefix("evt_")
    # the response job delivered again changes nothing, and sends nothing
    await app.state.ctx.backends.jobs.send(Job(runner.JOB_KIND, response["id"]))
    await drain(app)
    assert len(receiver.posts) == 1


async def test_an_incomplete_background_response(client: httpx.AsyncClient, app: Any, receiver: Receiver) -> None:
    response = await background(client, "echo: " + "many words " * 40, max_output_tokens=16)
    await drain(app)
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()
    assert stored["status"] == "incomplete"
    [event] = receiver.events()
    check_event(event, "response.incomplete", response["id"])


async def test_a_cancelled_background_response_sends_cancelled_only(client: httpx.AsyncClient, app: Any,
                                                                    receiver: Receiver) -> None:
    response = await background(client)
    r = await client.post(f"/v1/responses/{response['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert (await client.post(f"/v1/responses/{response['id']}/cancel")).status_code == 200  # again: no new event
    await drain(app)  # its job finds it cancelled
    [event] = receiver.events()
    check_event(event, "response.cancelled", response["id"])


async def test_a_background_response_past_its_deadline_sends_failed(client: httpx.AsyncClient, app: Any,
                                                                     receiver: Receiver, clock: Clock) -> None:
    response = await background(client)
    clock.now += runner.DEADLINE  # its job never ran: the read that finds it overdue fails it
    assert (await client.get(f"/v1/responses/{response['id']}")).json()["status"] == "failed"
    await drain(app)  # the event's job; the response's own finds it ended
    [event] = receiver.events(at=clock.now)
    check_event(event, "response.failed", response["id"])


async def test_the_scheduled_cleanup_fails_an_overdue_response_with_an_event(
        client: httpx.AsyncClient, app: Any, receiver: Receiver, clock: Clock) -> None:
    response = await background(client)
    clock.now += runner.DEADLINE
    await run_scheduled(app.state.ctx.backends, app.state.ctx.settings, now=int(clock.now))
    await drain(app)
    [event] = receiver.events(at=clock.now)
    check_event(event, "response.failed", response["id"])


async def test_a_failed_background_response(client: httpx.AsyncClient, app: Any, receiver: Receiver,
                                            simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        from openai_workers_ai.errors import UpstreamError
        raise UpstreamError("the model is down", status=400)

    response = await background(client)
    monkeypatch.setattr(simulator, "run", broken)
    await drain(app)
    stored = (await client.get(f"/v1/responses/{response['id']}")).json()
    assert stored["status"] == "failed"
    [event] = receiver.events()
    check_event(event, "response.failed", response["id"])


async def test_a_failing_receiver_gets_the_same_event_again(client: httpx.AsyncClient, app: Any,
                                                            receiver: Receiver, clock: Clock) -> None:
    receiver.failures = 2  # answered 500 twice: delivered again 5 s, then 10 s later
    response = await background(client)
    started = clock.now
    await drain(app)
    assert len(receiver.posts) == 1
    for wait in (5, 10):
        clock.now += wait - 1
        await drain(app)
        assert len(receiver.posts) == 1 + (wait == 10)  # not before its time
        clock.now += 1
        await drain(app)
    assert len(receiver.posts) == 3 and len(app.state.ctx.backends.jobs) == 0
    events = receiver.events(at=clock.now)  # each delivery verifies
    assert {e.id for e in events} == {events[0].id} and {body for _, body, _ in receiver.posts} == {
        receiver.posts[0][1]}
    assert {h["webhook-id"] for _, _, h in receiver.posts} == {receiver.posts[0][2]["webhook-id"]}
    assert [int(h["webhook-timestamp"]) - started for _, _, h in receiver.posts] == [0, 5, 15]  # signed afresh
    check_event(events[0], "response.completed", response["id"])


async def test_a_receiver_down_for_good_gets_the_event_with_backoff_for_72_hours(
        client: httpx.AsyncClient, app: Any, receiver: Receiver, clock: Clock) -> None:
    receiver.failures = 1_000
    await background(client)
    ended = clock.now
    jobs = app.state.ctx.backends.jobs
    await drain(app)
    times = []
    while len(jobs):
        clock.now = jobs.store.next_due()  # the next delivery's time
        await drain(app)
        times.append(clock.now - ended)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert gaps[:5] == [5, 10, 20, 40, 80] and max(gaps) == MAX_DELAY  # doubling, at most 12 h
    assert len(receiver.posts) == 19 and times[-1] <= 72 * 3600 < times[-1] + MAX_DELAY
    assert len({body for _, body, _ in receiver.posts}) == 1


@pytest.mark.parametrize("configured", [{}, {"webhook_url": HOOK}, {"webhook_secret": SECRET}])
async def test_no_event_unless_both_settings_are_set(simulator: Simulator, db: SQLiteD1, bucket: FolderR2,
                                                     receiver: Receiver, clock: Clock,
                                                     configured: dict[str, str]) -> None:
    jobs = InProcessJobs(clock)
    app = create_app(Backends(ai=simulator, db=db, bucket=bucket, fetcher=receiver, jobs=jobs),
                     Settings(access_token=(KEY,), **configured), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"authorization": f"Bearer {KEY}"}) as client:
        response = await background(client)
        await jobs.drain(app.state.ctx)
        assert (await client.get(f"/v1/responses/{response['id']}")).json()["status"] == "completed"
    assert receiver.posts == []


async def test_a_synchronous_response_sends_nothing(client: httpx.AsyncClient, app: Any, receiver: Receiver) -> None:
    r = await client.post("/v1/responses", json={"model": LLAMA, "input": "echo: now"})
    assert r.status_code == 200
    await drain(app)
    assert receiver.posts == []


# ---- batches ----------------------------------------------------------------------------------------


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def chat_line(custom_id: str, text: str) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": CHAT,
            "body": {"model": LLAMA, "messages": [{"role": "user", "content": text}]}}


async def batch_of(client: httpx.AsyncClient, data: bytes) -> dict[str, Any]:
    r = await client.post("/v1/files", files={"file": ("requests.jsonl", data)}, data={"purpose": "batch"})
    assert r.status_code == 200, r.text
    r = await client.post("/v1/batches", json={"input_file_id": r.json()["id"], "endpoint": CHAT,
                                               "completion_window": "24h"})
    assert r.status_code == 200, r.text
    batch: dict[str, Any] = r.json()
    return batch


async def test_a_completed_batch_sends_one_event(client: httpx.AsyncClient, app: Any, receiver: Receiver) -> None:
    batch = await batch_of(client, jsonl([chat_line("a", "echo: one"), chat_line("b", "echo: two")]))
    await drain(app)
    stored = (await client.get(f"/v1/batches/{batch['id']}")).json()
    assert stored["status"] == "completed"
    [event] = receiver.events()
    check_event(event, "batch.completed", batch["id"])
    assert event.created_at == stored["completed_at"]


async def test_a_batch_that_fails_validation(client: httpx.AsyncClient, app: Any, receiver: Receiver) -> None:
    batch = await batch_of(client, b"not json\n")
    await drain(app)
    assert (await client.get(f"/v1/batches/{batch['id']}")).json()["status"] == "failed"
    [event] = receiver.events()
    check_event(event, "batch.failed", batch["id"])


async def test_a_cancelled_batch(client: httpx.AsyncClient, app: Any, receiver: Receiver) -> None:
    batch = await batch_of(client, jsonl([chat_line("a", "echo: one")]))
    r = await client.post(f"/v1/batches/{batch['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelling"
    assert receiver.posts == []  # cancelling is not the end
    await drain(app)
    assert (await client.get(f"/v1/batches/{batch['id']}")).json()["status"] == "cancelled"
    [event] = receiver.events()
    check_event(event, "batch.cancelled", batch["id"])


async def test_an_expired_batch(client: httpx.AsyncClient, app: Any, receiver: Receiver, clock: Clock) -> None:
    batch = await batch_of(client, jsonl([chat_line("a", "echo: one")]))
    clock.now += 25 * 3600  # past its 24 h window before its job ran
    await drain(app)
    assert (await client.get(f"/v1/batches/{batch['id']}")).json()["status"] == "expired"
    [event] = receiver.events(at=clock.now)
    check_event(event, "batch.expired", batch["id"])
