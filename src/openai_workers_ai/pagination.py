"""List endpoints' paging, as OpenAI pages: ``limit``, ``order``, ``after``, ``before`` in;
``{"object": "list", "data", "first_id", "last_id", "has_more"}`` out.

Ids that sort by creation time (:func:`openai_workers_ai.ids.new_sortable_id`) make
the cursor a plain comparison (``repositories/pages.py``), valid even after the
object it names was deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .errors import InvalidRequest

Order = Literal["asc", "desc"]
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")  # longer is out of range anyway (and int() of a huge string is slow)


@dataclass(frozen=True, slots=True)
class Page:
    """Which page of a list: at most ``limit`` objects in ``order``, after / before a cursor id."""

    limit: int
    order: Order = "desc"
    after: str | None = None
    before: str | None = None


def page(query: Mapping[str, str], *, default_limit: int = 20, max_limit: int = 100,
         default_order: Order = "desc") -> Page:
    """The page a list request asks for (its query string), or a 400 naming the bad param."""
    return Page(
        limit=_limit(query.get("limit"), default_limit, max_limit),
        order=_order(query.get("order"), default_order),
        after=query.get("after") or None,
        before=query.get("before") or None,
    )


ListTail = tuple[Literal["first_id", "last_id", "has_more"], ...]
IDS_FIRST: ListTail = ("first_id", "last_id", "has_more")
HAS_MORE_FIRST: ListTail = ("has_more", "first_id", "last_id")
"""The Files list's order (openai/openai-dotnet tests/SessionRecords/FilesTests/ListFiles.json)."""
HAS_MORE_BETWEEN: ListTail = ("first_id", "has_more", "last_id")
"""A conversation's items' order (openai/openai-dotnet tests/SessionRecords/ResponsesTests/
ResponseUsingConversations.json: ``GET /v1/conversations/{id}/items``), and a response's input items'
(ResponseStoreTests/GetInputItemsWithPaginationNoOptions.json: ``GET /v1/responses/{id}/input_items``)."""


def list_object(data: Sequence[Mapping[str, Any]], has_more: bool, *, tail: ListTail = IDS_FIRST) -> dict[str, Any]:
    """OpenAI's list envelope around one page of objects: ``object``, ``data``, then ``first_id``, ``last_id``
    and ``has_more`` in the order ``tail`` names, as the list's own recordings send them."""
    members = {"first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None,
               "has_more": has_more}
    return {"object": "list", "data": list(data), **{name: members[name] for name in tail}}


def _order(raw: str | None, default: Order) -> Order:
    if not raw:
        return default
    if raw in ("asc", "desc"):
        return "asc" if raw == "asc" else "desc"
    raise InvalidRequest(f"Invalid value for 'order': '{raw}' is not one of asc, desc.", param="order")


def _limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    # ASCII digits only: int() also reads "1_0", " 5" and non-ASCII digits ("٥"), which are no integer's JSON
    value = int(raw) if _INTEGER.fullmatch(raw) else 0
    if not 1 <= value <= maximum:
        raise InvalidRequest(
            f"Invalid value for 'limit': expected an integer between 1 and {maximum}, got '{raw}'.",
            param="limit",
        )
    return value
