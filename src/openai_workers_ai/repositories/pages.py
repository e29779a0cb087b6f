"""One page of a table by its sortable ``id`` (every list endpoint's SQL), or by a column then ``id``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..pagination import Page
from ..ports import Database


@dataclass(frozen=True, slots=True)
class SortKey:
    """A list ordered by ``column``, then ``id`` (for rows whose ids do not follow the order the API lists
    them in): a cursor's ``column`` is read by ``lookup``, SQL with its ``params`` then a ``?`` for the cursor.
    A cursor ``lookup`` does not find (unknown, deleted, another key's) is a 400 naming it, as one of the
    ``noun`` s the list holds."""

    column: str
    lookup: str
    params: tuple[object, ...] = ()
    noun: str = "item"


async def page_of(
    db: Database, select: str, where: str, params: list[object], page: Page, key: SortKey | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """The rows of ``select … WHERE where`` on ``page`` (ordered by ``id``, or by ``key``), and whether more
    follow.

    ``after`` / ``before`` are cursors in the list's own order; a page ``before`` a cursor is
    the ``limit`` rows nearest to it, read backwards and turned round. A ``key``'s cursor must name a row
    (:class:`SortKey`).
    """
    ascending = page.order == "asc"
    conditions: list[str] = []
    args = list(params)
    sort = "id" if key is None else f"({key.column}, id)"
    for cursor, later in ((page.after, ascending), (page.before, not ascending)):
        if cursor is None:
            continue
        conditions.append(f"{sort} {'>' if later else '<'} " + ("?" if key is None else f"(({key.lookup}), ?)"))
        args += [cursor] if key is None else [*key.params, cursor, cursor]
    backwards = page.before is not None and page.after is None
    direction = "ASC" if ascending != backwards else "DESC"
    clause = "".join(f" AND {c}" for c in conditions)
    order = f"id {direction}" if key is None else f"{key.column} {direction}, id {direction}"
    rows = await db.prepare(f"{select} WHERE {where}{clause} ORDER BY {order} LIMIT ?").bind(
        *args, page.limit + 1
    ).all()
    if not rows and key is not None:  # a cursor that names no row finds nothing: say so (looked up only then)
        for name, cursor in (("after", page.after), ("before", page.before)):
            if cursor is not None and await db.prepare(key.lookup).bind(*key.params, cursor).first() is None:
                raise InvalidRequest(f"Invalid '{name}': no {key.noun} with id '{cursor}' in this list.", param=name)
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if backwards:
        rows.reverse()
    return rows, has_more
