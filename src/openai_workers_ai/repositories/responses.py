"""The ``responses`` table (``migrations/0002_responses.sql``): every SQL statement of stored Responses.

Ownership is a filter here: reads take ``owner`` (the caller's key hash, None for an admin key).
Status changes are one conditional statement each (``… WHERE id = ? AND status IN (…)``), so a
redelivered job, a cancel racing a completion, or a read finding a response past its deadline
all settle on one outcome: whichever statement commits first wins, the others change nothing.

The ``request`` column holds the request fields the Response object echoes; a background response's
also holds, under :data:`SETTINGS_KEY`, the request's other settings as the client sent them (the
echo fills in defaults, and leaves ``include`` out), so its job runs with exactly the request's
settings. :class:`ResponseRow` keeps the two apart (``request`` and ``settings``).

A response's input and output are rows of ``items`` (:mod:`.items`), except an item the response gave its id to
(:func:`kept_digits`) when it is the only one: its one input item (a text input, or one item of any type sent without
an id, such as a function call output) and its one output item (a message, a function call, …), each when its JSON
is at most :data:`~.items.INLINE_MAX` (a larger one is a row of items, its JSON in R2). The response's own row keeps
those (``input_item``, ``output_item``), and :func:`chain_items`, :func:`input_items`, :func:`output_items` and
:func:`items_kept` read them there: a stored text exchange, or a turn of a function-calling loop, writes no row of
``items`` (but a conversation's copies).

A background response's generator holds a claim (``migrations/0015_generator_claims.sql``): a token its
:func:`claim` (or :func:`take_over`) sets, on which every write of that generator is conditional (the
liveness mark :func:`refresh`, :func:`finish` and its items' :func:`in_progress_guard`, :func:`requeue`).
While the response is ``in_progress``, ``updated_at`` is its liveness mark: no other statement writes an
``in_progress`` row without ending it or queueing it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from json import dumps, loads
from typing import Any

from .. import storage, webhooks
from ..pagination import Page
from ..ports import Backends, Database, Statement
from ..replies import json_bytes
from ..settings import Settings
from . import items
from .columns import claimed
from .items import ITEMS

ACTIVE = ("queued", "in_progress")
TERMINAL = ("completed", "failed", "incomplete", "cancelled")
MAX_CHAIN = 1000
"""Longest ``previous_response_id`` chain read back (older responses are left out)."""
SWEEP_BATCH = 50
SETTINGS_KEY = "__settings"
"""The key of a background response's settings in its ``request`` JSON (never shown: see the docstring)."""

_COLUMNS = ("id, owner, status, model, background, previous_response_id, conversation_id, request, usage, error,"
            " incomplete_details, created_at, completed_at, deadline")
_SELECT = f"SELECT {_COLUMNS}, claim, updated_at, moderation, stream_shape, input_item, output_item FROM responses"


def _json(value: Any) -> str | None:
    return None if value is None else json_bytes(value).decode()


@dataclass(slots=True)
class ResponseRow:
    """A row of the ``responses`` table (JSON columns decoded)."""

    id: str
    owner: str
    status: str
    model: str
    background: bool
    previous_response_id: str | None
    conversation_id: str | None
    request: dict[str, Any]
    usage: dict[str, Any] | None
    error: dict[str, Any] | None
    incomplete_details: dict[str, Any] | None
    created_at: int
    completed_at: int | None
    deadline: int | None
    settings: dict[str, Any] | None = None
    """A background response's request settings as sent (None for a foreground one, or one stored
    before they were kept)."""
    claim: str | None = None
    """The token of the job delivery that generates (or ended) it, when one claimed it."""
    updated_at: int | None = None
    """When the row was last written; while it is ``in_progress``, its generator's liveness mark."""
    moderation: dict[str, Any] | None = None
    """A moderated response's results, once it ended (``migrations/0016_response_moderation.sql``)."""
    stream_shape: list[Any] | None = None
    """A streamed response's stream as its stored object does not say it (an ended one's; None when it was
    not streamed): :attr:`~..translate.response_objects.EventWriter.shape`
    (``migrations/0018_response_stream_shape.sql``)."""
    input_item: str | None = None
    """The JSON of the response's input item when its row keeps it (:func:`kept_digits`; None when its input is
    rows of ``items``: ``migrations/0021_response_input_in_row.sql``)."""
    output_item: str | None = None
    """The JSON of the response's output item when its row keeps it (:func:`kept_digits`; None when its output is
    rows of ``items``: ``migrations/0022_response_output_in_row.sql``)."""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ResponseRow:
        def decoded(name: str) -> Any:
            return None if row[name] is None else loads(row[name])

        request = loads(row["request"])
        settings = request.pop(SETTINGS_KEY, None)
        return cls(row["id"], row["owner"], row["status"], row["model"], bool(row["background"]),
                   row["previous_response_id"], row["conversation_id"], request, decoded("usage"),
                   decoded("error"), decoded("incomplete_details"), row["created_at"], row["completed_at"],
                   row["deadline"], settings, row.get("claim"), row.get("updated_at"), decoded("moderation"),
                   None if row.get("stream_shape") is None else loads(row["stream_shape"]), row.get("input_item"),
                   row.get("output_item"))


def stored_request(request: dict[str, Any], settings: dict[str, Any] | None) -> bytes:
    """The ``request`` column's JSON for these echoed fields and settings."""
    return json_bytes(request if settings is None else {**request, SETTINGS_KEY: settings})


def insert(db: Database, row: ResponseRow, now: int, request_json: bytes | None = None,
           usage_json: bytes | None = None, input_json: bytes | None = None,
           output_json: bytes | None = None) -> Statement:
    """The statement inserting ``row`` (``request_json``: its ``request`` column, when already made by
    :func:`stored_request`; ``usage_json``: its usage's, when made already; ``input_json`` and ``output_json``:
    the input and the output item the row keeps, :func:`keeps`).

    Its optional columns that are NULL are written NULL in the SQL rather than bound as None (the same row,
    on D1 as on SQLite; a None bound costs Python's sqlite3 ~0.4 µs, looking for an adapter for it, and a
    foreground response has four or five)."""
    if request_json is None:
        request_json = stored_request(row.request, row.settings)
    usage = usage_json.decode() if usage_json is not None else _json(row.usage)
    optional = (row.previous_response_id, row.conversation_id, usage, _json(row.error),
                _json(row.incomplete_details), row.completed_at, row.deadline, _json(row.moderation),
                _json(row.stream_shape), None if input_json is None else input_json.decode(),
                None if output_json is None else output_json.decode())
    nulls = tuple([value is None for value in optional])
    sql = _INSERTS.get(nulls) or _insert_sql(nulls)
    return db.prepare(sql).bind(row.id, row.owner, row.status, row.model, int(row.background), request_json.decode(),
                                row.created_at, now, *[value for value in optional if value is not None])


_OPTIONAL = ("previous_response_id", "conversation_id", "usage", "error", "incomplete_details", "completed_at",
             "deadline", "moderation", "stream_shape", "input_item", "output_item")
"""The columns :func:`insert` may write NULL, in the order it takes them."""
_INSERTS: dict[tuple[bool, ...], str] = {}
"""Which optional columns are NULL → :func:`insert`'s SQL (made once each)."""


def _insert_sql(nulls: tuple[bool, ...]) -> str:
    columns = ("id, owner, status, model, background, request, created_at, updated_at, " + ", ".join(_OPTIONAL))
    values = ["?"] * 8 + ["NULL" if null else "?" for null in nulls]
    sql = _INSERTS[nulls] = f"INSERT INTO responses ({columns}) VALUES ({', '.join(values)})"
    return sql


def in_progress_guard(response_id: str, claim: str | None = None) -> tuple[str, tuple[object, ...]]:
    """A condition (for :func:`items.stage`) that holds while the response is still ``in_progress`` (and,
    with ``claim``, still that claim's: not taken over)."""
    if claim is None:
        return " AND EXISTS (SELECT 1 FROM responses WHERE id = ? AND status = 'in_progress')", (response_id,)
    return (" AND EXISTS (SELECT 1 FROM responses WHERE id = ? AND status = 'in_progress' AND claim = ?)",
            (response_id, claim))


def finish(db: Database, row: ResponseRow, now: int, *, was: tuple[str, ...] = ("in_progress",),
           claim: str | None = None, output_json: bytes | None = None) -> Statement:
    """The statement moving a response from one of ``was`` to its final state (``row``'s status and results;
    ``output_json``: the output item its row keeps, :func:`keeps`); with ``claim``, only while the response
    is still that claim's (its generator was not taken over)."""
    marks = ", ".join("?" * len(was))
    claimed = "" if claim is None else " AND claim = ?"
    return db.prepare(
        "UPDATE responses SET status = ?, usage = ?, error = ?, incomplete_details = ?, completed_at = ?,"
        f" deadline = NULL, updated_at = ?, moderation = ?, stream_shape = ?, output_item = ? WHERE id = ?"
        f" AND status IN ({marks}){claimed}"
    ).bind(row.status, _json(row.usage), _json(row.error), _json(row.incomplete_details), row.completed_at, now,
           _json(row.moderation), _json(row.stream_shape), None if output_json is None else output_json.decode(),
           row.id, *was, *(() if claim is None else (claim,)))


async def fail(db: Database, row: ResponseRow, now: int, *, was: tuple[str, ...], claim: str | None = None) -> bool:
    """:func:`finish` run alone (``row`` failed, with its error); whether the response was one of ``was``
    (and, with ``claim``, still that claim's)."""
    return await finish(db, row, now, was=was, claim=claim).run() == 1


async def get(db: Database, response_id: str, owner: str | None) -> ResponseRow | None:
    """The response (the caller's, unless admin), or None."""
    owned = "" if owner is None else " AND owner = ?"
    row = await db.prepare(f"{_SELECT} WHERE id = ?{owned}").bind(
        response_id, *([] if owner is None else [owner])).first()
    return ResponseRow.from_row(row) if row else None


async def status_of(db: Database, response_id: str) -> str | None:
    """The response's status (None when it is gone)."""
    row = await db.prepare("SELECT status FROM responses WHERE id = ?").bind(response_id).first()
    return None if row is None else str(row["status"])


async def current(backends: Backends, settings: Settings, row: ResponseRow, now: int) -> ResponseRow:
    """``row`` as it stands now: failed first when it is still active past its deadline (the read that
    finds it overdue ends it, as the cron would; its ``response.failed`` webhook event queued)."""
    if row.status not in ACTIVE or row.deadline is None or row.deadline > now:
        return row
    await expire(backends, settings, row.id, row.owner, now)
    return await get(backends.db, row.id, None) or row


async def claim(db: Database, response_id: str, now: int) -> str | None:
    """``queued`` → ``in_progress``, its liveness mark ``now``: the new claim's token; None when another
    delivery (or a cancel) got there first."""
    return await claimed(
        db, "UPDATE responses SET status = 'in_progress', claim = ?, updated_at = ? WHERE id = ? AND status = 'queued'",
        now, response_id)


async def take_over(db: Database, response_id: str, now: int, stale_before: int) -> str | None:
    """An ``in_progress`` response whose liveness mark is older than ``stale_before`` (its generator died),
    and whose deadline is still ahead, claimed anew (its mark ``now``): the new claim's token; None when it
    is not so (its generator is alive, another delivery took it first, it ended)."""
    return await claimed(
        db, "UPDATE responses SET claim = ?, updated_at = ? WHERE id = ? AND status = 'in_progress' AND updated_at < ?"
        " AND deadline > ?", now, response_id, stale_before, now)


async def refresh(db: Database, response_id: str, claim: str, now: int) -> bool:
    """The liveness mark of an ``in_progress`` response set to ``now`` by its generator (``claim``); False
    when it is no longer that generator's to write (taken over, cancelled, failed at its deadline, deleted)."""
    changed = await db.prepare(
        "UPDATE responses SET updated_at = ? WHERE id = ? AND status = 'in_progress' AND claim = ?"
    ).bind(now, response_id, claim).run()
    return changed == 1


async def requeue(db: Database, response_id: str, now: int, deadline: int, claim: str | None = None) -> bool:
    """``in_progress`` → ``queued`` again, with a new deadline, by its generator (``claim``, when it has one:
    a stream's client left, or the runner stops; a job takes over); False when it had ended meanwhile
    (completed, cancelled …) or is another generator's."""
    claimed = "" if claim is None else " AND claim = ?"
    changed = await db.prepare(
        "UPDATE responses SET status = 'queued', claim = NULL, deadline = ?, updated_at = ?"
        f" WHERE id = ? AND status = 'in_progress'{claimed}"
    ).bind(deadline, now, response_id, *(() if claim is None else (claim,))).run()
    return changed == 1


async def cancel(db: Database, response_id: str, now: int) -> bool:
    """A ``queued`` / ``in_progress`` response → ``cancelled``; False when it had already finished."""
    changed = await db.prepare(
        "UPDATE responses SET status = 'cancelled', completed_at = NULL, deadline = NULL, updated_at = ?"
        " WHERE id = ? AND status IN ('queued', 'in_progress')"
    ).bind(now, response_id).run()
    return changed == 1


def _expired_error() -> str:
    return dumps({"code": "server_error", "message": "The response was not generated before its deadline."})


async def expire(backends: Backends, settings: Settings, response_id: str, owner: str | None, now: int) -> bool:
    """A response past its deadline, still ``queued`` / ``in_progress`` → ``failed``, its ``response.failed``
    webhook event queued; True when this call ended it."""
    changed = await backends.db.prepare(
        "UPDATE responses SET status = 'failed', error = ?, deadline = NULL, updated_at = ?"
        " WHERE id = ? AND status IN ('queued', 'in_progress') AND deadline IS NOT NULL AND deadline <= ?"
    ).bind(_expired_error(), now, response_id, now).run()
    if changed != 1:
        return False
    await webhooks.notify(backends, settings, "response.failed", response_id, owner, now)
    return True


_HEX = "0123456789abcdef"


def kept_digits(response_id: str) -> tuple[str, str]:
    """The digits of the ids of the input and the output item a response's row may keep (``migrations/0021_…``,
    ``0022_…``), after their type's prefix (``msg_``, ``fc_`` …): the response's own hex digits, the output's with
    the last one moved up by one (mod 16). An ``item_reference`` to either finds the row by the response's key
    (:func:`items_kept`)."""
    digits = response_id.removeprefix("resp_")
    return digits, digits[:-1] + _HEX[(_HEX.index(digits[-1]) + 1) % 16]


def keeps(response_id: str, new: Sequence[dict[str, Any]], *, output: bool) -> bool:
    """Whether a response's row keeps these input or output items: one item, its id made by :func:`kept_digits`."""
    return len(new) == 1 and str(new[0].get("id", "")).partition("_")[2] == kept_digits(response_id)[output]


def _keepers(item_id: str) -> list[str]:
    """The responses whose rows would keep an item with this id (:func:`kept_digits`, backwards)."""
    digits = item_id.partition("_")[2]
    if not digits or digits[-1] not in _HEX:
        return []
    return ["resp_" + digits, "resp_" + digits[:-1] + _HEX[(_HEX.index(digits[-1]) - 1) % 16]]


async def chain_items(backends: Backends, response_id: str, owner: str | None) -> list[dict[str, Any]]:
    """The input and output items of ``response_id`` and of every response before it in its
    ``previous_response_id`` chain, oldest first (a response's input, whether its row keeps it or rows of
    items hold it, before its output): one D1 query however long the chain (a recursive CTE), plus one R2
    read per item too large for its row (:class:`~.items.MissingContent` if one is gone)."""
    owned = "" if owner is None else " AND r.owner = ?"
    rows = await backends.db.prepare(
        "WITH RECURSIVE chain(id, depth) AS ("
        " SELECT ?, 0"
        " UNION ALL"
        " SELECT r.previous_response_id, chain.depth + 1 FROM responses r JOIN chain ON r.id = chain.id"
        " WHERE r.previous_response_id IS NOT NULL AND chain.depth < ?)"
        " SELECT i.id, i.data, i.object_key, chain.depth, CASE i.role WHEN 'input' THEN 0 ELSE 1 END AS part"
        " FROM chain JOIN responses r ON r.id = chain.id JOIN items i ON i.container = chain.id"
        f" WHERE i.status = 'ready' AND i.role IN ('input', 'output'){owned}"
        " UNION ALL"
        " SELECT '', r.input_item, NULL, chain.depth, 0 FROM chain JOIN responses r ON r.id = chain.id"
        f" WHERE r.input_item IS NOT NULL{owned}"
        " UNION ALL"
        " SELECT '', r.output_item, NULL, chain.depth, 1 FROM chain JOIN responses r ON r.id = chain.id"
        f" WHERE r.output_item IS NOT NULL{owned}"
        " ORDER BY 4 DESC, 5, 1"
    ).bind(response_id, MAX_CHAIN, *([] if owner is None else [owner] * 3)).all()
    return await items.load(backends.bucket, rows, whole=True)


async def input_items(backends: Backends, row: ResponseRow, page: Page) -> tuple[list[dict[str, Any]], bool]:
    """One page of the response's input items: the one its row keeps, or its rows of items."""
    if row.input_item is None:
        return await items.page_in(backends, row.id, "input", page)
    item = loads(row.input_item)
    for cursor, item_id in (("after", page.after), ("before", page.before)):
        if item_id is not None and item_id != item["id"]:
            raise items.not_in_list(cursor, item_id)
    return ([] if page.after or page.before else [item]), False


async def output_items(backends: Backends, row: ResponseRow) -> list[dict[str, Any]]:
    """The response's output items (none while it is queued or in progress): the one its row keeps, or its rows of
    items."""
    if row.output_item is not None:
        return [loads(row.output_item)]
    return [] if row.status in ACTIVE else await items.all_of(backends, row.id, ["output"])


async def items_kept(db: Database, owner: str | None, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Those of ``item_ids`` that responses' rows keep (:func:`kept_digits`), each item by its id: the ids an
    ``item_reference`` names that no row of ``items`` answered. Only the caller's responses' (``owner`` None: every
    key's); an id no row keeps is left out."""
    wanted = set(item_ids)
    keys = sorted({key for item_id in wanted for key in _keepers(item_id)})
    found: dict[str, dict[str, Any]] = {}
    owned = "" if owner is None else " AND owner = ?"
    for start in range(0, len(keys), 90):  # D1 binds at most 100 parameters
        chunk = keys[start:start + 90]
        rows = await db.prepare(
            f"SELECT input_item, output_item FROM responses WHERE id IN ({', '.join('?' * len(chunk))})"
            f" AND (input_item IS NOT NULL OR output_item IS NOT NULL){owned}"
        ).bind(*chunk, *([] if owner is None else [owner])).all()
        for row in rows:
            for kept in (row["input_item"], row["output_item"]):
                item = None if kept is None else loads(kept)
                if item is not None and item["id"] in wanted:
                    found[item["id"]] = item
    return found


async def delete(backends: Backends, response_id: str, now: int) -> None:
    """Delete the response and its items (R2 objects after the rows; the sweep finishes a failed delete)."""
    await items.delete_container(backends, response_id, now,
                                 backends.db.prepare("DELETE FROM responses WHERE id = ?").bind(response_id))


async def cleanup(backends: Backends, settings: Settings, now: int) -> dict[str, int]:
    """The scheduled cleanup: background responses past their deadline failed; crashed item writes
    and deletes finished; R2 item objects without a row removed."""
    db = backends.db
    overdue = await db.prepare(
        "SELECT id, owner FROM responses WHERE deadline IS NOT NULL AND deadline <= ?"
        " AND status IN ('queued', 'in_progress') LIMIT ?"
    ).bind(now, SWEEP_BATCH).all()
    expired = 0
    for row in overdue:
        expired += await expire(backends, settings, row["id"], row["owner"], now)
    counts = await storage.sweep(backends, ITEMS, now)
    counts = {k: v for k, v in counts.items() if v}
    if expired:
        counts["responses_expired"] = expired
    return counts
