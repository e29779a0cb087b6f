"""What the tables' repositories share: JSON columns, the ownership clause, one-row conditional updates, and
the conditional statement that gives a row to a new claim (:func:`claimed`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from json import dumps, loads
from typing import Any

from ..ids import claim_token
from ..ports import Database


def to_json(value: Any) -> str | None:
    """A JSON column's text (None stays NULL)."""
    return None if value is None else dumps(value, ensure_ascii=False, separators=(",", ":"))


def from_json(text: str | None) -> Any:
    """A JSON column's value (NULL is None)."""
    return None if text is None else loads(text)


def any_of(column: str, values: Sequence[str]) -> str:
    """``column`` equal to one of the constants ``values``, as comparisons joined by OR, in parentheses: the form
    of the partial indexes' conditions (``migrations/0019_partial_indexes_as_comparisons.sql``), which a query
    must repeat to read through one. (SQLite runs a list of three or more constants, ``IN ('a', 'b', 'c')``,
    through a temporary B-tree built each time the statement runs.)"""
    return "(" + " OR ".join(f"{column} = '{value}'" for value in values) + ")"


def owned(owner: str | None, params: list[object], column: str = "owner") -> str:
    """The ownership clause (empty for an admin key, ``owner`` None), appending its parameter."""
    if owner is None:
        return ""
    params.append(owner)
    return f" AND {column} = ?"


async def update_where(
    db: Database, table: str, changes: Mapping[str, object], where: str, params: list[object]
) -> int:
    """``UPDATE table SET <changes> WHERE where``; how many rows changed. ``table`` and the column
    names come from code, never from a request; dict and list values are stored as JSON."""
    assignments = ", ".join(f"{column} = ?" for column in changes)
    values = [to_json(v) if isinstance(v, (dict, list)) else v for v in changes.values()]
    return await db.prepare(f"UPDATE {table} SET {assignments} WHERE {where}").bind(*values, *params).run()


async def claimed(db: Database, sql: str, *params: object) -> str | None:
    """A new claim's token (:func:`~..ids.claim_token`) when ``sql`` — a one-row conditional UPDATE whose first
    parameter is that token, ``params`` the rest — changed its row; None when its conditions did not hold."""
    token = claim_token()
    changed = await db.prepare(sql).bind(token, *params).run()
    return token if changed == 1 else None
