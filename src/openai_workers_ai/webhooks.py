"""OpenAI's webhook events for the background work this server does (docs/webhooks.md).

When ``WEBHOOK_URL`` and ``WEBHOOK_SECRET`` are both set, the end of a background response
(``response.completed`` / ``failed`` / ``cancelled`` / ``incomplete``) and of a batch (``batch.completed`` /
``failed`` / ``expired`` / ``cancelled``) is POSTed to ``WEBHOOK_URL`` as OpenAI sends it: the body
``{id: "evt_…", object: "event", type, created_at, data: {id}}`` (the spec's ``Webhook*`` schemas), signed
as the Standard Webhooks spec says (what the official client's ``client.webhooks.unwrap`` /
``verify_signature`` checks): headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">``, keyed with the secret (a
``whsec_<base64>`` secret is its base64-decoded bytes, any other its UTF-8 bytes, as the client reads it).

An event is decided where the conditional status update that ends its object commits (whichever
statement ends it, only that one calls :func:`notify`), and delivered by a ``webhooks.send`` job
(:data:`JOB_KIND`): the job carries the event (its id, type, object and time), so every delivery of it —
a failed POST tried again, a queue may redeliver — sends the same event id and body, for receivers to
deduplicate, signed afresh (a new ``webhook-timestamp``: receivers refuse one more than five minutes old).
At least once, as OpenAI's; and, as OpenAI's, a failed delivery is tried again with exponential backoff
for up to 72 hours (:data:`RETRY_FIRST`, :data:`RETRY_FOR`): each attempt a job of its own, sent with
the delay, so the schedule is the same behind a Cloudflare Queue and the local runner.

The POST goes through the app's :class:`~.ports.Fetcher`, under :mod:`.outbound`'s policy like any URL
this server fetches: https only (``FETCH_ALLOW_HTTP`` allows http), public addresses only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from dataclasses import dataclass, replace
from json import dumps

from .ids import new_id
from .ports import MAX_DELAY, Backends, Job
from .settings import Settings

log = logging.getLogger(__name__)

JOB_KIND = "webhooks.send"
RESPONSE_ENDINGS = ("completed", "failed", "cancelled", "incomplete")
"""The statuses a background response ends in, each an event ``response.<status>``."""
BATCH_ENDINGS = ("completed", "failed", "expired", "cancelled")
"""The statuses a batch ends in, each an event ``batch.<status>``."""
USER_AGENT = "openai-workers-ai/1.0 (webhooks)"
RETRY_FIRST = 5
"""Seconds before a failed delivery's first retry; each next one waits twice as long (at most
:data:`~.ports.MAX_DELAY`, 12 h)."""
RETRY_FOR = 72 * 3600
"""How long after its event a delivery is still tried (OpenAI's 72 hours): 19 deliveries in all, the last ~71 h after
the first."""


def enabled(settings: Settings) -> bool:
    """Whether this deployment sends webhook events: ``WEBHOOK_URL`` and ``WEBHOOK_SECRET`` both set."""
    return bool(settings.webhook_url and settings.webhook_secret)


@dataclass(frozen=True, slots=True)
class Event:
    """One event: its id (``evt_…``), type (``response.completed`` …), the object it is about, and when
    that object ended (``created_at``, Unix seconds); ``retries``: the failed deliveries before this one."""

    id: str
    type: str
    object_id: str
    created_at: int
    retries: int = 0

    def job_id(self) -> str:
        """The event as a job's id: ``<event id>/<type>/<object id>/<created_at>``, and ``/<retries>`` after a
        failed delivery (none of them has a ``/``)."""
        head = f"{self.id}/{self.type}/{self.object_id}/{self.created_at}"
        return f"{head}/{self.retries}" if self.retries else head

    @classmethod
    def from_job_id(cls, job_id: str) -> Event | None:
        parts = job_id.split("/")
        if len(parts) not in (4, 5) or not all(part.isdigit() for part in parts[3:]):
            return None
        return cls(parts[0], parts[1], parts[2], *map(int, parts[3:]))

    def next_retry(self, now: int) -> int | None:
        """Seconds until this event's next delivery after one failed at ``now``; None once past
        :data:`RETRY_FOR` (it is dropped)."""
        delay = min(RETRY_FIRST * 2**self.retries, MAX_DELAY)
        return delay if now + delay <= self.created_at + RETRY_FOR else None

    def body(self) -> bytes:
        """The JSON body OpenAI sends (``Webhook*`` in the spec)."""
        return dumps({"id": self.id, "object": "event", "created_at": self.created_at, "type": self.type,
                      "data": {"id": self.object_id}}, separators=(",", ":")).encode()

    def message_id(self) -> str:
        """The ``webhook-id`` header: the same for every delivery of this event (Standard Webhooks'
        idempotency key), shaped as OpenAI's (``wh_…``)."""
        return "wh_" + self.id.removeprefix("evt_")


async def notify(backends: Backends, settings: Settings, event_type: str, object_id: str, owner: str | None,
                 now: int) -> None:
    """Queue the event ``event_type`` about ``object_id`` (which ended at ``now``), when this deployment
    sends webhook events. Called once per ending, by the code whose conditional update ended it. Never
    raises: the ending is stored already; an event that cannot be queued is logged and lost."""
    if not enabled(settings) or backends.jobs is None:
        return
    event = Event(new_id("evt_", 32), event_type, object_id, now)
    try:
        await backends.jobs.send(Job(JOB_KIND, event.job_id(), owner))
    except Exception:
        log.warning("could not queue webhook event %s for %s", event_type, object_id, exc_info=True)


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: a ``whsec_`` secret's base64 payload decoded, else its UTF-8 bytes
    (as the official client reads it). :class:`ValueError` for a ``whsec_`` secret that is not base64."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise ValueError("WEBHOOK_SECRET starts with whsec_ but the rest is not base64") from exc
    return secret.encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``."""
    digest = hmac.new(signing_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(secret: str, event: Event, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers of one delivery of ``event`` (signed at ``timestamp``)."""
    message_id = event.message_id()
    return {"content-type": "application/json", "user-agent": USER_AGENT, "webhook-id": message_id,
            "webhook-timestamp": str(timestamp), "webhook-signature": sign(secret, message_id, timestamp, body)}


async def deliver(backends: Backends, settings: Settings, job: Job, now: int) -> None:
    """``webhooks.send``: POST the job's event to ``WEBHOOK_URL``, signed at ``now``. A failure (network,
    a non-2xx answer, a 3xx included) sends the event's next delivery, delayed (:meth:`Event.next_retry`),
    or drops it 72 hours after the event (logged); if that cannot be sent, it is raised, for the queue to
    retry this one. A job that is no event, or that arrives where webhooks are no longer configured, is
    dropped (logged)."""
    event = Event.from_job_id(job.id)
    if event is None:
        log.warning("dropping a webhook job that is no event: %r", job.id)
        return
    if not enabled(settings) or backends.fetcher is None or backends.jobs is None:
        log.warning("dropping webhook event %s (%s): webhooks are not configured here", event.id, event.type)
        return
    body = event.body()
    try:
        await backends.fetcher.post(settings.webhook_url, body,
                                    headers=headers(settings.webhook_secret, event, body, now))
    except Exception as exc:
        delay = event.next_retry(now)
        if delay is None:
            log.error("dropping webhook event %s (%s) after %d failed deliveries over 72 hours: %s", event.id,
                      event.type, event.retries + 1, exc)
            return
        log.warning("webhook event %s (%s) not delivered (%s); trying again in %d s", event.id, event.type, exc, delay)
        await backends.jobs.send(Job(JOB_KIND, replace(event, retries=event.retries + 1).job_id(), job.owner),
                                 delay=delay)
