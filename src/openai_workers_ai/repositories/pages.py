"""One page of a table by its sortable ``id`` (every list endpoint's SQL)."""

from __future__ import annotations

from typing import Any

from ..pagination import Page
from ..ports import Database


async def page_of(
    db: Database, select: str, where: str, params: list[object], page: Page
) -> tuple[list[dict[str, Any]], bool]:
    """The rows of ``select … WHERE where`` on ``page`` (ordered by ``id``), and whether more follow.

    ``after`` / ``before`` are cursors in the list's own order; a page ``before`` a cursor is
    the ``limit`` rows nearest to it, read backwards and turned round.
    """
    ascending = page.order == "asc"
    conditions: list[str] = []
    args = list(params)
    if page.after is not None:
        conditions.append("id > ?" if ascending else "id < ?")
        args.append(page.after)
    if page.before is not None:
        conditions.append("id < ?" if ascending else "id > ?")
        args.append(page.before)
    backwards = page.before is not None and page.after is None
    direction = "ASC" if ascending != backwards else "DESC"
    clause = "".join(f" AND {c}" for c in conditions)
    rows = await db.prepare(f"{select} WHERE {where}{clause} ORDER BY id {direction} LIMIT ?").bind(
        *args, page.limit + 1
    ).all()
    has_more = len(rows) > page.limit
    rows = rows[: page.limit]
    if backwards:
        rows.reverse()
    return rows, has_more
