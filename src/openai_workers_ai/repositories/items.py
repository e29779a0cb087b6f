"""The ``items`` table (``migrations/0002_responses.sql``): the items of responses and conversations, and
the completion and messages of stored chat completions (:mod:`.chat_completions`).

A row is one item of one container (a response's ``input`` or ``output``, a conversation's
``item``). Its JSON is in the row when it is at most :data:`INLINE_MAX` bytes, else in R2 under
``object_key`` (images and files sent inline are what makes an item large), written with the
no-orphan protocol of :mod:`openai_workers_ai.storage`: staged (row ``uploading``, bytes put) before
the batch that writes the rest, and marked ready inside that batch.

Writes are statements handed back to the caller's ``db.batch`` (one row per statement: D1 binds
at most 100 parameters per statement), so a response, its items and a conversation's new items
appear together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from json import loads
from typing import Any

from .. import storage
from ..errors import APIError, InvalidRequest
from ..ids import microseconds, random_bytes
from ..pagination import Page
from ..ports import Backends, Database, ObjectStore, Statement
from ..replies import json_bytes
from .columns import any_of
from .pages import page_of

log = logging.getLogger(__name__)

ITEMS = storage.BlobTable(table="items", prefix="items/", ready="ready")
INLINE_MAX = 64 * 1024
"""Largest item JSON (bytes) kept in its D1 row; larger ones go to R2 (a D1 row holds at most 2 MB)."""

ROWS_PER_INSERT = 9
"""Item rows per INSERT: 10 parameters each, under D1's 100 per statement."""
_COLUMNS = "id, container, role, item_id, owner, type, data, object_key, bytes, status, created_at, updated_at"
_SELECT = "SELECT id, item_id, data, object_key FROM items"
_ROW = "(?, ?, ?, ?, ?, ?, ?, NULL, ?, 'ready', ?, ?)"
_VALUES_PER_ROW = _ROW.count("?")
_INSERT_ROWS = {rows: f"INSERT INTO items ({_COLUMNS}) VALUES " + ", ".join([_ROW] * rows)
                for rows in range(1, ROWS_PER_INSERT + 1)}
"""Row count → the INSERT of that many small items' rows (each statement's SQL made once, not per write)."""
_PER_INSERT = ROWS_PER_INSERT * _VALUES_PER_ROW


@dataclass(slots=True)
class NewItem:
    """An item to store in ``container``."""

    container: str
    role: str
    item: dict[str, Any]
    encoded: bytes | None = None
    """The item's JSON, when made already (as :func:`~..replies.json_bytes` makes it)."""


def row_key(now: int, suffix: str) -> str:
    """A fresh row key: time-ordered (:func:`~..ids.microseconds`: keys made together still sort in order
    and differ), then ``suffix`` (random: keys of other processes differ too), so rows read back in the
    order written. The microseconds are the wall clock's (``now``, the app's clock in whole seconds, is only
    a floor): items another process (or isolate) adds to the same conversation a moment later sort after
    these, not between them."""
    return "it" + microseconds(now * 1_000_000).to_bytes(7, "big").hex() + suffix  # (14 hex digits: f"{…:014x}")


async def stage(
    backends: Backends, owner: str, items: Sequence[NewItem], now: int, guard: tuple[str, tuple[object, ...]] = ("", ()),
    *, staged: list[dict[str, str]] | None = None,
) -> list[Statement]:
    """The statements that store ``items`` (for the caller's batch); large items are staged in R2 first
    (each one's row, ``{id, object_key}``, appended to ``staged``, when given, as soon as it is).

    ``guard`` (``" AND EXISTS (…)"`` and its parameters) makes every statement conditional, so a
    batch whose guard fails writes nothing (a cancelled response's output). Unguarded small items
    share statements, :data:`ROWS_PER_INSERT` rows each (D1 binds at most 100 parameters)."""
    if not items:
        return []
    db = backends.db
    condition, params = guard
    statements: list[Statement] = []
    rows: list[object] = []  # the unguarded small items' rows, one after another (_VALUES_PER_ROW values each)
    suffix = random_bytes(5).hex()  # one per batch: the stamps already differ within it
    for new in items:
        item = new.item
        key = row_key(now, suffix)
        encoded = new.encoded if new.encoded is not None else json_bytes(item)
        size = len(encoded)
        item_id, kind = str(item.get("id", "")), str(item.get("type", ""))
        if size <= INLINE_MAX:
            row = (key, new.container, new.role, item_id, owner, kind, encoded.decode(), size, now, now)
            if condition:
                statements.append(db.prepare(
                    f"INSERT INTO items ({_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, NULL, ?, 'ready', ?, ? WHERE 1{condition}"
                ).bind(*row, *params))
            else:
                rows += row
            continue
        object_key = storage.object_key(ITEMS, key)
        await storage.stage(
            backends, ITEMS, object_id=key, key=object_key,
            insert_sql=f"INSERT INTO items ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
            insert_params=(key, new.container, new.role, item_id, owner, kind, object_key, size,
                           storage.UPLOADING, now, now),
            body=encoded, content_type="application/json", now=now,
        )
        if staged is not None:
            staged.append({"id": key, "object_key": object_key})
        statements.append(db.prepare(storage.ready_sql(ITEMS, condition)).bind(now, key, *params))
    if len(rows) <= _PER_INSERT:  # most writes: one INSERT
        if rows:
            statements.append(db.prepare(_INSERT_ROWS[len(rows) // _VALUES_PER_ROW]).bind(*rows))
        return statements
    for start in range(0, len(rows), _PER_INSERT):
        values = rows[start:start + _PER_INSERT]
        statements.append(db.prepare(_INSERT_ROWS[len(values) // _VALUES_PER_ROW]).bind(*values))
    return statements


ITEM_ID_TAKEN = "UNIQUE constraint failed: items.container, items.item_id"
"""What D1 and SQLite report when an insert would have given a conversation a second item with the same id
(the start of it: ``migrations/0017_fewer_index_entries.sql``'s unique index adds ``, items.legacy_duplicate``)."""


class ItemIdTaken(Exception):
    """A write would have repeated an item id in a conversation (:data:`ITEM_ID_TAKEN`); nothing of its
    batch was written, and the items it had staged in R2 are gone."""


async def write(
    backends: Backends, owner: str, items: Sequence[NewItem], now: int, *, before: Sequence[Statement] = (),
    after: Sequence[Statement] = (), guard: tuple[str, tuple[object, ...]] = ("", ()),
) -> None:
    """Store ``items`` (:func:`stage`) in one batch with ``before`` and ``after``: all or nothing.

    When an insert would repeat an item id in a conversation (a concurrent request added it after
    this one checked), :class:`ItemIdTaken` is raised, once the rows and R2 objects of the items
    staged so far are deleted (else they would hold their ids until the sweep). Any other failure
    is raised as it is (the sweep removes what was staged)."""
    staged: list[dict[str, str]] = []
    try:
        statements = await stage(backends, owner, items, now, guard, staged=staged)
        await backends.db.batch([*before, *statements, *after])
    except APIError as error:
        if ITEM_ID_TAKEN not in error.message:
            raise
        try:
            await storage.delete_many(backends, ITEMS, staged)
        except Exception:
            log.warning("could not discard the items staged for %s (the sweep will)", owner, exc_info=True)
        raise ItemIdTaken(error.message) from error


class MissingContent(Exception):
    """An item row is ready but its R2 object is not there (deleted since the row was read, or lost)."""


async def load(bucket: ObjectStore, rows: Sequence[dict[str, Any]], *, whole: bool = False) -> list[dict[str, Any]]:
    """The items of ``rows`` (their JSON from the row, or from R2). An item whose R2 object is gone is
    left out (deleted since the row was read) — or, when the list must be ``whole`` (a chain the model
    reads), :class:`MissingContent` is raised."""
    out: list[dict[str, Any]] = []
    for row in rows:
        if row["data"] is not None:
            out.append(loads(row["data"]))
            continue
        stored = await bucket.get(row["object_key"])
        if stored is None or stored.body is None:
            if whole:
                raise MissingContent(row["object_key"])
            continue  # deleted since the row was read
        out.append(loads(b"".join([chunk async for chunk in stored.body])))
    return out


async def all_of(backends: Backends, container: str, roles: Sequence[str]) -> list[dict[str, Any]]:
    """Every ready item of ``container`` with one of ``roles``, in order (one D1 query)."""
    marks = ", ".join("?" * len(roles))
    rows = await backends.db.prepare(
        f"{_SELECT} WHERE container = ? AND role IN ({marks}) AND status = 'ready' ORDER BY id"
    ).bind(container, *roles).all()
    return await load(backends.bucket, rows)


CONVERSATION = "item"
"""A conversation's items' role."""
IN_CONVERSATION = "container = ? AND role = 'item' AND legacy_duplicate >= 0 AND item_id"
"""The start of a look-up of a conversation's items by id (``= ?`` or ``IN (…)`` follows), read through
``items_conversation_item`` (``migrations/0017_fewer_index_entries.sql``): the rows of those ids. ``role = 'item'``
is in the SQL (not bound) so that SQLite may use that partial index; ``legacy_duplicate >= 0`` (always true) is a
bound in its third column, which makes SQLite (no statistics) rate it above ``items_container`` (container, role,
id), which would read every item of the conversation (``tests/test_query_plans.py`` checks the plans)."""


def _cursor(container: str, role: str, item_id: str) -> tuple[str, tuple[str, ...]]:
    """The look-up of a cursor's row among ``container``'s items of ``role``: in a conversation (as many items as
    it was given), by :data:`IN_CONVERSATION`; in a response or a stored completion, through ``items_container``:
    at most that container's items of that role (a response's input: 2,048 at most), so that no index of every
    item by its id is written for theirs."""
    if role == CONVERSATION:
        return f"SELECT id FROM items WHERE {IN_CONVERSATION} = ?", (container, item_id)
    return "SELECT id FROM items WHERE container = ? AND role = ? AND item_id = ?", (container, role, item_id)


def not_in_list(cursor: str, item_id: str) -> InvalidRequest:
    """The 400 for a cursor (``after`` / ``before``) naming no item of the list."""
    return InvalidRequest(f"Invalid '{cursor}': no item with id '{item_id}' in this list.", param=cursor)


async def page_in(
    backends: Backends, container: str, role: str, page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """One page of ``container``'s items of ``role``; ``after`` / ``before`` name items (of that role) by their
    API id."""
    db = backends.db
    cursors: dict[str, str | None] = {"after": page.after, "before": page.before}
    for name, item_id in cursors.items():
        if item_id is not None:
            sql, args = _cursor(container, role, item_id)
            row = await db.prepare(sql).bind(*args).first()
            if row is None:
                raise not_in_list(name, item_id)
            cursors[name] = row["id"]
    rows, has_more = await page_of(
        db, _SELECT, "container = ? AND role = ? AND status = 'ready'", [container, role],
        Page(page.limit, page.order, cursors["after"], cursors["before"]),
    )
    return await load(backends.bucket, rows), has_more


async def get(backends: Backends, conversation_id: str, item_id: str) -> tuple[str, dict[str, Any]] | None:
    """(row key, item) of the conversation's item ``item_id`` (the first stored, should the id be repeated:
    ``migrations/0017_fewer_index_entries.sql``), or None."""
    row = await backends.db.prepare(
        f"{_SELECT} WHERE {IN_CONVERSATION} = ? AND status = 'ready' ORDER BY id LIMIT 1"
    ).bind(conversation_id, item_id).first()
    if row is None:
        return None
    loaded = await load(backends.bucket, [row])
    return (row["id"], loaded[0]) if loaded else None


REFERABLE = any_of("role", ("input", "output", "item"))
"""The roles of the items an ``item_reference`` may name: a response's and a conversation's (not a stored chat
completion's)."""


async def find(backends: Backends, owner: str | None, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The caller's stored items with these API ids (for ``item_reference``), newest first wins."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(item_ids), 90):  # D1 binds at most 100 parameters
        chunk = list(item_ids[start:start + 90])
        marks = ", ".join("?" * len(chunk))
        owned = "" if owner is None else " AND owner = ?"
        rows = await backends.db.prepare(
            f"{_SELECT} WHERE item_id IN ({marks}) AND status = 'ready'{owned} AND {REFERABLE}"
            " ORDER BY id DESC"
        ).bind(*chunk, *([] if owner is None else [owner])).all()
        for row, item in zip(rows, await load(backends.bucket, rows), strict=False):
            found.setdefault(row["item_id"], item)
    return found


def delete_statements(db: Database, container: str, now: int) -> list[Statement]:
    """Statements deleting ``container``'s inline items and marking its R2 ones ``deleting``."""
    return [
        # `+object_key`: not a look-up in object_key's unique index, where the NULLs are every inline item in the
        # table (SQLite, without statistics, takes `object_key IS NULL` there for one row): by the container.
        db.prepare("DELETE FROM items WHERE container = ? AND +object_key IS NULL").bind(container),
        db.prepare("UPDATE items SET status = ?, updated_at = ? WHERE container = ? AND object_key IS NOT NULL").bind(
            storage.DELETING, now, container),
    ]


async def delete_container(backends: Backends, container: str, now: int, owner_row: Statement) -> None:
    """Delete ``container`` (``owner_row``: the statement deleting its own row) with its items, in one batch,
    then the R2 objects of its large items (:func:`finish_deletes`)."""
    db = backends.db
    await db.batch([owner_row, *delete_statements(db, container, now)])
    await finish_deletes(backends, container, now)


R2_DELETE_BATCH = 1000
"""Keys per R2 delete call (R2 deletes at most 1,000 at once)."""


async def finish_deletes(backends: Backends, container: str, now: int) -> None:
    """Delete the R2 objects of ``container``'s ``deleting`` rows, then the rows: a thousand at a time, each
    one R2 call and one D1 batch (a conversation of 500 images was 1,500 calls, past an invocation's
    1,000). A failure is retried by the sweep; an object whose row went first is an orphan it removes."""
    db = backends.db
    while True:
        rows = await db.prepare("SELECT id, object_key FROM items WHERE container = ? AND status = ? LIMIT ?").bind(
            container, storage.DELETING, R2_DELETE_BATCH).all()
        await storage.delete_many(backends, ITEMS, rows)
        if len(rows) < R2_DELETE_BATCH:
            return


async def delete_one(backends: Backends, key: str, object_key: str | None, now: int) -> None:
    """Delete one item row (and its R2 object)."""
    if object_key is None:
        await backends.db.prepare("DELETE FROM items WHERE id = ?").bind(key).run()
    else:
        await storage.delete(backends, ITEMS, key, object_key, now)


async def object_key_of(db: Database, key: str) -> str | None:
    row = await db.prepare("SELECT object_key FROM items WHERE id = ?").bind(key).first()
    return None if row is None else row["object_key"]
