"""The file_search tool as the model sees it, and its results in both APIs' shapes (pure).

The model is offered one function, :data:`FUNCTION` (``file_search(queries)``), through the same
tool-calling path as the client's function tools; the gateway runs the search and gives the model
:func:`tool_result`: the results numbered across the whole response or run, so that a marker
``[n]`` in the answer names one result (:mod:`.citations`).
"""

from __future__ import annotations

from collections.abc import Sequence
from json import loads
from typing import Any

from ..types.assistants import FILE_SEARCH_RANKER
from ..workers_ai import spec
from .citations import Source

NAME = "file_search"
FUNCTION = spec.Tool(
    NAME,
    "Search the user's uploaded files for passages relevant to their question. Call it before answering "
    "anything the files may cover; give one or more short search queries.",
    {"type": "object", "properties": {"queries": {
        "type": "array", "items": {"type": "string"}, "description": "Search queries: keywords or short questions.",
    }}, "required": ["queries"]},
)
MIN_BUDGET = 2000
"""Characters of results the model reads at the least (the best result, cut, if it is longer)."""
_HEADER = "Results of the file search (cite a result you use by writing its marker after the sentence, e.g. [{n}]):"


def queries_of(arguments: str, fallback: str) -> list[str]:
    """The queries the model asked for (``queries``, or a lone ``query``); ``fallback`` (the user's last
    words) when its arguments name none."""
    try:
        value = loads(arguments or "{}")
    except ValueError:
        value = arguments
    found: list[Any] = []
    if isinstance(value, dict):
        given = value.get("queries", value.get("query"))
        found = given if isinstance(given, list) else [given]
    elif isinstance(value, str):
        found = [value]
    queries = [q.strip() for q in found if isinstance(q, str) and q.strip()]
    return queries or [fallback.strip() or "?"]


def tool_result(sources: Sequence[Source], budget: int) -> str:
    """What the model reads as the search's result: each source under its marker, best first, as many as
    ``budget`` characters hold (at least the first, cut to it)."""
    if not sources:
        return "The file search found nothing relevant in the files."
    blocks: list[str] = []
    left = max(budget, MIN_BUDGET)
    for source in sources:
        block = f"[{source.number}] {source.filename}\n{source.text.strip()}"
        if len(block) > left:
            if blocks:
                break
            block = block[:left]
        blocks.append(block)
        left -= len(block) + 2
    return _HEADER.format(n=sources[0].number) + "\n\n" + "\n\n".join(blocks)


def budget_for(context_window: int | None) -> int:
    """Characters of results a model reads: about a third of its context window (~4 characters a token)."""
    return max(MIN_BUDGET, (context_window or 32_768) * 4 // 3)


# ---- Responses ----------------------------------------------------------------------------------


def call_item(item_id: str, queries: list[str], status: str, sources: Sequence[Source] | None = None) -> dict[str, Any]:
    """A ``file_search_call`` output item (``results`` null until the search has them)."""
    results = None if sources is None else [
        {"file_id": s.file_id, "filename": s.filename, "score": s.score, "attributes": s.attributes, "text": s.text}
        for s in sources]
    return {"id": item_id, "type": "file_search_call", "status": status, "queries": queries, "results": results}


RESULTS = "file_search_call.results"
"""The ``include`` value that shows a ``file_search_call`` 's results."""


def shown(value: Any, include: Sequence[str] | None) -> Any:
    """``value`` (an event, a Response, an item or a list of items) as the client sees it: the results of
    its ``file_search_call`` items left out (null) unless ``include`` names them. Copies only what changes."""
    if include and RESULTS in include:
        return value
    if isinstance(value, list):
        return [shown(v, include) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("type") == "file_search_call" and value.get("results") is not None:
        return {**value, "results": None}
    changed = {k: shown(value[k], include) for k in ("item", "response", "output") if k in value}
    return {**value, **changed} if any(changed[k] is not value[k] for k in changed) else value


# ---- Assistants ---------------------------------------------------------------------------------

RANKER = FILE_SEARCH_RANKER
"""The ranker an Assistants step names when ``auto`` (or nothing) was asked: the hybrid search, reranked."""
RESULT_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


def step_call(call_id: str, ranking_options: dict[str, Any] | None, sources: Sequence[Source] | None) -> dict[str, Any]:
    """A run step's ``file_search`` tool call (``sources`` None: still searching, ``results: []``, as OpenAI's
    ``thread.run.step.delta`` naming the call: openai/openai-dotnet
    tests/SessionRecords/AssistantsTests/FileSearchStreamingWorks.json); each result with its file's
    ``attributes`` before its ``content``, as OpenAI's (openai/openai-dotnet
    tests/SessionRecords/AssistantsTests/FileSearchWorks.json: ``file_id``, ``file_name``, ``score``, ``attributes``,
    ``content``)."""
    options = dict(ranking_options or {})
    if options.get("ranker") in (None, "auto"):
        options["ranker"] = RANKER
    options.setdefault("score_threshold", 0.0)
    results = [{"file_id": s.file_id, "file_name": s.filename, "score": s.score, "attributes": s.attributes,
                "content": [{"type": "text", "text": s.text}]} for s in sources or ()]
    return {"id": call_id, "type": "file_search", "file_search": {"ranking_options": options, "results": results}}


def step_shown(step_details: dict[str, Any], include: Sequence[str] | None) -> dict[str, Any]:
    """A step's details as the client sees them: the results' ``content`` only when ``include`` names it."""
    if (include and RESULT_CONTENT in include) or step_details.get("type") != "tool_calls":
        return step_details
    calls = step_details.get("tool_calls") or []
    if not any(c.get("type") == "file_search" for c in calls):
        return step_details
    return {**step_details, "tool_calls": [_without_content(c) for c in calls]}


def _without_content(call: dict[str, Any]) -> dict[str, Any]:
    search = call.get("file_search") or {}
    if call.get("type") != "file_search" or "results" not in search:
        return call
    return {**call, "file_search": {**search, "results": [
        {k: v for k, v in r.items() if k != "content"} for r in search["results"]]}}


def sources_of_step(calls: Sequence[dict[str, Any]], first: int) -> list[Source]:
    """The sources a step's file_search calls gave the model, numbered from ``first``."""
    out: list[Source] = []
    for call in calls:
        for result in (call.get("file_search") or {}).get("results") or ():
            text = "".join(p.get("text", "") for p in result.get("content") or ())
            out.append(Source(first + len(out), result["file_id"], result.get("file_name", ""), text,
                              float(result.get("score") or 0.0)))
    return out

