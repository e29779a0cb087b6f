"""The file_search tool, run by the gateway itself for Responses and Assistants.

The model asks for a search by calling :data:`..translate.file_search.FUNCTION` through the same
tool-calling path as the client's function tools; the gateway runs the hybrid search
(:mod:`.file_search`) on the stores the tool names and gives the model the results, numbered so
that its answer can cite them (:mod:`..translate.citations`). The call never goes back to the
client. Stores are checked when the request is made (another key's store is a 404, an expired one
a 400); a store deleted or expired since is skipped when the search runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..context import AppContext
from ..errors import APIError, InvalidRequest, NotFound
from ..repositories import assistants, threads, vector_stores
from ..translate import file_search as tool
from ..translate.citations import Source
from ..translate.responses import FILE_SEARCH_MAX_RESULTS, object_id
from ..types.responses import FileSearchTools, Item
from ..types.runs import Run
from ..types.vector_stores import Filter, RankingOptions
from ..validation import validate
from ..workers_ai import spec
from .file_search import file_search, keep_active
from .gateway import Ran


@dataclass(frozen=True, slots=True)
class Options:
    """What a declared file_search tool searches, and how."""

    vector_store_ids: tuple[str, ...]
    max_num_results: int = 10
    filters: Filter | None = None
    ranking_options: RankingOptions | None = None


async def check_stores(ctx: AppContext, store_ids: Sequence[str], reader: str | None, param: str) -> None:
    """404 for a store the caller cannot see (another key's, or none), 400 for an expired one."""
    for store_id in dict.fromkeys(store_ids):
        row = await vector_stores.get(ctx.backends.db, store_id, reader)
        if row is None:
            raise NotFound(f"No vector store found with id '{store_id}'.", param=param)
        if row.expired(ctx.now()):
            raise InvalidRequest(f"Vector store {store_id} has expired; it cannot be searched.", param=param)


async def search(ctx: AppContext, options: Options, queries: Sequence[str], first: int) -> list[Source]:
    """The results for ``queries`` as sources numbered from ``first``, best first (stores gone since skipped;
    their owner was checked when they were named)."""
    results = await file_search(ctx, options.vector_store_ids, list(queries), max_num_results=options.max_num_results,
                                filters=options.filters, ranking_options=options.ranking_options, owner=None,
                                skip_gone=True)
    return [Source(first + i, r.file_id, r.filename, r.text, r.score, dict(r.attributes))
            for i, r in enumerate(results)]


# ---- Responses ------------------------------------------------------------------------------------

RESPONSES_MAX_RESULTS = FILE_SEARCH_MAX_RESULTS


def response_options(declared: Item, index: int) -> Options:
    """A Responses ``tools[index]`` file_search declaration, checked (400s name ``tools[index]…``)."""
    checked = validate(FileSearchTools, {"tools": [None] * index + [declared]}).tools[index]
    assert checked is not None
    return Options(tuple(checked.vector_store_ids), checked.max_num_results or RESPONSES_MAX_RESULTS,
                   checked.filters, checked.ranking_options)


class ResponsesFileSearch:
    """The ``file_search`` tool of a response: a ``file_search_call`` item, ``searching`` while it runs."""

    type = "file_search"
    function: spec.Tool = tool.FUNCTION
    working = "searching"

    async def check(self, ctx: AppContext, declared: Item, index: int, reader: str | None) -> None:
        options = response_options(declared, index)
        await check_stores(ctx, options.vector_store_ids, reader, f"tools[{index}].vector_store_ids")

    def begin(self, arguments: str, fallback: str) -> Item:
        return tool.call_item(object_id("fs_"), tool.queries_of(arguments, fallback), "in_progress")

    async def run(self, ctx: AppContext, declared: Item, item: Item, budget: int, first: int) -> Ran:
        index = 0  # the declaration was checked when the request was made; its position no longer matters
        options = response_options(declared, index)
        try:
            sources = await search(ctx, options, item["queries"], first)
        except APIError as error:  # Workers AI failing …
            failed = tool.call_item(item["id"], item["queries"], "failed")
            return Ran(failed, f"The file search failed: {error.message}")
        return Ran(tool.call_item(item["id"], item["queries"], "completed", sources), tool.tool_result(sources, budget),
                   sources)


RESPONSES = ResponsesFileSearch()


# ---- Assistants -----------------------------------------------------------------------------------

ASSISTANTS_MAX_RESULTS = 20
"""OpenAI's default for the Assistants file_search tool (``file_search.max_num_results`` changes it)."""


async def run_options(ctx: AppContext, run: Run) -> Options:
    """What a run's searches search: the thread's and the assistant's vector stores (both, as at OpenAI),
    with the run's file_search tool's ``max_num_results`` and ``ranking_options``."""
    db = ctx.backends.db
    thread = await threads.get(db, run.thread_id, None)
    assistant = await assistants.get(db, run.assistant_id, None)
    store_ids = [*_store_ids(thread.tool_resources if thread else None),
                 *_store_ids(assistant.tool_resources if assistant else None)]
    declared = next((t for t in run.tools if t.get("type") == "file_search"), {})
    settings = declared.get("file_search") or {}
    ranking = settings.get("ranking_options")
    return Options(tuple(dict.fromkeys(store_ids)), settings.get("max_num_results") or ASSISTANTS_MAX_RESULTS,
                   None, validate(RankingOptions, ranking) if ranking else None)


async def keep_run_stores_active(ctx: AppContext, run: Run) -> None:
    """A run with the file_search tool makes its stores active, searched or not: OpenAI counts a store
    active when it was last "part of a run" (what a thread's store's default expiry runs from)."""
    options = await run_options(ctx, run)
    for store_id in options.vector_store_ids:
        row = await vector_stores.get(ctx.backends.db, store_id, None)
        if row is not None and not row.expired(ctx.now()):
            await keep_active(ctx, row)


def _store_ids(resources: dict[str, object] | None) -> list[str]:
    search = (resources or {}).get("file_search")
    ids = search.get("vector_store_ids") if isinstance(search, dict) else None
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []
