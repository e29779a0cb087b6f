"""What the Assistants doors share: the tools and resources on offer, the model check, the caller's
thread, and a client's new message (its files checked)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..catalog import ModelInfo
from ..context import AppContext, context, owner
from ..errors import InvalidRequest, NotFound
from ..ids import new_sortable_id
from ..limits import check_fits_a_row
from ..repositories import files, threads
from ..runner.file_search_tool import check_stores
from ..translate import file_search, strict_schema
from ..translate import runs as translate
from ..types.assistants import AssistantTool, FunctionTool, ToolResources, tool_json, tool_resources_json
from ..types.runs import Run, RunStep
from ..types.threads import CreateMessageRequest, ImageFileContent, ImageURLContent, Message, Thread, text_part
from ..validation import includes
from ..workers_ai import families
from ._vector_stores import create_store

NO_CODE_INTERPRETER = ("The code_interpreter tool is not offered: Workers AI has no sandbox to run code in. "
                       "Use function tools and run code on your side.")
INCLUDABLE = {file_search.RESULT_CONTENT}
THREAD_STORE_DAYS = 7
"""A store a thread's ``tool_resources.file_search.vector_stores`` makes expires this many days after it was
last active, as at OpenAI ("Thread vector stores have default expiration policies": its file search guide);
an assistant's has no default."""


V1_RETIRED = ("The v1 Assistants API has been deprecated. Please try again by setting the header "
              "'OpenAI-Beta: assistants=v2'. See the migration guide for more information: "
              "https://platform.openai.com/docs/assistants/migration.")
"""OpenAI's 400 (code ``invalid_beta``) for ``OpenAI-Beta: assistants=v1``, as client issues quote it
(supershaneski/openai-assistants-api-multi-user-sample#4, JZO001/Forge.OpenAI#25)."""


def v2(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """An Assistants door: ``OpenAI-Beta: assistants=v2`` (what the clients send) or no such header is
    served; ``assistants=v1`` is OpenAI's 400, rather than v2 answers to an application written for v1
    (whose bodies and objects differ: ``file_ids``, the ``retrieval`` tool)."""

    @wraps(handler)
    async def checked(request: Request) -> Response:
        beta = request.headers.get("openai-beta")
        if beta is not None:
            features = {part.strip().lower() for part in beta.split(",")}
            if "assistants=v1" in features and "assistants=v2" not in features:
                raise InvalidRequest(V1_RETIRED, code="invalid_beta")
        return await handler(request)

    return checked


def check_include(request: Request) -> list[str]:
    """``include[]`` (runs and steps): only file search results' content may be named, as at OpenAI."""
    return includes(request, INCLUDABLE)


def shown_step(step: RunStep, include: Sequence[str], run: Run | None = None) -> RunStep:
    """A run step as the client sees it: file search results' ``content`` only when ``include`` names it; read
    from D1, its ``run``'s ``expires_at`` (a step the executor streams has it already)."""
    details = file_search.step_shown(step.step_details, include)
    update: dict[str, Any] = {} if details is step.step_details else {"step_details": details}
    if run is not None:
        update["expires_at"] = run.expires_at
    return step.model_copy(update=update) if update else step


def not_found(kind: str, object_id: str) -> NotFound:
    """OpenAI's 404 for a missing (or another key's) object: ``No thread found with id '…'.``"""
    return NotFound(f"No {kind} found with id '{object_id}'.")


def now_ms(ctx: AppContext) -> int:
    return int(ctx.clock() * 1000)


async def thread_of(request: Request) -> Thread:
    """The thread the path names, if the caller may see it (another key's thread is a 404)."""
    thread_id: str = request.path_params["thread_id"]
    thread = await threads.get(context(request).backends.db, thread_id, owner(request))
    if thread is None:
        raise not_found("thread", thread_id)
    return thread


def checked_tools(tools: Sequence[AssistantTool], param: str = "tools") -> list[dict[str, Any]]:
    """The tools as stored; a 400 for the tools not on offer and for strict schemas OpenAI refuses."""
    searching = any(t.type == "file_search" for t in tools)
    for i, tool in enumerate(tools):
        if tool.type == "code_interpreter":
            raise InvalidRequest(NO_CODE_INTERPRETER, param=f"{param}[{i}].type", code="unsupported_tool")
        if tool.type == "file_search" and any(t.type == "file_search" for t in tools[:i]):
            raise InvalidRequest(f"Only one 'file_search' tool may be given in '{param}'.", param=f"{param}[{i}]")
        if isinstance(tool, FunctionTool) and tool.function.strict:
            strict_schema.check_tool(i, tool.function.name, tool.function.parameters)
        if isinstance(tool, FunctionTool) and searching and tool.function.name == file_search.NAME:
            raise InvalidRequest(f"Invalid '{param}[{i}].function.name': the name '{file_search.NAME}' is the "
                                 "file_search tool's; choose another.", param=f"{param}[{i}].function.name")
    names = [t.function.name for t in tools if isinstance(t, FunctionTool)]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise InvalidRequest(f"Duplicate function name '{name}' in '{param}'.", param=f"{param}[{i}].function.name")
    return [tool_json(t) for t in tools]


async def checked_resources(request: Request, resources: ToolResources | None,
                            param: str = "tool_resources", *, thread: bool = False) -> dict[str, Any]:
    """``tool_resources`` as stored: a 400 for code_interpreter files (not on offer); the file_search
    stores checked as the caller's (404; an expired one 400), and a store made from
    ``vector_stores[0]`` (its files attached and ingested) named instead — a ``thread``'s expiring
    :data:`THREAD_STORE_DAYS` after it was last active."""
    stored = tool_resources_json(resources)
    if resources is None:
        return stored
    if resources.code_interpreter is not None and resources.code_interpreter.file_ids:
        raise InvalidRequest(NO_CODE_INTERPRETER, param=f"{param}.code_interpreter", code="unsupported_tool")
    search = resources.file_search
    if search is None:
        return stored
    ids = list(search.vector_store_ids or ())
    if ids and search.vector_stores:
        raise InvalidRequest(f"Only one vector store may be attached: give '{param}.file_search.vector_store_ids' "
                             "or 'vector_stores', not both.", param=f"{param}.file_search")
    await check_stores(context(request), ids, owner(request), f"{param}.file_search.vector_store_ids")
    for new in search.vector_stores or ():
        row = await create_store(request, file_ids=new.file_ids, metadata=new.metadata,
                                 chunking_strategy=new.chunking_strategy,
                                 expires_after_days=THREAD_STORE_DAYS if thread else None,
                                 param=f"{param}.file_search.vector_stores[0].file_ids")
        ids.append(row.id)
    stored["file_search"] = {"vector_store_ids": ids}
    return stored


def checked_model(ctx: AppContext, name: str, param: str = "model") -> ModelInfo:
    """The text-generation model ``name`` names (404 / 400 otherwise)."""
    return ctx.catalog.resolve(name, task="text-generation", param=param)


def check_on_model(
    model: ModelInfo, tools: list[dict[str, Any]], tool_choice: str | dict[str, Any] | None,
    response_format: str | dict[str, Any] | None, reasoning_effort: str | None,
) -> None:
    """The 400 the pipeline would answer for these settings on this model (no tools, no JSON mode, no
    such reasoning effort), answered now rather than when a run fails."""
    families.calls(translate.settings_spec(model, tools, tool_choice, response_format, reasoning_effort))


async def new_message(
    request: Request, body: CreateMessageRequest, thread_id: str, where: str = ""
) -> Message:
    """A client's message for ``thread_id``, its content and attachments checked (``where``: the param
    naming it, ``messages[0].`` …): the files it names are the caller's, its images are images."""
    ctx = context(request)
    caller = owner(request)
    content: list[dict[str, Any]] = []
    if isinstance(body.content, str):
        if not body.content:
            raise InvalidRequest(f"Invalid '{where}content': empty string. Expected a non-empty string or array.",
                                 param=f"{where}content")
        content.append(text_part(body.content))
    else:
        for k, part in enumerate(body.content):
            param = f"{where}content[{k}]"
            if isinstance(part, (ImageFileContent, ImageURLContent)) and body.role != "user":
                raise InvalidRequest(f"Invalid '{param}': images are only allowed in messages with role 'user'.",
                                     param=param)
            if isinstance(part, ImageFileContent):
                await _visible_file(ctx, part.image_file.file_id, caller, f"{param}.image_file.file_id")
                content.append({"type": "image_file", "image_file": {"file_id": part.image_file.file_id,
                                                                     "detail": part.image_file.detail or "auto"}})
            elif isinstance(part, ImageURLContent):
                url = part.image_url.url
                if not url.startswith(("https://", "http://", "data:image/")):
                    raise InvalidRequest(f"Invalid '{param}.image_url.url': expected an https:// URL or a data: "
                                         "URL of an image.", param=f"{param}.image_url.url")
                content.append({"type": "image_url", "image_url": {"url": url,
                                                                   "detail": part.image_url.detail or "auto"}})
            else:
                content.append(text_part(part.text))
    check_fits_a_row(content, f"{where}content", "A message's content (an image is best sent as a file: image_file)")
    attachments: list[dict[str, Any]] = []
    for k, attachment in enumerate(body.attachments or ()):
        param = f"{where}attachments[{k}]"
        for j, tool in enumerate(attachment.tools):
            if tool.type == "code_interpreter":
                raise InvalidRequest(NO_CODE_INTERPRETER, param=f"{param}.tools[{j}].type", code="unsupported_tool")
        await _visible_file(ctx, attachment.file_id, caller, f"{param}.file_id")
        attachments.append({"file_id": attachment.file_id, "tools": [{"type": t.type} for t in attachment.tools]})
    ms = now_ms(ctx)
    return Message(id=new_sortable_id("msg_", ms), created_at=ms // 1000, thread_id=thread_id, status="completed",
                   completed_at=ms // 1000, role=body.role, content=content, attachments=attachments,
                   metadata=body.metadata or {})


async def _visible_file(ctx: AppContext, file_id: str, caller: str | None, param: str) -> None:
    if await files.get(ctx.backends.db, file_id, caller, ctx.now()) is None:
        raise InvalidRequest(f"Invalid '{param}': no file with id '{file_id}' (upload it with /v1/files first).",
                             param=param)
