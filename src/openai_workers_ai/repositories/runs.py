"""The ``runs`` table: a thread's runs, and every change of a run's status.

A status changes only through :func:`transition`: one conditional ``UPDATE … WHERE id = ? AND status IN
(…)``, and the caller learns whether its one row changed. Two actors racing (a redelivered job, a
cancel, the expiry sweep, the executor) can therefore never both win, and a run that reached a final
status never leaves it.

An executing run's executor holds a claim (``migrations/0015_generator_claims.sql``): a token set when it
moves the run to ``in_progress`` (or by :func:`take_over`), on which its writes are conditional (its
transitions, the liveness mark :func:`refresh`, its reply's and steps' :func:`running_guard`). While the
run is ``in_progress`` or ``cancelling``, ``updated_at`` is its liveness mark: only :func:`transition` writes
it otherwise, every transition moves the run out of ``in_progress``, and the move to ``cancelling`` keeps
the mark (the executor goes on refreshing it until it ends the cancel; a stale one says it died).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..pagination import Page
from ..ports import Database, Statement
from ..types.runs import ACTIVE, Run, RunStatus, run_usage
from .columns import any_of, claimed, from_json, to_json, update_where
from .pages import page_of

_FIELDS = ("id", "thread_id", "assistant_id", "created_at", "status", "model", "instructions", "tools", "metadata",
           "temperature", "top_p", "max_prompt_tokens", "max_completion_tokens", "truncation_strategy",
           "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort", "required_action",
           "last_error", "incomplete_details", "started_at", "expires_at", "cancelled_at", "failed_at",
           "completed_at")
_COLUMNS = ", ".join((*_FIELDS, "owner", "tool_outputs", "prompt_tokens", "completion_tokens", "cached_tokens",
                      "reasoning_tokens", "claim", "updated_at"))
_JSON = frozenset({"tools", "metadata", "truncation_strategy", "tool_choice", "response_format", "required_action",
                   "last_error", "incomplete_details"})
_ACTIVE = any_of("status", ACTIVE)


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A run as the API shows it, and what only the gateway keeps of it."""

    run: Run
    owner: str
    tool_outputs: list[dict[str, str]] | None
    """Outputs submitted for the pending tool calls, for the executor to record in their step."""
    claim: str | None = None
    """The token of the executor that moved it to ``in_progress`` last (or took it over)."""
    updated_at: int | None = None
    """When its status last changed; while it is ``in_progress``, its executor's liveness mark."""


def _stored(row: dict[str, Any]) -> StoredRun:
    values = {k: from_json(row[k]) if k in _JSON else row[k] for k in _FIELDS}
    values["parallel_tool_calls"] = bool(values["parallel_tool_calls"])
    if row["prompt_tokens"] is not None:
        values["usage"] = run_usage(row["prompt_tokens"], row["completion_tokens"] or 0, row["cached_tokens"] or 0,
                                    row["reasoning_tokens"] or 0)
    return StoredRun(Run(**values), row["owner"], from_json(row["tool_outputs"]), row.get("claim"),
                     row.get("updated_at"))


def _insert_values(run: Run, owner: str) -> list[object]:
    """The new row's values: the run's fields, its owner, and ``updated_at`` (its creation)."""
    values = [to_json(getattr(run, c)) if c in _JSON else getattr(run, c) for c in _FIELDS]
    return [*values, owner, run.created_at]


def insert_statement(db: Database, run: Run, owner: str) -> Statement:
    """Insert a new run (in a new thread: nothing can be active there)."""
    marks = ", ".join("?" * (len(_FIELDS) + 2))
    return db.prepare(
        f"INSERT INTO runs ({', '.join(_FIELDS)}, owner, updated_at) VALUES ({marks})"
    ).bind(*_insert_values(run, owner))


async def insert_unless_active(db: Database, run: Run, owner: str, before: Sequence[Statement] = ()) -> bool:
    """Insert a new run unless its thread has an active one (one statement: two runs created at once
    cannot both start), after ``before`` (its ``additional_messages``, inserted on the same
    condition, in the same batch); whether it was inserted."""
    marks = ", ".join("?" * (len(_FIELDS) + 2))
    statement = db.prepare(
        f"INSERT INTO runs ({', '.join(_FIELDS)}, owner, updated_at) SELECT {marks}"
        f" WHERE NOT EXISTS (SELECT 1 FROM runs WHERE thread_id = ? AND {_ACTIVE})"
    ).bind(*_insert_values(run, owner), run.thread_id)
    if not before:
        return await statement.run() == 1
    await db.batch([*before, statement])
    return await db.prepare("SELECT 1 FROM runs WHERE id = ?").bind(run.id).first() is not None


async def get(db: Database, thread_id: str, run_id: str) -> StoredRun | None:
    row = await db.prepare(f"SELECT {_COLUMNS} FROM runs WHERE id = ? AND thread_id = ?").bind(
        run_id, thread_id
    ).first()
    return _stored(row) if row else None


async def get_by_id(db: Database, run_id: str) -> StoredRun | None:
    """A run by id alone (the executor's read: the job names only the run)."""
    row = await db.prepare(f"SELECT {_COLUMNS} FROM runs WHERE id = ?").bind(run_id).first()
    return _stored(row) if row else None


async def status_of(db: Database, run_id: str) -> RunStatus | None:
    """The run's status alone (None: the run is gone with its thread)."""
    row = await db.prepare("SELECT status FROM runs WHERE id = ?").bind(run_id).first()
    return None if row is None else row["status"]


async def list_page(db: Database, thread_id: str, page: Page) -> tuple[list[Run], bool]:
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM runs", "thread_id = ?", [thread_id], page)
    return [_stored(r).run for r in rows], has_more


async def active_in(db: Database, thread_id: str) -> str | None:
    """The id of the thread's active run, if it has one."""
    row = await db.prepare(  # `+id`: found by runs_thread_active (active runs only), not by walking runs_thread_id
        f"SELECT id FROM runs WHERE thread_id = ? AND {_ACTIVE} ORDER BY +id DESC LIMIT 1"
    ).bind(thread_id).first()
    return None if row is None else str(row["id"])


async def overdue(db: Database, now: int, limit: int, thread_id: str | None = None) -> list[str]:
    """Active runs past their ``expires_at`` (of one thread, or of all), oldest deadline first."""
    where, params = f"{_ACTIVE} AND expires_at <= ?", [now, *([thread_id] if thread_id else [])]
    if thread_id is not None:
        where += " AND thread_id = ?"
    rows = await db.prepare(f"SELECT id FROM runs WHERE {where} ORDER BY expires_at LIMIT ?").bind(
        *params, limit
    ).all()
    return [str(r["id"]) for r in rows]


def running_guard(run_id: str, claim: str | None) -> tuple[str, list[object]]:
    """A condition (`` AND EXISTS (…)``, and its parameters) that holds while the run is ``in_progress`` (and,
    with ``claim``, still that executor's: not taken over)."""
    if claim is None:
        return " AND EXISTS (SELECT 1 FROM runs WHERE id = ? AND status = 'in_progress')", [run_id]
    return " AND EXISTS (SELECT 1 FROM runs WHERE id = ? AND status = 'in_progress' AND claim = ?)", [run_id, claim]


async def take_over(db: Database, run_id: str, now: int, stale_before: int) -> str | None:
    """An ``in_progress`` run whose liveness mark is older than ``stale_before`` (its executor died), before
    its expiry, claimed anew (its mark ``now``): the new claim; None when it is not so (its executor is
    alive, another delivery took it first, it left ``in_progress``)."""
    return await claimed(
        db, "UPDATE runs SET claim = ?, updated_at = ? WHERE id = ? AND status = 'in_progress' AND updated_at < ?"
        " AND (expires_at IS NULL OR expires_at > ?)", now, run_id, stale_before, now)


async def refresh(db: Database, run_id: str, claim: str, now: int) -> bool:
    """The liveness mark of an ``in_progress`` (or ``cancelling``) run set to ``now`` by its executor
    (``claim``); False when it is no longer that executor's (taken over, ended, deleted)."""
    changed = await db.prepare(
        "UPDATE runs SET updated_at = ? WHERE id = ? AND status IN ('in_progress', 'cancelling') AND claim = ?"
    ).bind(now, run_id, claim).run()
    return changed == 1


async def transition(
    db: Database, run_id: str, sources: tuple[RunStatus, ...], status: RunStatus, now: int,
    changes: Mapping[str, object] | None = None, *, deadline: Literal["ahead", "passed"] | None = None,
    claim: str | None = None, stale_before: int | None = None,
) -> bool:
    """Move the run from one of ``sources`` to ``status`` (with ``changes`` to other columns) in one
    conditional statement; whether its row changed. ``deadline``: only if ``expires_at`` is still
    ``ahead`` (or unset), or only if it has ``passed``. ``claim``: only while the run is that executor's.
    ``stale_before``: only while its liveness mark is older (its executor died). ``updated_at`` is set to
    ``now``, but by a move to ``cancelling``, which keeps the executor's mark."""
    marks = ", ".join("?" * len(sources))
    where = f"id = ? AND status IN ({marks})"
    params: list[object] = [run_id, *sources]
    if claim is not None:
        where += " AND claim = ?"
        params.append(claim)
    if deadline == "ahead":
        where += " AND (expires_at IS NULL OR expires_at > ?)"
        params.append(now)
    elif deadline == "passed":
        where += " AND expires_at <= ?"
        params.append(now)
    if stale_before is not None:
        where += " AND updated_at < ?"
        params.append(stale_before)
    marked = {} if status == "cancelling" else {"updated_at": now}
    changed = await update_where(db, "runs", {"status": status, **marked, **(changes or {})}, where, params)
    return changed == 1


async def update_metadata(db: Database, run: Run) -> None:
    await db.prepare("UPDATE runs SET metadata = ? WHERE id = ?").bind(to_json(run.metadata), run.id).run()
