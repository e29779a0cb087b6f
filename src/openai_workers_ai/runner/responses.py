"""The Responses executor: a request → a :class:`Plan` → one generator of events, however it is run.

:func:`prepare` decides everything a response needs while the request is still open (so every
400 / 404 is an HTTP error): the model, the history (``previous_response_id`` chain or
``conversation``), the input items in their stored shape, the spec for the pipeline.
:func:`execute` runs it and yields the Responses events (:func:`complete` the same steps, drained); they
serve all the ways a response runs:

- ``stream: true`` — the route encodes the events as SSE (or WebSocket messages) as they come;
- otherwise — :func:`complete` drains them and the route answers the last event's response
  (:func:`complete_json`: a foreground, unmoderated response without gateway-run tools takes the same steps
  without making the events nobody reads, its reply put together from the JSON its rows were stored with);
- ``background: true`` — :func:`enqueue` stores the response ``queued`` and sends a
  ``responses.run`` job; the job (:func:`run_job`) claims it (``queued`` → ``in_progress``,
  conditional: a redelivered message finds nothing to do) and drains the same generator, its
  request rebuilt from the row (:func:`plan_of`: the echoed fields and the settings as sent),
  refreshing the row's liveness mark meanwhile; a delivery that finds it ``in_progress`` with a mark
  older than :data:`STALE_AFTER` (its generator died) takes it over and generates it from the start,
  and one that finds the mark fresh comes back later (:func:`run_job`);
- ``background`` with ``stream`` — :func:`start_streamed` stores it ``queued``, claims it and sends its
  job as a watchdog (due when its mark would be stale: it takes over if the request's process dies), and
  the request streams the generator, refreshing the mark; if the client goes away first, :func:`hand_off`
  queues it again for a job, and a cancel meanwhile ends the stream as stored.

Persistence happens at step boundaries, never per delta: a foreground response is written once,
when it is done (the response, its input and output items, and the conversation's new items in
one batch); a background one is written ``queued`` with its input, and finished with one batch
whose every statement is conditional on it still being ``in_progress`` — so a cancel that
committed first wins, and the finished output is discarded.

Gateway-run tools (:data:`GATEWAY_TOOLS`): a tool type the server runs itself (``file_search``) is
offered to the model as a function; when the model calls it the executor adds its item to the output
(``file_search_call``), runs it, gives the model the result and calls the model again (at most
:data:`MAX_ROUNDS` times). A forced or required ``tool_choice`` holds for the first call only, and
the answers written after a search cite its results (``file_citation`` annotations).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, aclosing, nullcontext
from dataclasses import dataclass, field, replace
from json import loads
from typing import Any

from .. import webhooks
from ..catalog import REASONING, ModelInfo
from ..context import AppContext
from ..errors import APIError, InvalidRequest, UpstreamError
from ..ids import call_id
from ..limits import MAX_ROW_VALUE_BYTES
from ..ports import Job, Statement
from ..replies import json_bytes, pydantic_json
from ..repositories import conversations, items, responses
from ..repositories.responses import ResponseRow
from ..streaming import primed
from ..translate import file_search as file_search_format
from ..translate import response_objects as objects
from ..translate import responses as translate
from ..translate.citations import Source
from ..types.responses import INCLUDABLE, CreateResponse, Item
from ..workers_ai import pipeline, spec
from . import file_search_tool, liveness, moderation, response_inputs
from .gateway import GatewayTool
from .liveness import STALE_AFTER

log = logging.getLogger(__name__)

JOB_KIND = "responses.run"
DEADLINE = 15 * 60
"""Seconds a background response may stay queued / in progress before it is failed."""
MAX_ROUNDS = 8
"""Model calls per response when gateway-run tools are called."""
SHAPED_EVENTS = 50_000
"""Events a stream may have for its shape to be stored (:attr:`~..translate.response_objects.EventWriter.shape`;
each delta's length a few bytes of JSON: well under D1's 2 MB row beside a 1 MiB echo); a longer one is replayed
with one delta per item."""
CHECK_EVERY = 1.0
"""Seconds between looks at a streamed background response's status while the model streams (a cancel
is noticed within it, and the model stopped)."""
MAX_ECHO_BYTES = MAX_ROW_VALUE_BYTES
"""The request fields a response stores (its whole echo: instructions, tools, text.format, tool_choice,
metadata …, and a background response's settings) must fit a D1 row (2 MB) with room to spare."""


GATEWAY_TOOLS: dict[str, GatewayTool] = {"file_search": file_search_tool.RESPONSES}
"""Tool type → the tool the gateway runs itself for it (:mod:`.gateway`)."""


@dataclass(slots=True)
class Plan:
    """Everything a response needs to run, decided while the request is open."""

    response_id: str
    owner: str
    model: ModelInfo
    request: CreateResponse
    echoed: dict[str, Any]
    input: list[Item]
    """The new input items, in their stored shape."""
    spec: spec.ChatSpec
    created_at: int
    gateway: dict[str, tuple[GatewayTool, Item]] = field(default_factory=dict)
    """Function name → (gateway tool, its declaration in the request)."""
    history: list[Item] = field(default_factory=list)
    """The items before the input (the chain's or the conversation's), as stored."""
    settings: dict[str, Any] | None = None
    """A background response's request settings as sent (:func:`settings_of`), stored with it."""
    request_json: bytes | None = None
    """The ``request`` column's JSON (the echo and the settings), made once to size it, then stored as is
    (None for a job's plan: its row is there already)."""
    claim: str | None = None
    """A background response's claim (its generator's token): its end is written only while it holds."""
    echo_json: bytes | None = None
    """The echo's JSON as pydantic-core made it (:func:`~..replies.pydantic_json`), for the reply: a
    foreground response's ``request_json`` (None when only the fallback could make it, and for a
    background response, whose ``request_json`` holds its settings too)."""
    moderator: ModelInfo | None = None
    """A moderated response's moderation model (``moderation: {model, policy}``): its input and output scored."""

    @property
    def store(self) -> bool:
        return self.request.store is not False

    @property
    def conversation_id(self) -> str | None:
        return self.request.conversation_id

    @property
    def summarized(self) -> bool:
        """Whether the request set ``reasoning.summary`` (:func:`asks_summary`)."""
        return asks_summary(self.request)

    @property
    def kept_output_digits(self) -> str | None:
        """The digits its first output item's id gets after its type's prefix: those of the output item its row
        would keep (:func:`~..repositories.responses.kept_digits`), so that an output of that one item is kept;
        None when the response is not stored (every output item gets a fresh id)."""
        return responses.kept_digits(self.response_id)[1] if self.store else None

    @property
    def direct(self) -> bool:
        """A foreground, unmoderated response without gateway-run tools: one model call, answered without
        the events nobody reads when it is not streamed (:func:`_answered`)."""
        return not self.gateway and not self.request.background and self.moderator is None

    def row(self, status: str, *, usage: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
            incomplete_details: dict[str, Any] | None = None, completed_at: int | None = None,
            deadline: int | None = None, moderation: dict[str, Any] | None = None,
            stream_shape: list[Any] | None = None) -> ResponseRow:
        request = self.request
        return ResponseRow(self.response_id, self.owner, status, self.model.id, bool(request.background),
                           request.previous_response_id, request.conversation_id, self.echoed, usage, error,
                           incomplete_details, self.created_at, completed_at, deadline, self.settings,
                           moderation=moderation, stream_shape=stream_shape)

    def response(self, status: str, output: list[Item], **fields: Any) -> dict[str, Any]:
        return objects.response_object(
            self.response_id, created_at=self.created_at, status=status, model=self.model.id, echoed=self.echoed,
            output=output, previous_response_id=self.request.previous_response_id,
            conversation_id=self.conversation_id, background=bool(self.request.background), **fields)


def asks_summary(req: CreateResponse) -> bool:
    """Whether the request set ``reasoning.summary``: its reasoning then comes as a summary
    (:func:`~..translate.response_objects.reasoning_item`), and a model that does not reason refuses it."""
    reasoning = req.reasoning
    return reasoning is not None and reasoning.summary is not None


def check_request(req: CreateResponse) -> None:
    """The 400s that depend on nothing but the request."""
    if req.prompt is not None:
        raise InvalidRequest("Prompt templates ('prompt') are not supported here; send 'input' and "
                             "'instructions'.", param="prompt")
    for i, value in enumerate(req.include or ()):
        if value not in INCLUDABLE:
            raise InvalidRequest(f"Invalid value for 'include[{i}]': '{value}'.", param=f"include[{i}]")
    if req.background and req.store is False:
        raise InvalidRequest("Background responses must be stored: 'background' needs 'store' true.", param="store")


async def prepare(ctx: AppContext, req: CreateResponse, *, owner: str, reader: str | None,
                  response_id: str | None = None, new_input: list[Item] | None = None,
                  cached: list[Item] | None = None) -> Plan:
    """The plan for ``req`` by ``owner`` (``reader``: the owner filter for reads, None for admins).

    A job passes the stored ``response_id`` and ``new_input``; a WebSocket passes ``cached``, the
    history it kept of its last response (used instead of reading the chain)."""
    check_request(req)
    if new_input is None and not req.input and req.previous_response_id is None and req.conversation is None:
        raise _no_input(req)
    echoed = objects.echo(req)
    settings = settings_of(req) if req.background else None
    request_json = echo_json = None
    if response_id is None:  # checked when the request was made, not again when its job runs
        if settings is None:  # the stored request is the echo: its JSON, made once for the row and the reply
            # (with penalties, the reply is made whole: response_json places the echo's members in one run)
            echo_json = (pydantic_json(echoed) if req.frequency_penalty is None and req.presence_penalty is None
                         else None)
        request_json = echo_json or responses.stored_request(echoed, settings)
        _check_size(echoed, request_json)
    model = ctx.catalog.resolve(req.model or ctx.settings.default_model, task="text-generation")
    if asks_summary(req) and not model.supports(REASONING):
        raise _no_summary(model)
    moderator = None if req.moderation is None else moderation.moderator(ctx, req.moderation)
    plan_id = response_id or translate.object_id("resp_")
    # An input of one item without an id gets the id its row would keep it under (responses.keeps).
    kept = responses.kept_digits(plan_id)[0] if new_input is None and _one_item_without_id(req.input) else None
    new = new_input if new_input is not None else translate.input_items(req.input, kept and "msg_" + kept)
    if kept is not None and not isinstance(req.input, str):  # one item sent without an id: the kept id, not a fresh one
        new[0]["id"] = translate.PREFIXES[new[0]["type"]] + kept
    # A text input is one user message of text, its id made here (kept_digits): nothing to look up, repeat or read.
    text_input = new_input is None and isinstance(req.input, str)
    if cached is not None and req.conversation_id is None:  # with a conversation: its 400 (both given), or its checks
        past = response_inputs.History(cached, "previous_response_id")
    elif req.previous_response_id is None and req.conversation_id is None:
        past = response_inputs.History([], "input")  # nothing before the input (nothing to read)
    else:
        past = await response_inputs.history(ctx, req.previous_response_id, req.conversation_id, reader)
    if not text_input and any(item.get("type") == "item_reference" for item in new):
        new = await response_inputs.references(ctx, new, reader)  # stored as the items they name
    if past.items or len(new) > 1:  # else no id can be repeated
        _check_new_ids(past.items, new)
    wheres = [past.where] * len(past.items) + _input_wheres(len(new))
    resolved = [*past.items, *new]  # as the model reads them: an item's files read
    for k in range(len(past.items) if text_input else len(resolved)):
        if response_inputs.reads_files(resolved[k]):
            resolved[k] = await response_inputs.resolve(ctx, resolved[k], wheres[k], reader)
    # (the gateway's functions matter only to a request with tools: tools_of looks at them then)
    chat = translate.chat_spec(req, model, resolved, wheres, gateway_tools=gateway_functions() if req.tools else None)
    gateway: dict[str, tuple[GatewayTool, Item]] = {}
    for i, tool in enumerate(req.tools or ()):
        if (t := GATEWAY_TOOLS.get(str(tool.get("type")))) is not None:
            if response_id is None:  # checked when the request was made, not again when its job runs
                await t.check(ctx, tool, i, reader)
            gateway[t.function.name] = (t, tool)
    return Plan(plan_id, owner, model, req, echoed, new, chat, ctx.now(),
                gateway, past.items, settings, request_json, echo_json=echo_json, moderator=moderator)


def _one_item_without_id(value: str | list[Item] | None) -> bool:
    """Whether the request's ``input`` (``value``) is one item the response gives its id to: a text, or one item
    sent without an id (not an ``item_reference``, which names a stored item)."""
    if isinstance(value, str):
        return True
    return (value is not None and len(value) == 1 and isinstance(value[0], dict) and value[0].get("id") is None
            and value[0].get("type") != "item_reference")


_INPUT_WHERES = tuple(f"input[{i}]" for i in range(16))


def _input_wheres(count: int) -> list[str]:
    """The params naming ``count`` input items (``input[0]`` …)."""
    if count <= len(_INPUT_WHERES):
        return list(_INPUT_WHERES[:count])
    return [*_INPUT_WHERES, *(f"input[{i}]" for i in range(len(_INPUT_WHERES), count))]


def _check_new_ids(past: list[Item], new: list[Item]) -> None:
    """A 400 (OpenAI's) when an input item has the id of an item before it: of the conversation or the
    ``previous_response_id`` chain (``past``), or of the input (a conversation would hold it twice; the model
    would read it twice)."""
    seen = {item.get("id") for item in past}
    for item in new:
        item_id = item.get("id")
        if item_id is None:
            continue
        if item_id in seen:
            raise _duplicate(str(item_id))
        seen.add(item_id)


def _no_input(req: CreateResponse) -> InvalidRequest:
    """OpenAI's 400 for a request with nothing to answer (observed 2026-08-30 on gpt-5.6-terra, in a public
    repository's tests of OpenAI's error bodies): ``input`` left out, or empty (``[]``, ``""``: param null)."""
    if req.input is None:
        return InvalidRequest("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    return InvalidRequest("One of \"input\" or \"previous_response_id\" or 'prompt' or 'conversation' must be "
                          "provided.", code="missing_required_parameter")


def _no_summary(model: ModelInfo) -> InvalidRequest:
    """OpenAI's 400 for ``reasoning.summary`` sent to a model that does not reason (docker/docker-agent#2166,
    2026-03: gpt-5-chat-latest; roackb2/heddle#227, 2026-07: gpt-4.1-2025-04-14, the model named as resolved):
    the effort's 400 (:func:`..workers_ai.families.reasoning_inputs`) says "with this model" instead."""
    return InvalidRequest(f"Unsupported parameter: 'reasoning.summary' is not supported with the '{model.id}' model.",
                          param="reasoning.summary", code="unsupported_parameter")


def _duplicate(item_id: str) -> InvalidRequest:
    return InvalidRequest(f"Duplicate item found with id {item_id}. Remove duplicate items from your input and "
                          "try again.", param="input")


SETTINGS_LEFT_OUT = frozenset({"model", "input", "instructions", "tools", "text", "metadata", "previous_response_id",
                               "conversation", "background", "stream", "stream_options"})
"""Fields a background response's settings leave out: the row has them (its echo, lossless for these but
function tools' ``strict``, kept apart: :data:`LOOSE_TOOLS`; or its columns), or they are the request's
transport (``text.verbosity`` is filled in by the echo and changes nothing here)."""


LOOSE_TOOLS = "tools_without_strict"
"""The settings' key for the positions of the function tools sent without ``strict`` (or with null): the echo
says ``strict: true`` for them, as OpenAI's does, but the model is called with ``strict`` as sent (a
``strict: true`` schema is held to OpenAI's rules; one left out is not), so the job restores it."""


LOOSE_FORMAT = "text_format_without_strict"
"""The settings' mark of a ``json_schema`` text format sent without ``strict`` (or with null): echoed ``strict:
true`` as OpenAI's is, held to the strict rules as sent (not), as :data:`LOOSE_TOOLS` for function tools."""


NOT_STREAMED = "created_without_stream"
"""The settings' key marking a background response created without ``stream``: OpenAI keeps no events of one
to resume, and ``GET …?stream=true`` of it is its 400. (One stored before the mark was kept has none, and is
replayed as before.)"""


def settings_of(req: CreateResponse) -> dict[str, Any]:
    """The request's settings as sent (what a background response's job rebuilds its request from,
    besides the echoed fields): only the fields the client set, so a default stays the model's."""
    settings = req.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude=set(SETTINGS_LEFT_OUT))
    loose = [i for i, tool in enumerate(req.tools or ())
             if tool.get("type") == "function" and not isinstance(tool.get("strict"), bool)]
    if loose:
        settings[LOOSE_TOOLS] = loose
    fmt = req.text.format if req.text is not None else None
    if fmt is not None and fmt.type == "json_schema" and fmt.strict is None:
        settings[LOOSE_FORMAT] = True
    if not req.stream:
        settings[NOT_STREAMED] = True
    return settings


def _check_size(echoed: dict[str, Any], request_json: bytes) -> None:
    """A 400 when the request fields a response stores (``request_json``: its whole echo, and a background
    response's settings) would not fit a D1 row with room to spare — decided before the model runs."""
    size = len(request_json)
    if size <= MAX_ECHO_BYTES:
        return
    sizes = {name: len(translate.dumps_compact(value).encode()) for name, value in echoed.items()}
    largest = max(sizes, key=lambda name: sizes[name])
    param = {"text": "text.format"}.get(largest, largest)
    raise InvalidRequest(f"The request fields a response stores (instructions, tools, text.format, tool_choice, "
                         f"metadata …) must be under {MAX_ECHO_BYTES / 2**20:g} MiB of JSON together here; these "
                         f"are {size} bytes, '{param}' the largest ({sizes[largest]} bytes).", param=param)


def gateway_functions() -> dict[str, spec.Tool]:
    """Tool type → the function the model is offered for it, for every gateway-run tool."""
    return {kind: tool.function for kind, tool in GATEWAY_TOOLS.items()}


# ---- running ---------------------------------------------------------------------------------


async def execute(ctx: AppContext, plan: Plan) -> AsyncIterator[objects.Event]:
    """The response's events, streamed, ending with ``response.completed`` / ``incomplete`` / ``failed``
    (:func:`complete` runs the same steps without streaming: then only the item and closing events are
    made, and it answers the last one's response).

    A failure of the model is reported in-band when streaming or in the background (an ``error``
    event, then ``response.failed``, and the failure stored); a foreground response that does not
    stream raises it instead (nothing is stored, the client gets the HTTP error). A file search's
    results are stored, and shown when ``include`` asks for them.

    A background response streamed in its request ends the way it is stored: cancelled meanwhile (the
    executor looks every :data:`CHECK_EVERY` seconds while the model streams, and once more at the end),
    its stream ends with an ``error`` event ``response_cancelled``. If its client goes away (the request
    is cancelled, or the stream closed) before it ends, it is handed to a job (:func:`hand_off`)."""
    events = _execute(ctx, plan, streaming=True)
    try:
        async with _kept(ctx, plan):
            async for event in events:
                yield event if not plan.gateway else file_search_format.shown(event, plan.request.include)
    except (asyncio.CancelledError, GeneratorExit):  # the stream's client went away
        if plan.request.background:
            handing = asyncio.ensure_future(hand_off(ctx, plan))
            await asyncio.shield(handing)  # a cancelled request must not cancel the hand-off too
        raise
    finally:
        await events.aclose()  # type: ignore[attr-defined]  # an async generator: has aclose()


def _kept(ctx: AppContext, plan: Plan) -> AbstractAsyncContextManager[None]:
    """A background response streamed in its request: its liveness mark refreshed while it streams, as a
    job's generator refreshes it (:func:`start_streamed` sent its watchdog)."""
    claim = plan.claim
    if not plan.request.background or claim is None:
        return nullcontext()
    return liveness.kept(lambda: responses.refresh(ctx.backends.db, plan.response_id, claim, ctx.now()),
                         f"response {plan.response_id}")


async def complete(ctx: AppContext, plan: Plan) -> dict[str, Any]:
    """The response run to its end without streaming (:func:`execute`'s events drained): its Response
    object as it ends."""
    if plan.direct:
        return (await _answered(ctx, plan)).response(plan)
    final: dict[str, Any] = {}
    async for event in _execute(ctx, plan, streaming=False):  # to its end or its failure: nothing left to close
        final = event.get("response", final)
    return final if not plan.gateway else file_search_format.shown(final, plan.request.include)


async def complete_json(ctx: AppContext, plan: Plan) -> bytes:
    """:func:`complete`'s Response object as JSON (:func:`~..replies.json_bytes`'s bytes). A foreground,
    unmoderated response without gateway-run tools is put together from the JSON its rows were stored with, made
    once (:func:`~..translate.response_objects.response_json`: ~3 µs less than serializing it again)."""
    if plan.direct:
        return (await _answered(ctx, plan)).json(plan)
    return json_bytes(await complete(ctx, plan))


@dataclass(slots=True)
class _Answer:
    """How a foreground response without gateway-run tools ended (:func:`_answered`), and the JSON of its
    output items and usage (None where pydantic-core could not make it: a lone surrogate)."""

    status: str
    output: list[Item]
    usage: dict[str, Any]
    incomplete_details: dict[str, Any] | None
    completed_at: int
    output_json: list[bytes | None]
    usage_json: bytes | None

    def response(self, plan: Plan) -> dict[str, Any]:
        return plan.response(self.status, self.output, completed_at=self.completed_at,
                             incomplete_details=self.incomplete_details, usage=self.usage)

    def json(self, plan: Plan) -> bytes:
        made = None
        if plan.echo_json is not None and self.usage_json is not None and None not in self.output_json:
            made = objects.response_json(
                plan.response_id, created_at=plan.created_at, status=self.status, model=plan.model.id,
                echoed_json=plan.echo_json, output_json=self.output_json,  # type: ignore[arg-type]  # no None
                usage_json=self.usage_json, incomplete_details=self.incomplete_details,
                completed_at=self.completed_at, previous_response_id=plan.request.previous_response_id,
                conversation_id=plan.conversation_id)
        return made if made is not None else json_bytes(self.response(plan))


async def _answered(ctx: AppContext, plan: Plan) -> _Answer:
    """What :func:`_execute`'s steps come to for a foreground response without gateway-run tools, not
    streamed: one model call (its failure raised: the client gets the HTTP error, nothing is stored), its
    output items, the response stored — without the events nobody reads (~4 µs of a stored response)."""
    generated = await pipeline.complete(ctx, plan.spec)
    choice = generated.choices[0]
    output = objects.output_items(choice, plan.summarized, plan.kept_output_digits)
    status, incomplete = objects.outcome(choice.finish_reason)
    usage = objects.usage_object(generated.usage)
    answer = _Answer(status, output, usage, incomplete, ctx.now(), [pydantic_json(item) for item in output],
                     pydantic_json(usage))
    await _persist(ctx, plan, status, output, usage, incomplete, answer.completed_at, answer.output_json,
                   answer.usage_json)
    return answer


async def _execute(ctx: AppContext, plan: Plan, *, streaming: bool) -> AsyncIterator[objects.Event]:
    first: AsyncIterator[spec.Event] | None = None
    if streaming:  # started before the first event: what fails before the model answers is an HTTP error
        try:
            first = await primed(pipeline.stream(ctx, plan.spec))
        except APIError as error:
            if plan.request.background:
                await _persist_failure(ctx, plan, plan.response("failed", [], error={
                    "code": _error_code(error), "message": error.message}))
            raise
    watched = streaming and bool(plan.request.background)  # stored in_progress while this request runs it
    writer = objects.EventWriter(plan.summarized, plan.kept_output_digits)
    if streaming:  # drained (not streamed), only the last event counts
        for kind, status in objects.opening(bool(plan.request.background)):
            yield writer.lifecycle(kind, plan.response(status, writer.output))
    # A moderated response's input is scored while the model answers (its task cancelled if it fails or stops).
    scoring = None if plan.moderator is None else moderation.score_input(ctx, plan.moderator, plan.input)
    try:
        reason, usage = None, NO_USAGE
        gateway = _Gateway(plan, plan.spec)
        stopped = False
        for round_ in range(MAX_ROUNDS):
            chat = gateway.next_spec(last=round_ == MAX_ROUNDS - 1)
            calls: dict[int, spec.ToolCallPiece] = {}
            if streaming:
                events, first = first or pipeline.stream(ctx, chat), None
                checked = time.monotonic()
                async with aclosing(events) as stream:  # type: ignore[type-var]  # an async generator
                    async for event in stream:
                        if isinstance(event, spec.Delta):
                            event.tool_calls = _divert(event.tool_calls, calls, plan)
                            for out in writer.delta(event):
                                yield out
                            if watched and time.monotonic() - checked >= CHECK_EVERY:
                                checked = time.monotonic()
                                if not await _still_in_progress(ctx, plan):
                                    stopped = True  # cancelled (or failed at its deadline): stop the model
                                    break
                        elif isinstance(event, spec.Finish):
                            reason = event.reason
                        else:
                            usage = _plus(usage, event.usage)
            else:
                generated = await pipeline.complete(ctx, chat)
                choice = generated.choices[0]
                choice.tool_calls = _divert(choice.tool_calls, calls, plan)
                made = objects.output_items(choice, plan.summarized, writer.take_first_id())
                if calls and not choice.text:  # only gateway tools called: no empty message before their items
                    made = [item for item in made if item["type"] != "message"]
                if gateway.sources:  # answers written after a search cite what it found
                    made = [objects.cited(item, gateway.sources) for item in made]
                writer.output += made
                reason, usage = choice.finish_reason, _plus(usage, generated.usage)
            if stopped or not calls:
                break
            for out in writer.close_open():
                yield out
            async for out in gateway.run(ctx, calls, writer):
                yield out
            writer.next_round()
            if watched and not await _still_in_progress(ctx, plan):
                stopped = True
                break
        if stopped:
            for out in await _ending_as_stored(ctx, plan, writer, "in_progress") or ():
                yield out
            return
        status, incomplete = objects.outcome(reason)
        for out in writer.close_all("incomplete" if status == "incomplete" else "completed"):
            yield out
        moderated = None if scoring is None or plan.moderator is None else \
            await moderation.response_moderation(ctx, plan.moderator, scoring, writer.output)
        final = plan.response(status, writer.output, completed_at=ctx.now(), incomplete_details=incomplete,
                              usage=objects.usage_object(usage),
                              moderation=moderated)
        await _persist(ctx, plan, status, final["output"], final["usage"], incomplete, final["completed_at"],
                       moderation=moderated,
                       stream_shape=writer.shape if watched and writer.seq < SHAPED_EVENTS else None)
    except APIError as error:
        if not streaming and not plan.request.background:
            raise
        for out in writer.close_all("incomplete"):
            yield out
        failed = plan.response("failed", writer.output, error={"code": _error_code(error), "message": error.message})
        await _persist_failure(ctx, plan, failed)
        instead = await _ending_as_stored(ctx, plan, writer, "failed") if watched else None
        for out in instead or (writer.error(error.code, error.message, error.param),
                               writer.event("response.failed", response=failed)):
            yield out
        return
    finally:
        if scoring is not None:  # (done by now, unless the response failed or stopped)
            scoring.cancel()
    instead = await _ending_as_stored(ctx, plan, writer, status) if watched else None
    for out in instead or (writer.event(f"response.{status}", response=final),):
        yield out


async def _still_in_progress(ctx: AppContext, plan: Plan) -> bool:
    """Whether the response is still stored ``in_progress`` (a D1 failure says yes: the generation goes on,
    and its conditional end decides)."""
    try:
        return await responses.status_of(ctx.backends.db, plan.response_id) == "in_progress"
    except APIError:
        log.warning("could not read the status of response %s", plan.response_id, exc_info=True)
        return True


async def _ending_as_stored(ctx: AppContext, plan: Plan, writer: objects.EventWriter,
                            status: str) -> list[objects.Event] | None:
    """For a background response streamed in its request, once its end was written: None when it is
    stored ``status``; else the stream's last events, saying how it is stored — cancelled meanwhile
    (an ``error`` event ``response_cancelled``: OpenAI's stream events have no ``response.cancelled``),
    failed at its deadline (``error``, then ``response.failed``), or deleted (``error``)."""
    try:
        row = await responses.get(ctx.backends.db, plan.response_id, None)
    except APIError:  # D1 failing: what this stream did stands (its deadline ends what it could not write)
        log.warning("could not re-read response %s", plan.response_id, exc_info=True)
        return None
    if row is not None and (row.status == status or row.status in responses.ACTIVE):
        return None  # as written (or its end could not be written: its deadline ends it)
    events = writer.close_all("incomplete")
    if row is not None and row.status == "cancelled":
        return [*events, writer.error("response_cancelled", "The response was cancelled.", None)]
    if row is not None and row.status == "failed":
        error = row.error or {"code": "server_error", "message": "The response failed."}
        return [*events, writer.error(error.get("code"), error.get("message", ""), None),
                writer.event("response.failed", response=plan.response("failed", writer.output, error=error))]
    if row is not None:  # ended otherwise by someone else: nothing to say but how it ended
        return [*events, writer.event(f"response.{row.status}", response=plan.response(row.status, writer.output))]
    return [*events, writer.error("server_error", "The response was deleted while it was being generated.", None)]


NO_USAGE = spec.Usage(0, 0)
"""A response's usage before its first model call."""


def _plus(usage: spec.Usage, more: spec.Usage) -> spec.Usage:
    """``usage`` and a model call's ``more`` (after no usage, ``more`` as it is: most responses make one call)."""
    return more if usage is NO_USAGE else usage + more


def _divert(pieces: list[spec.ToolCallPiece], calls: dict[int, spec.ToolCallPiece],
            plan: Plan) -> list[spec.ToolCallPiece]:
    """Calls of gateway-run tools kept aside (accumulated in ``calls``); the client's calls passed on."""
    if not plan.gateway:
        return pieces
    out = []
    for piece in pieces:
        if piece.index in calls or piece.name in plan.gateway:
            spec.gather(calls, piece)
        else:
            out.append(piece)
    return out


@dataclass(slots=True)
class _Gateway:
    """The gateway tools' part of a response: the conversation as they extend it, the sources the
    answers may cite, and how many calls ran."""

    plan: Plan
    chat: spec.ChatSpec
    sources: list[Source] = field(default_factory=list)
    ran: int = 0

    def next_spec(self, *, last: bool) -> spec.ChatSpec:
        """The next model call's spec: without the gateway's functions on the ``last`` call, or once
        ``max_tool_calls`` ran (the model must answer then)."""
        limit = self.plan.request.max_tool_calls
        if self.plan.gateway and (last or (limit is not None and self.ran >= limit)):
            tools = tuple(t for t in self.chat.tools if t.name not in self.plan.gateway)
            self.chat = replace(self.chat, tools=tools, tool_choice=self._after(self.chat.tool_choice) if tools else None)
        return self.chat

    def _after(self, choice: spec.ToolChoice) -> spec.ToolChoice:
        """The tool choice once a gateway tool ran: a forced or required choice was met, the model may answer."""
        if choice == "required" or (isinstance(choice, spec.Forced) and choice.name in self.plan.gateway):
            return "auto"
        return choice

    async def run(self, ctx: AppContext, calls: dict[int, spec.ToolCallPiece],
                  writer: objects.EventWriter) -> AsyncIterator[objects.Event]:
        """Run the gateway tools the model called: their items' events; the conversation goes on with
        the calls and their results, and the next answers may cite what they found."""
        turns = list(self.chat.messages)
        made = [spec.ToolCall(call_id(c.id), c.name or "", c.arguments or "{}") for c in calls.values()]
        limit = self.plan.request.max_tool_calls
        if limit is not None:  # calls past max_tool_calls are ignored, as at OpenAI
            made = made[:max(limit - self.ran, 0)]
        turns.append(spec.Message("assistant", "", tuple(made)))
        asked = next((m.text() for m in reversed(self.plan.spec.messages) if m.role == "user"), "")
        budget = file_search_format.budget_for(self.plan.model.context_window)
        for call in made:
            tool, declared = self.plan.gateway[call.name]
            item = tool.begin(call.arguments, asked)
            if tool.working is not None:
                for out in writer.begin_item(item, tool.working):
                    yield out
            result = await tool.run(ctx, declared, item, budget, len(self.sources))
            self.sources += result.sources
            for out in writer.end_item(result.item) if tool.working is not None else writer.add_items([result.item]):
                yield out
            turns.append(spec.Message("tool", result.text, tool_call_id=call.id, name=call.name))
            self.ran += 1
        self.chat = replace(self.chat, messages=tuple(turns), tool_choice=self._after(self.chat.tool_choice))
        writer.cite(self.sources)


def _error_code(error: APIError) -> str:
    return "rate_limit_exceeded" if error.status == 429 else "server_error"


# ---- persisting ------------------------------------------------------------------------------


async def _persist(ctx: AppContext, plan: Plan, status: str, output_items: list[Item], usage: dict[str, Any],
                   incomplete_details: dict[str, Any] | None, completed_at: int,
                   output_json: list[bytes | None] | None = None, usage_json: bytes | None = None,
                   moderation: dict[str, Any] | None = None, stream_shape: list[Any] | None = None) -> None:
    """Store the finished response (when ``store``), and append to its conversation — one batch. Its input and
    its output are in its row when the row keeps them (:func:`_kept_json`; a background response's input was stored
    when it was queued), else rows of items; the conversation's copies are rows of items either way.
    ``output_json`` and ``usage_json``: the output items' and the usage's JSON, when made already (each as
    ``json_bytes`` makes it; None where it was not); ``moderation``: a moderated response's results;
    ``stream_shape``: a streamed one's stream (:attr:`~..translate.response_objects.EventWriter.shape`)."""
    if not plan.store:
        return
    backends, now = ctx.backends, ctx.now()
    row = plan.row(status, usage=usage, incomplete_details=incomplete_details, completed_at=completed_at,
                   moderation=moderation, stream_shape=stream_shape)
    encoded = output_json or [None] * len(output_items)
    kept_output = _kept_json(plan, output_items, encoded[0] if encoded else None, output=True)
    output = [] if kept_output else [
        items.NewItem(plan.response_id, "output", item, made) for item, made in zip(output_items, encoded, strict=True)]
    conversation = [] if plan.conversation_id is None else [
        *conversations.in_conversation(plan.conversation_id, plan.input),
        *[items.NewItem(plan.conversation_id, "item", item, made) for item, made in zip(output_items, encoded, strict=True)]]
    db = backends.db
    try:
        if plan.request.background:
            await items.write(backends, plan.owner, [*output, *conversation], now,
                              guard=responses.in_progress_guard(plan.response_id, plan.claim),
                              after=[responses.finish(db, row, now, claim=plan.claim, output_json=kept_output)])
            await _ended_if_stored(ctx, plan, row)
            return
        kept_input = _kept_json(plan, plan.input, None, output=False)
        new_input = [] if kept_input else [items.NewItem(plan.response_id, "input", item) for item in plan.input]
        await items.write(backends, plan.owner, [*new_input, *output, *conversation], now,
                          before=[responses.insert(db, row, now, plan.request_json, usage_json, kept_input,
                                                   kept_output)])
    except items.ItemIdTaken:  # added to the conversation by a concurrent request while the model ran
        ids = [str(item.get("id")) for item in plan.input]
        taken = await conversations.item_ids(db, str(plan.conversation_id), ids)
        raise _duplicate(next((i for i in ids if i in taken), "of an input item")) from None


def _kept_json(plan: Plan, new: list[Item], made: bytes | None, *, output: bool) -> bytes | None:
    """The JSON of the item the response's row keeps of ``new``, its input or its output (:func:`responses.keeps`;
    ``made``: that JSON when made already), or None: they are rows of items (an item's JSON over
    :data:`~..repositories.items.INLINE_MAX` too, which R2 holds)."""
    if not responses.keeps(plan.response_id, new, output=output):
        return None
    encoded = made if made is not None else json_bytes(new[0])
    return encoded if len(encoded) <= items.INLINE_MAX else None


async def _persist_failure(ctx: AppContext, plan: Plan, failed: dict[str, Any]) -> None:
    """Record a failure (best effort: if D1 fails too, a background response's deadline still ends it)."""
    if not plan.store:
        return
    db, now = ctx.backends.db, ctx.now()
    row = plan.row("failed", error=failed["error"])
    try:
        if plan.request.background:
            await db.batch([responses.finish(db, row, now, claim=plan.claim)])
            await _ended_if_stored(ctx, plan, row)
        else:
            await db.batch(await _row_and_input(ctx, plan, row, now))
    except Exception:
        log.warning("could not record the failure of response %s", plan.response_id, exc_info=True)


# ---- background --------------------------------------------------------------------------------


async def enqueue(ctx: AppContext, plan: Plan) -> dict[str, Any]:
    """Store a background response ``queued`` with its input, and send its job; the Response.

    If the job cannot be sent, the client gets the error and the response is failed at once (one
    conditional statement: a job that did get through and claimed it first wins), not left queued
    until its deadline."""
    if ctx.backends.jobs is None:
        raise InvalidRequest("Background responses need a job queue, and this deployment has none "
                             "(the JOBS Queue binding).", param="background")
    await _store_queued(ctx, plan)
    try:
        await ctx.backends.jobs.send(Job(JOB_KIND, plan.response_id, plan.owner))
    except Exception as exc:
        await _fail(ctx, plan.row("failed"), ("queued",), "The response's background job could not be queued.")
        if isinstance(exc, APIError):
            raise
        raise UpstreamError(f"The job queue failed: {exc}") from exc
    return plan.response("queued", [])


async def start_streamed(ctx: AppContext, plan: Plan) -> None:
    """Store a background response that is generated in its (streaming) request: ``queued`` with its
    input, then claimed (``in_progress``). If the claim fails, the response is failed at once (when D1
    lets it: else its deadline ends it) and the client gets the error. Claimed, its ``responses.run`` job
    is sent as its watchdog (:func:`.liveness.watch`), due when its mark would be stale: if the request's
    process dies, that job takes the response over, as it would a job's."""
    await _store_queued(ctx, plan)
    try:
        plan.claim = await responses.claim(ctx.backends.db, plan.response_id, ctx.now())
    except BaseException:  # D1 failing, or the request cancelled: not left queued without a job
        await _fail(ctx, plan.row("failed"), ("queued",), "The response could not be started.")
        raise
    if plan.claim is not None:
        now = ctx.now()
        await liveness.watch(ctx, Job(JOB_KIND, plan.response_id, plan.owner), now + DEADLINE, now)


async def _store_queued(ctx: AppContext, plan: Plan) -> None:
    db, now = ctx.backends.db, ctx.now()
    await db.batch(await _row_and_input(ctx, plan, plan.row("queued", deadline=now + DEADLINE), now))


async def _row_and_input(ctx: AppContext, plan: Plan, row: ResponseRow, now: int) -> list[Statement]:
    """The statements storing the response's ``row`` (queued, or failed in its request) and its input: in the row
    when it keeps it (:func:`responses.keeps`), else as rows of items."""
    kept_input = _kept_json(plan, plan.input, None, output=False)
    new_input = [] if kept_input else [items.NewItem(plan.response_id, "input", item) for item in plan.input]
    return [responses.insert(ctx.backends.db, row, now, plan.request_json, input_json=kept_input),
            *await items.stage(ctx.backends, plan.owner, new_input, now)]


async def _fail(ctx: AppContext, row: ResponseRow, was: tuple[str, ...], message: str) -> bool:
    """``row``'s response failed with ``message`` if it is still one of ``was`` (best effort: if D1 fails
    too, its deadline ends it); whether it was."""
    failed = replace(row, status="failed", error={"code": "server_error", "message": message})
    try:
        ended = await responses.fail(ctx.backends.db, failed, ctx.now(), was=was)
    except Exception:
        log.warning("could not fail response %s", row.id, exc_info=True)
        return False
    if ended:
        await _ended(ctx, row.id, row.owner, "failed")
    return ended


async def _ended_if_stored(ctx: AppContext, plan: Plan, row: ResponseRow) -> None:
    """After a background response's end (``row``) was written in a batch, whose finish statement may have
    changed nothing (cancelled, or past its deadline, meanwhile): its webhook event, when the stored row
    shows that end — its status and error. Only that finish ever stores ``completed`` / ``incomplete`` (a
    cancel or a deadline stores other statuses), and a deadline's ``failed`` has an error of its own, so
    the row showing this end — and this run's claim — means this run ended the response (not a delivery
    that took it over meanwhile). Never raises."""
    if not webhooks.enabled(ctx.settings):
        return
    try:
        stored = await responses.get(ctx.backends.db, plan.response_id, None)
    except Exception:
        log.warning("could not read how response %s ended; no webhook event", plan.response_id, exc_info=True)
        return
    if stored is not None and (stored.status, stored.error, stored.claim) == (row.status, row.error, plan.claim):
        await _ended(ctx, plan.response_id, plan.owner, row.status)


async def _ended(ctx: AppContext, response_id: str, owner: str | None, status: str) -> None:
    """A background response ended as ``status`` (by the statement that ended it): its webhook event
    ``response.<status>`` queued, when this deployment sends them (never raises)."""
    await webhooks.notify(ctx.backends, ctx.settings, f"response.{status}", response_id, owner, ctx.now())


async def hand_off(ctx: AppContext, plan: Plan) -> None:
    """A background response generated in its streaming request whose client went away before it
    ended goes on in the background, as at OpenAI: ``queued`` again (with a new deadline) and a
    ``responses.run`` job sent, which generates it from the start (what the stream had shown is
    dropped) for ``GET`` to return (and replay) once done. Without a job queue, or when the job cannot
    be sent, it is failed at once rather than left to its deadline. Never raises."""
    db, now = ctx.backends.db, ctx.now()
    try:
        if ctx.backends.jobs is None:
            await _fail(ctx, plan.row("failed"), ("in_progress",), "The stream was closed before the response "
                        "was generated, and this deployment has no job queue to finish it in the background.")
            return
        if not await responses.requeue(db, plan.response_id, now, now + DEADLINE, plan.claim):
            return  # it had ended (completed, cancelled …)
        try:
            await ctx.backends.jobs.send(Job(JOB_KIND, plan.response_id, plan.owner))
        except Exception:
            log.warning("could not queue response %s after its stream closed", plan.response_id, exc_info=True)
            await _fail(ctx, plan.row("failed"), ("queued",), "The stream was closed before the response was "
                        "generated, and its background job could not be queued.")
    except Exception:
        log.warning("could not hand response %s to the background", plan.response_id, exc_info=True)


async def plan_of(ctx: AppContext, row: ResponseRow) -> Plan:
    """The plan of a stored (background) response, rebuilt from its row and its input (the item its row keeps, or
    its rows of items)."""
    stored_input = ([loads(row.input_item)] if row.input_item is not None
                    else await items.all_of(ctx.backends, row.id, ["input"]))
    echoed = row.request
    tools, text = echoed["tools"], echoed["text"]
    if row.settings is not None:
        settings = dict(row.settings)
        loose = set(settings.pop(LOOSE_TOOLS, ()))
        settings.pop(NOT_STREAMED, None)
        tools = [{**tool, "strict": None} if i in loose else tool for i, tool in enumerate(tools)]
        if settings.pop(LOOSE_FORMAT, False):
            text = {**text, "format": {**text["format"], "strict": None}}
    else:  # stored before its settings were kept: the echo (with OpenAI's defaults filled in) stands for them
        settings = {k: echoed[k] for k in ("tool_choice", "parallel_tool_calls", "temperature", "top_p",
                                           "max_output_tokens", "truncation", "store")}
        settings["reasoning"] = {"effort": echoed["reasoning"]["effort"], "summary": echoed["reasoning"].get("summary")}
    request = CreateResponse.model_validate({
        **settings, "instructions": echoed["instructions"], "tools": tools, "text": text,
        "metadata": echoed["metadata"], "model": row.model, "previous_response_id": row.previous_response_id,
        "conversation": row.conversation_id, "background": True,
    })
    return await prepare(ctx, request, owner=row.owner, reader=None, response_id=row.id, new_input=stored_input)


async def run_job(ctx: AppContext, job: Job) -> None:
    """``responses.run``: generate a background response — ``queued``, claimed; or ``in_progress`` with a
    liveness mark older than :data:`STALE_AFTER` (its generator died: a killed process, an evicted
    consumer), taken over and generated from the start. One conditional statement each, so two deliveries
    never both generate it; a delivery that finds it ended does nothing.

    Found ``in_progress`` with a fresh mark (its generator alive, or dead for less than :data:`STALE_AFTER`),
    the job is sent again, due when the mark would be stale, so that a generator that dies later is still
    replaced; past its deadline the response is failed instead, which ends the loop."""
    db, now = ctx.backends.db, ctx.now()
    row = await responses.get(db, job.id, None)
    if row is None or row.status not in responses.ACTIVE:
        return
    if row.deadline is not None and row.deadline <= now:
        await responses.expire(ctx.backends, ctx.settings, row.id, row.owner, now)
        return
    if row.status == "in_progress" and liveness.alive(row.updated_at, now):
        await liveness.come_back(ctx, job, row.updated_at, row.deadline, now)
        return
    try:
        plan = await plan_of(ctx, row)
    except APIError as error:
        if isinstance(error, UpstreamError) and error.status >= 500:
            raise  # D1 or R2 failing: the job is retried (if they keep failing, the deadline ends the response)
        # its context changed since it was queued (a deleted previous response …): it cannot run
        token = None
        if row.status == "in_progress" and (token := await _take(ctx, row.id)) is None:
            return
        if await responses.fail(db, replace(row, status="failed", error={
                "code": "server_error", "message": error.message}), ctx.now(), was=(row.status,), claim=token):
            await _ended(ctx, row.id, row.owner, "failed")
        return
    plan.created_at = row.created_at
    if row.status == "queued":
        plan.claim = await responses.claim(db, row.id, ctx.now())
    else:
        plan.claim = await _take(ctx, row.id)
        if plan.claim is not None:
            log.warning("response %s: its generator stopped refreshing its mark; generating it again", row.id)
    if plan.claim is None:
        return
    await _generate(ctx, plan)


async def _take(ctx: AppContext, response_id: str) -> str | None:
    now = ctx.now()
    return await responses.take_over(ctx.backends.db, response_id, now, now - STALE_AFTER)


async def _generate(ctx: AppContext, plan: Plan) -> None:
    """A job's generation of its claimed response (:func:`complete`), its liveness mark refreshed every
    :data:`.liveness.REFRESH_EVERY` seconds meanwhile. A refresh that finds the response no longer this claim's
    (taken over, cancelled, failed at its deadline) stops the model: nothing of it would be written."""
    claim = plan.claim
    assert claim is not None

    async def still_ours() -> bool:
        return await liveness.marked(responses.refresh(ctx.backends.db, plan.response_id, claim, ctx.now()),
                                     f"response {plan.response_id}")

    try:
        if not await liveness.refreshing(complete(ctx, plan), still_ours):
            log.warning("response %s is no longer this job's to generate; stopped", plan.response_id)
    except asyncio.CancelledError:  # the runner stopping (the local server told to stop): the job is given
        # back to its queue, and finds the response queued again (generated from the start), not in_progress
        now = ctx.now()
        await asyncio.shield(responses.requeue(ctx.backends.db, plan.response_id, now, now + DEADLINE, claim))
        raise
