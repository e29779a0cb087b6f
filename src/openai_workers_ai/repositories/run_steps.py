"""The ``run_steps`` table: what a run did, step by step (a message written, tools called).

Ownership is the thread's: callers read the thread (with its owner) first.
"""

from __future__ import annotations

from typing import Any

from ..pagination import Page
from ..ports import Database, Statement
from ..types.runs import RunStep, StepStatus, run_usage
from .columns import from_json, to_json
from .pages import page_of
from .runs import running_guard

_FIELDS = ("id", "run_id", "thread_id", "assistant_id", "created_at", "type", "status", "step_details", "last_error",
           "expired_at", "cancelled_at", "failed_at", "completed_at")
_COLUMNS = ", ".join((*_FIELDS, "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"))
_JSON = frozenset({"step_details", "last_error"})
_ENDED_AT = {"cancelled": "cancelled_at", "failed": "failed_at", "completed": "completed_at", "expired": "expired_at"}


def _step(row: dict[str, Any]) -> RunStep:
    values = {k: from_json(row[k]) if k in _JSON else row[k] for k in _FIELDS}
    if row["prompt_tokens"] is not None:
        values["usage"] = run_usage(row["prompt_tokens"], row["completion_tokens"] or 0, row["cached_tokens"] or 0,
                                    row["reasoning_tokens"] or 0)
    return RunStep(**values)


def insert_statement(db: Database, step: RunStep, claim: str | None = None) -> Statement:
    """Insert a run's new step, only while the run is ``in_progress`` (with ``claim``: still that executor's)."""
    values = [to_json(getattr(step, c)) if c in _JSON else getattr(step, c) for c in _FIELDS]
    marks = ", ".join("?" * len(_FIELDS))
    guard, params = running_guard(step.run_id, claim)
    return db.prepare(
        f"INSERT INTO run_steps ({', '.join(_FIELDS)}) SELECT {marks} WHERE 1{guard}"
    ).bind(*values, *params)


def finish_statement(db: Database, step: RunStep, running: bool = True, claim: str | None = None) -> Statement:
    """Write a step's final state (status, details, usage, error, end time) while it is ``in_progress``;
    with ``running``, only while its run is ``in_progress`` too (with ``claim``: still that executor's)."""
    usage = step.usage
    guard, params = running_guard(step.run_id, claim) if running else ("", [])
    ended_at = _ENDED_AT.get(step.status)
    return db.prepare(
        "UPDATE run_steps SET status = ?, step_details = ?, last_error = ?, prompt_tokens = ?, completion_tokens = ?,"
        f" cached_tokens = ?, reasoning_tokens = ?{f', {ended_at} = ?' if ended_at else ''}"
        f" WHERE id = ? AND status = 'in_progress'{guard}"
    ).bind(
        step.status, to_json(step.step_details), to_json(step.last_error and step.last_error.model_dump()),
        usage and usage.prompt_tokens, usage and usage.completion_tokens,
        usage and usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens,
        usage and usage.completion_tokens_details and usage.completion_tokens_details.reasoning_tokens,
        *([getattr(step, ended_at)] if ended_at else []), step.id, *params,
    )


def close_statement(db: Database, run_id: str, status: StepStatus, now: int) -> Statement:
    """End a run's unfinished steps (``cancelled``, ``failed``, ``expired``) when the run ends without them."""
    return db.prepare(
        f"UPDATE run_steps SET status = ?, {_ENDED_AT[status]} = ? WHERE run_id = ? AND status = 'in_progress'"
    ).bind(status, now, run_id)


def delete_unfinished_statement(db: Database, step_id: str) -> Statement:
    """Delete a step still ``in_progress`` (a streamed run handed to the background starts over)."""
    return db.prepare("DELETE FROM run_steps WHERE id = ? AND status = 'in_progress'").bind(step_id)


async def get(db: Database, run_id: str, step_id: str) -> RunStep | None:
    row = await db.prepare(f"SELECT {_COLUMNS} FROM run_steps WHERE id = ? AND run_id = ?").bind(
        step_id, run_id
    ).first()
    return _step(row) if row else None


async def list_page(db: Database, run_id: str, page: Page) -> tuple[list[RunStep], bool]:
    rows, has_more = await page_of(db, f"SELECT {_COLUMNS} FROM run_steps", "run_id = ?", [run_id], page)
    return [_step(r) for r in rows], has_more


async def of_run(db: Database, run_id: str) -> list[RunStep]:
    """Every step of the run, in order."""
    rows = await db.prepare(f"SELECT {_COLUMNS} FROM run_steps WHERE run_id = ? ORDER BY id").bind(run_id).all()
    return [_step(r) for r in rows]
