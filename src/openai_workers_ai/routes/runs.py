"""``/v1/threads/{thread_id}/runs`` and ``/v1/threads/runs``: create a run (in a thread, or with a new
thread), list, retrieve, modify, cancel, and submit tool outputs.

A run takes its settings from the assistant, overridden by the request, and is checked against the
model before it is accepted. Without ``stream`` it is sent to the background (``runs.execute``, a
Cloudflare Queue in the Worker, the in-process runner locally) and the reply is the ``queued`` run to
poll; with ``stream: true`` the same executor runs inline and its AssistantStreamEvents are the reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from json import dumps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import jobs
from ..context import AppContext, context, owner, principal
from ..errors import APIError, InvalidRequest
from ..ids import new_sortable_id
from ..limits import check_fits_a_row
from ..pagination import list_object, page
from ..ports import Job
from ..replies import json_response, polled
from ..repositories import assistants, messages, runs, threads
from ..runner import run_status
from ..runner import runs as executor
from ..streaming import sse, sse_response
from ..types.assistants import Assistant, response_format_json
from ..types.runs import (
    AssistantStreamEvent,
    CreateRunRequest,
    CreateThreadAndRunRequest,
    LastError,
    ModifyRunRequest,
    Run,
    RunSettings,
    RunStep,
    SubmitToolOutputsRunRequest,
)
from ..types.threads import Thread
from ..validation import parse_json
from ._assistants import (
    check_include,
    check_on_model,
    checked_model,
    checked_resources,
    checked_tools,
    new_message,
    not_found,
    now_ms,
    shown_step,
    thread_of,
)

POLL_AFTER_MS = 100
"""``openai-poll-after-ms`` on an unfinished run (:func:`..replies.polled`)."""
UNFINISHED = ("queued", "in_progress", "cancelling")
UNSENT = LastError(code="server_error", message="The run could not be queued for execution.")
"""A run's ``last_error`` when its ``runs.execute`` job could not be sent (the run then fails at once)."""


async def create(request: Request) -> Response:
    ctx = context(request)
    include = check_include(request)
    body = await parse_json(request, CreateRunRequest, task="text-generation")
    thread = await thread_of(request)
    assistant = await _assistant(request, body.assistant_id)
    run = _new_run(ctx, body, assistant, thread.id, body.additional_instructions)
    extra = [await new_message(request, m, thread.id, f"additional_messages[{i}].")
             for i, m in enumerate(body.additional_messages or ())]
    db = ctx.backends.db
    await run_status.expire_overdue(ctx, thread.id)
    before = [messages.insert_unless_running_statement(db, m) for m in extra]
    if not await runs.insert_unless_active(db, run, principal(request).key_hash, before):
        active = await runs.active_in(db, thread.id)
        raise InvalidRequest(f"Thread {thread.id} already has an active run {active}.")
    return await _start(ctx, run, owner(request), bool(body.stream), [
        AssistantStreamEvent("thread.run.created", run), AssistantStreamEvent("thread.run.queued", run)], include)


async def create_thread_and_run(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateThreadAndRunRequest, task="text-generation")
    assistant = await _assistant(request, body.assistant_id)
    given = body.thread
    ms = now_ms(ctx)
    thread = Thread(id=new_sortable_id("thread_", ms), created_at=ms // 1000, tool_resources={},
                    metadata=(given.metadata if given else None) or {})
    run = _new_run(ctx, body, assistant, thread.id, None)
    first = [await new_message(request, m, thread.id, f"thread.messages[{i}].")
             for i, m in enumerate((given.messages if given else None) or ())]
    # Last, as they may create vector stores. The run's own resources go to its new thread where the
    # thread names none (a run has no resources of its own to keep).
    resources = await checked_resources(request, given.tool_resources if given else None, "thread.tool_resources",
                                        thread=True)
    for kind, value in (await checked_resources(request, body.tool_resources, thread=True)).items():
        resources.setdefault(kind, value)
    thread = thread.model_copy(update={"tool_resources": resources})
    db, key = ctx.backends.db, principal(request).key_hash
    await db.batch([threads.insert_statement(db, thread, key), *(messages.insert_statement(db, m) for m in first),
                    runs.insert_statement(db, run, key)])
    return await _start(ctx, run, owner(request), bool(body.stream), [
        AssistantStreamEvent("thread.created", thread), AssistantStreamEvent("thread.run.created", run),
        AssistantStreamEvent("thread.run.queued", run)])


async def list_runs(request: Request) -> Response:
    ctx = context(request)
    thread = await thread_of(request)
    await run_status.expire_overdue(ctx, thread.id)
    found, has_more = await runs.list_page(ctx.backends.db, thread.id, page(request.query_params))
    return json_response(list_object([r.model_dump() for r in found], has_more))


async def _visible(request: Request) -> Run:
    """The run the path names, in the caller's thread, expired first if it is overdue."""
    ctx = context(request)
    thread = await thread_of(request)
    run_id: str = request.path_params["run_id"]
    found = await runs.get(ctx.backends.db, thread.id, run_id)
    run = None if found is None else await run_status.expire_if_overdue(ctx, run_id)
    if run is None:
        raise not_found("run", run_id)
    return run


async def retrieve(request: Request) -> Response:
    run = await _visible(request)
    return polled(json_response(run), run.status in UNFINISHED, POLL_AFTER_MS)


async def modify(request: Request) -> Response:
    body = await parse_json(request, ModifyRunRequest)
    run = await _visible(request)
    if "metadata" in body.model_fields_set:
        run = run.model_copy(update={"metadata": body.metadata or {}})
        await runs.update_metadata(context(request).backends.db, run)
    return json_response(run)


async def cancel(request: Request) -> Response:
    return json_response(await run_status.cancel(context(request), await _visible(request)))


async def submit_tool_outputs(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, SubmitToolOutputsRunRequest)
    run = await _visible(request)
    run = await run_status.submit_tool_outputs(ctx, run, [o.model_dump() for o in body.tool_outputs])
    if body.stream:
        return _stream([], _outputs_first(AssistantStreamEvent("thread.run.queued", run),
                                          _shown(executor.execute_inline(ctx, run.id), ())))
    return await _start(ctx, run, owner(request), False, [])


# ---- a new run ------------------------------------------------------------------------------------


async def _assistant(request: Request, assistant_id: str) -> Assistant:
    found = await assistants.get(context(request).backends.db, assistant_id, owner(request))
    if found is None:
        raise not_found("assistant", assistant_id)
    return found


def _new_run(ctx: AppContext, body: RunSettings, assistant: Assistant, thread_id: str,
             additional_instructions: str | None) -> Run:
    """The run: the assistant's settings, overridden by the request's, checked against the model."""
    sent = body.model_fields_set
    model = checked_model(ctx, body.model) if body.model else checked_model(ctx, assistant.model, "assistant_id")
    tools = checked_tools(body.tools) if body.tools is not None else assistant.tools
    instructions = body.instructions if body.instructions is not None else (assistant.instructions or "")
    if additional_instructions:
        instructions = f"{instructions}\n\n{additional_instructions}" if instructions else additional_instructions
        check_fits_a_row(instructions, "additional_instructions", "The run's instructions with 'additional_instructions'")
    tool_choice = _tool_choice(body, tools)
    response_format = (response_format_json(body.response_format) if body.response_format is not None
                       else assistant.response_format)
    reasoning_effort = body.reasoning_effort if "reasoning_effort" in sent else assistant.reasoning_effort
    check_on_model(model, tools, tool_choice, response_format, reasoning_effort)
    truncation = {"type": "auto", "last_messages": None}
    if body.truncation_strategy is not None:
        truncation = body.truncation_strategy.model_dump()
        if truncation["type"] == "last_messages" and truncation["last_messages"] is None:
            raise InvalidRequest("Missing required parameter: 'truncation_strategy.last_messages'.",
                                 param="truncation_strategy.last_messages")
    ms = now_ms(ctx)
    return Run(
        id=new_sortable_id("run_", ms), created_at=ms // 1000, thread_id=thread_id, assistant_id=assistant.id,
        status="queued", expires_at=ms // 1000 + run_status.RUN_TTL, model=model.id, instructions=instructions,
        tools=tools, metadata=body.metadata or {},
        temperature=body.temperature if body.temperature is not None else assistant.temperature,
        top_p=body.top_p if body.top_p is not None else assistant.top_p,
        max_prompt_tokens=body.max_prompt_tokens, max_completion_tokens=body.max_completion_tokens,
        truncation_strategy=truncation, tool_choice=tool_choice,
        parallel_tool_calls=body.parallel_tool_calls if body.parallel_tool_calls is not None else True,
        response_format=response_format, reasoning_effort=reasoning_effort,
    )


def _tool_choice(body: RunSettings, tools: Sequence[dict[str, Any]]) -> str | dict[str, Any]:
    choice = body.tool_choice
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice == "required" and not tools:
            raise InvalidRequest("Invalid value for 'tool_choice': 'required' needs at least one tool.",
                                 param="tool_choice")
        return choice
    if choice.type == "file_search" and any(t.get("type") == "file_search" for t in tools):
        return {"type": "file_search"}
    if choice.type != "function":
        raise InvalidRequest(f"Invalid value for 'tool_choice': the {choice.type} tool is not among the run's tools.",
                             param="tool_choice.type")
    names = {t["function"]["name"] for t in tools if t.get("type") == "function"}
    if choice.function is None or choice.function.name not in names:
        name = choice.function.name if choice.function else ""
        raise InvalidRequest(f"Invalid value for 'tool_choice': no function named '{name}' is among the run's tools.",
                             param="tool_choice.function.name")
    return {"type": "function", "function": {"name": choice.function.name}}


# ---- running it -----------------------------------------------------------------------------------


async def _start(ctx: AppContext, run: Run, caller: str | None, stream: bool,
                 opening: list[AssistantStreamEvent], include: Sequence[str] = ()) -> Response:
    """Run it: in the background (the ``queued`` run is the reply), or inline as a stream of events (run
    steps' file search results with their content when ``include`` names it)."""
    if stream:
        return _stream(opening, _shown(executor.execute_inline(ctx, run.id), include))
    try:
        sent = await jobs.send(ctx, Job("runs.execute", run.id, caller))
    except Exception:
        # No job will execute the run: it fails now (if it is still queued), so that the client's retry
        # of this error finds the thread free rather than busy with a run nothing executes.
        if await run_status.fail_unstarted(ctx, run.id, UNSENT) is not None:
            raise
        # It left queued meanwhile: the job got through after all (and claimed it), or it was cancelled.
        stored = await runs.get_by_id(ctx.backends.db, run.id)
        return json_response(stored.run if stored else run)
    if sent:
        return json_response(run)
    # This deployment has no job queue: the run executes before the reply, which shows how it ended.
    async for _ in executor.execute_inline(ctx, run.id):
        pass
    stored = await runs.get_by_id(ctx.backends.db, run.id)
    return json_response(stored.run if stored else run)


async def _shown(events: AsyncIterator[AssistantStreamEvent], include: Sequence[str]
                 ) -> AsyncIterator[AssistantStreamEvent]:
    async for event in events:
        if isinstance(event.data, RunStep):
            event = AssistantStreamEvent(event.event, shown_step(event.data, include))
        yield event


async def _outputs_first(queued: AssistantStreamEvent, events: AsyncIterator[AssistantStreamEvent]
                         ) -> AsyncIterator[AssistantStreamEvent]:
    """A streamed ``submit_tool_outputs`` in OpenAI's order (its streamed example): the tool-calls step,
    completed with the outputs, comes first, then ``thread.run.queued`` and ``thread.run.in_progress``.
    The executor records the outputs once it has claimed the run (the step is written only while the
    run is ``in_progress``), so the run's two events are held until the steps it completed have passed."""
    held = [queued]
    try:
        async for event in events:
            if held and event.event == "thread.run.in_progress":
                held.append(event)
                continue
            if held and not (event.event == "thread.run.step.completed" and isinstance(event.data, RunStep)
                             and event.data.type == "tool_calls"):
                for waiting in held:
                    yield waiting
                held = []
            yield event
    except Exception:
        for waiting in held:  # what was held goes out before the error event
            yield waiting
        raise
    for waiting in held:
        yield waiting


ANNOUNCEMENTS = frozenset({"thread.run.step.created", "thread.run.step.in_progress", "thread.message.created",
                           "thread.message.in_progress"})
"""Events the executor sends right before the delta that caused them: written in one chunk with it."""


def _stream(opening: list[AssistantStreamEvent], events: AsyncIterator[AssistantStreamEvent]) -> Response:
    async def frames() -> AsyncIterator[bytes]:
        held = b"".join(sse(event.json(), event=event.event) for event in opening)
        try:
            async for event in events:
                held += sse(event.json(), event=event.event)
                if event.event not in ANNOUNCEMENTS:
                    yield held
                    held = b""
        except Exception:
            if held:  # what was held goes out before the error event (the run's id with it)
                yield held
            raise
        yield held + sse("[DONE]", event="done")

    def error_event(error: APIError) -> bytes:
        # OpenAI's ErrorEvent: the error object itself is the event's data
        return sse(dumps(error.to_openai()["error"]), event="error")

    return sse_response(frames(), on_error=error_event)
