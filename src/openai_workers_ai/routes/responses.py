"""``/v1/responses``: create (JSON, SSE, background), retrieve (and replay), delete, cancel, input items,
``input_tokens``, ``compact``; and WebSocket mode on the same path.

The executor is :mod:`openai_workers_ai.runner.responses`; this door parses, picks how the response
runs, and encodes its events (SSE ``event: <type>`` frames, or one WebSocket message each).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from json import loads
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from ..context import AppContext, context, owner, principal
from ..errors import APIError, InvalidRequest, NotFound
from ..pagination import HAS_MORE_BETWEEN, list_object, page
from ..replies import json_reply, json_response, pydantic_json
from ..repositories import responses
from ..repositories.responses import ResponseRow
from ..runner import response_inputs
from ..runner import responses as runner
from ..streaming import primed, sse, sse_response
from ..translate import file_search
from ..translate import response_objects as objects
from ..translate import responses as translate
from ..types.responses import INCLUDABLE, CompactBody, CreateResponse, Item, TokenCountsBody
from ..validation import check_size, includes, parse_json, query_flag, validate_for
from ..webhooks import notify
from ..workers_ai import pipeline, spec

RESPONSE_ID = re.compile(r"^resp_[0-9a-f]{48}$")
INTEGER = re.compile(r"^-?[0-9]{1,18}$")

log = logging.getLogger(__name__)


# ---- create ----------------------------------------------------------------------------------


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateResponse, task="text-generation")
    plan = await runner.prepare(ctx, body, owner=principal(request).key_hash, reader=owner(request))
    if body.background and not body.stream:
        return json_response(await runner.enqueue(ctx, plan))
    if not body.stream:
        return json_reply(await runner.complete_json(ctx, plan))
    if body.background:  # streamed while stored as a background response (cancellable, with a deadline)
        await runner.start_streamed(ctx, plan)
    return _sse(await primed(runner.execute(ctx, plan)), obfuscate=_obfuscated(body))


def _obfuscated(body: CreateResponse) -> bool:
    """Whether the delta events carry ``obfuscation``: as ``stream_options.include_obfuscation`` says; by default
    a foreground stream's do and a background stream's do not, as in OpenAI's recorded streams (pydantic/pydantic-ai's
    ``tests/models/cassettes/test_openai_responses/test_background_mode_streaming*_vcr.yaml``, 2026-02: no
    ``obfuscation`` on a background stream's deltas, nor on its replays; a foreground stream's all have one)."""
    asked = body.stream_options.include_obfuscation if body.stream_options is not None else None
    return asked is True or (asked is None and not body.background)


CLOSING = frozenset({*objects.CLOSING_EVENTS.values(), "error"})
"""The events a stream ends with (``error``: a cancelled one's ``response_cancelled``)."""


def _sse(events: AsyncIterator[objects.Event], starting_after: int = -1, *, obfuscate: bool) -> Response:
    last = [starting_after]

    async def frames() -> AsyncIterator[bytes]:
        final = None
        async for event in events:
            last[0] = event["sequence_number"]
            if event["sequence_number"] > starting_after:
                final = None
                yield sse(objects.dumps_event(event, obfuscate), event=event["type"])
            elif event["type"] in CLOSING:
                final = event
        # A replay shorter than the stream its client followed (a response a job finished without streaming, after
        # the client left: stored without its stream's shape, so one delta an item) ended before the number the
        # client asks to start after: its ending, numbered after that one, rather than a stream that never ends.
        if final is not None and starting_after > final["sequence_number"]:
            yield sse(objects.dumps_event({**final, "sequence_number": starting_after + 1}), event=final["type"])

    def on_error(error: APIError) -> bytes:  # a bug: the executor reports model failures itself
        event = {"type": "error", "code": error.code, "message": error.message, "param": error.param,
                 "sequence_number": last[0] + 1}
        return sse(objects.dumps_event(event), event="error")

    return sse_response(frames(), on_error=on_error)


# ---- stored responses ------------------------------------------------------------------------


def _not_found(response_id: str) -> NotFound:
    # OpenAI's words, with neither param nor code: {"message": "Response with id 'resp_6838…' not found.", "type":
    # "invalid_request_error", "param": null, "code": null} (the body of OpenAI's 404 as openai/openai-dotnet's and
    # BerriAI/litellm's tests hold it)
    return NotFound(f"Response with id '{response_id}' not found.")


async def _row(request: Request) -> ResponseRow:
    ctx = context(request)
    response_id: str = request.path_params["response_id"]
    row = None
    if RESPONSE_ID.match(response_id):
        row = await responses.get(ctx.backends.db, response_id, owner(request))
        if row is not None:
            row = await responses.current(ctx.backends, ctx.settings, row, ctx.now())
    if row is None:
        raise _not_found(response_id)
    return row


async def response_of(ctx: AppContext, row: ResponseRow) -> dict[str, Any]:
    """The stored response as OpenAI's object."""
    output = await responses.output_items(ctx.backends, row)
    return objects.response_object(
        row.id, created_at=row.created_at, status=row.status, model=row.model, echoed=row.request, output=output,
        usage=row.usage, error=row.error, incomplete_details=row.incomplete_details, completed_at=row.completed_at,
        previous_response_id=row.previous_response_id, conversation_id=row.conversation_id,
        background=row.background, moderation=row.moderation,
    )


FOLLOW_EVERY = 1.0
"""Seconds before the first look at a background response still queued / in progress that a stream follows;
each next look waits half as long again, up to :data:`FOLLOW_MOST`."""
FOLLOW_MOST = 10.0
FOLLOW_LOOKS = 150
"""Looks a followed stream makes at most (~24 minutes, past a response's 15-minute deadline): one D1 read each,
and a Worker invocation may make 1,000 calls; after them the stream ends with an ``error`` event (the response
goes on, to be retrieved)."""


async def retrieve(request: Request) -> Response:
    include = includes(request, INCLUDABLE)
    stream = query_flag(request, "stream", False)
    # the official client sends include_obfuscation (a query parameter here) when asked to; without it, none: the
    # replays are of background streams, whose deltas OpenAI sends without obfuscation (_obfuscated)
    obfuscate = query_flag(request, "include_obfuscation", False)
    raw = request.query_params.get("starting_after", "-1")
    if not INTEGER.match(raw):
        raise InvalidRequest("Invalid value for 'starting_after': expected an integer.", param="starting_after")
    ctx = context(request)
    row = await _row(request)
    if stream and not row.background:  # OpenAI keeps the events of background responses only
        raise InvalidRequest("This response cannot be streamed because it was not created with background=true.",
                             param="stream", code="invalid_request_error")
    if stream and row.settings is not None and runner.NOT_STREAMED in row.settings:
        # nor of one created without stream: OpenAI's background guide resumes one "created with both background
        # and stream set to true"; its words as Azure/azure-sdk-for-python's agentserver Responses host gives them
        raise InvalidRequest("This response cannot be streamed because it was not created with stream=true.",
                             param="stream", code="invalid_request_error")
    response = file_search.shown(await response_of(ctx, row), include)
    if not stream:
        return json_response(response)
    reader = owner(request)

    async def replayed() -> AsyncIterator[objects.Event]:
        events = objects.replay(response, row.stream_shape)
        if row.status in responses.ACTIVE:  # followed to its end: its first events now, the rest once it ends
            if row.status == "queued":  # not started: response.created and response.queued, not in_progress yet
                events = events[:2]
            for event in events:
                yield event
            ended = await _ended(ctx, row, reader)
            if ended is None or ended.status in responses.ACTIVE:
                yield {"type": "error", "code": "server_error",
                       "message": "The response was deleted." if ended is None else
                       f"The response is still {ended.status}; retrieve it later, or stream it again.",
                       "param": None, "sequence_number": len(events)}
                return
            whole = _ended_as_cancelled(objects.replay(file_search.shown(await response_of(ctx, ended), include),
                                                       ended.stream_shape), ended)
            events = whole[len(events):]
        else:
            events = _ended_as_cancelled(events, row)
        for event in events:
            yield event

    return _sse(replayed(), int(raw), obfuscate=obfuscate)


def _ended_as_cancelled(events: list[objects.Event], row: ResponseRow) -> list[objects.Event]:
    """A cancelled response's replay ends as its own stream did, with an ``error`` event ``response_cancelled``
    (stream events have no ``response.cancelled``): followed to its cancel, or replayed once cancelled (a
    client resuming after the cancel gets that ending, numbered after what it saw, not an empty stream)."""
    if row.status != "cancelled":
        return events
    return [*events, {"type": "error", "code": "response_cancelled", "message": "The response was cancelled.",
                      "param": None, "sequence_number": len(events)}]


async def _ended(ctx: AppContext, row: ResponseRow, reader: str | None) -> ResponseRow | None:
    """``row``'s response once it is no longer queued / in progress (failed at its deadline if it gets there
    first), or as it is after :data:`FOLLOW_LOOKS` looks; None if it is deleted meanwhile."""
    for look in range(FOLLOW_LOOKS):
        await asyncio.sleep(min(FOLLOW_EVERY * 1.5**look, FOLLOW_MOST))
        status = await responses.status_of(ctx.backends.db, row.id)
        if status is None:
            return None
        if status in responses.ACTIVE and (row.deadline is None or row.deadline > ctx.now()):
            continue
        found = await responses.get(ctx.backends.db, row.id, reader)
        if found is None:
            return None
        found = await responses.current(ctx.backends, ctx.settings, found, ctx.now())
        if found.status not in responses.ACTIVE:
            return found
        row = found  # queued again with a new deadline (its stream's client left, a job took over)
    return row


async def delete(request: Request) -> Response:
    ctx = context(request)
    row = await _row(request)
    await responses.delete(ctx.backends, row.id, ctx.now())
    return json_response({"id": row.id, "object": "response.deleted", "deleted": True})


async def cancel(request: Request) -> Response:
    ctx = context(request)
    row = await _row(request)
    if not row.background:
        raise InvalidRequest("Cannot cancel a synchronous response: only background responses can be cancelled.",
                             param="response_id")
    now = ctx.now()
    if await responses.cancel(ctx.backends.db, row.id, now):
        await notify(ctx.backends, ctx.settings, "response.cancelled", row.id, row.owner, now)
    return json_response(await response_of(ctx, await _row(request)))


async def input_items(request: Request) -> Response:
    include = includes(request, INCLUDABLE)
    ctx = context(request)
    row = await _row(request)
    data, has_more = await responses.input_items(ctx.backends, row, page(request.query_params))
    return json_response(list_object(file_search.shown(data, include), has_more, tail=HAS_MORE_BETWEEN))


# ---- input_tokens, compact -------------------------------------------------------------------


async def _context(request: Request, body: TokenCountsBody | CompactBody) -> tuple[spec.ChatSpec, list[str], list[Item]]:
    """The spec a response with this context would run, its turns as text lines, and its items."""
    ctx = context(request)
    reader = owner(request)
    req = body if isinstance(body, TokenCountsBody) else TokenCountsBody(
        model=body.model, input=body.input, instructions=body.instructions,
        previous_response_id=body.previous_response_id)
    model = ctx.catalog.resolve(req.model or ctx.settings.default_model, task="text-generation")
    past = await response_inputs.history(ctx, req.previous_response_id, req.conversation_id, reader)
    new = await response_inputs.references(ctx, translate.input_items(req.input), reader)
    wheres = [past.where] * len(past.items) + [f"input[{i}]" for i in range(len(new))]
    resolved = [await response_inputs.resolve(ctx, item, where, reader)
                for item, where in zip([*past.items, *new], wheres, strict=True)]
    chat = translate.chat_spec(req, model, resolved, wheres, gateway_tools=runner.gateway_functions())
    lines = [f"{m.role}: {m.text()}" + "".join(f" [called {c.name}({c.arguments})]" for c in m.tool_calls)
             for m in chat.messages]
    return chat, lines, [*past.items, *new]


async def input_tokens(request: Request) -> Response:
    chat, _, _ = await _context(request, await parse_json(request, TokenCountsBody, task="text-generation"))
    tools = sum(spec.estimate_tokens(translate.dumps_compact(t.parameters or {}) + t.name) for t in chat.tools)
    return json_response({"object": "response.input_tokens",
                          "input_tokens": translate.estimated_tokens(chat.messages) + tools})


SUMMARIZE = ("Summarize the conversation below for whoever continues it: keep every fact, decision, name, "
             "number and open task; drop pleasantries. Answer with the summary only.")


async def compact(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CompactBody, task="text-generation")
    chat, lines, items = await _context(request, body)
    summary_spec = spec.ChatSpec(model=chat.model, messages=(
        spec.Message("system", SUMMARIZE), spec.Message("user", "\n".join(lines), where="input")))
    generated = await pipeline.complete(ctx, summary_spec)
    usage = objects.usage_object(generated.usage)
    kept = [item for item in items if item.get("type") == "message" and item.get("role") == "user"]
    compacted = {"id": translate.object_id("resp_"), "object": "response.compaction", "created_at": ctx.now(),
                 "output": [*kept, translate.compaction_item(generated.choices[0].text)], "usage": usage}
    if body.safety_identifier is not None:
        compacted["safety_identifier"] = body.safety_identifier
    return json_response(compacted)


# ---- WebSocket mode --------------------------------------------------------------------------

STREAM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,256}$")
REMEMBERED = 16
"""Responses whose context a socket keeps, so that continuing one of them reads no D1."""


async def websocket(ws: WebSocket) -> None:
    """``response.create`` messages in, the same events as SSE out, one JSON message each.

    Messages with the same ``stream_id`` (a lane; none is a lane too) run in order, one at a time;
    lanes run side by side, and each event of a lane's responses echoes its ``stream_id``. The socket
    remembers its last :data:`REMEMBERED` responses' context, so a continuation of one of them (from
    any lane) reads no D1 for the chain, and works with ``store: false``."""
    await ws.accept()
    socket = _Socket(ws)
    try:
        while (message := await ws.receive())["type"] != "websocket.disconnect":
            text = message.get("text")
            await socket.take(text if text is not None else (message.get("bytes") or b"").decode("utf-8", "replace"))
    finally:
        await socket.close()


WS_ERROR_TYPES = {"rate_limit_exceeded": "requests", "response_cancelled": "invalid_request_error"}
"""An in-stream error's code → its payload's ``type`` over a WebSocket (``server_error`` otherwise), as
:mod:`..errors` types the same failures over HTTP."""


def _ws_error(event: objects.Event) -> objects.Event:
    """An SSE ``error`` event (``ResponseErrorEvent``: code, message, param) as the WebSocket sends it: OpenAI's
    ``ResponseWsError``, the same fields in an ``error`` payload with a ``type``, and the ``sequence_number``."""
    code = event.get("code")
    return {"type": "error", "sequence_number": event["sequence_number"],
            "error": {"type": WS_ERROR_TYPES.get(str(code), "server_error"), "code": code,
                      "message": event.get("message", ""), "param": event.get("param")}}


class _Socket:
    """One WebSocket's lanes, what it remembers, and its sends (one at a time)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.ctx: AppContext = ws.app.state.ctx
        self.who = ws.scope["state"]["principal"]
        self.lanes: dict[str | None, asyncio.Queue[dict[str, Any]]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.sending = asyncio.Lock()
        self.remembered: dict[str, list[Any]] = {}

    async def send(self, event: objects.Event, stream_id: str | None, obfuscate: bool = False) -> None:
        if event["type"] == "error" and "error" not in event:  # one in the response's stream: OpenAI's socket shape
            event = _ws_error(event)
        if stream_id is not None:
            event = {**event, "stream_id": stream_id}
        async with self.sending:
            await self.ws.send_text(objects.dumps_event(event, obfuscate))

    async def fail(self, error: APIError, stream_id: str | None) -> None:
        """A message's error (the HTTP error it would be): OpenAI's ``ResponseWsError``, with its ``status``."""
        await self.send({"type": "error", "status": error.status, **error.to_openai()}, stream_id)

    async def take(self, raw: str) -> None:
        """One client message: checked, then queued on its lane."""
        try:
            check_size(raw.encode())
            message = loads(raw)
        except InvalidRequest as error:
            await self.fail(error, None)
            return
        except ValueError:
            await self.fail(InvalidRequest("Messages must be JSON objects."), None)
            return
        if not isinstance(message, dict) or message.get("type") != "response.create":
            await self.fail(InvalidRequest("Expected a 'response.create' message.", param="type"), None)
            return
        stream_id = message.get("stream_id")
        if stream_id is not None and not (isinstance(stream_id, str) and STREAM_ID.match(stream_id)):
            await self.fail(InvalidRequest("'stream_id' must be 1-256 letters, digits, '_', '.' or '-'.",
                                           param="stream_id"), None)
            return
        if stream_id not in self.lanes:
            self.lanes[stream_id] = asyncio.Queue()
            self.tasks.append(asyncio.ensure_future(self._lane(stream_id, self.lanes[stream_id])))
        self.lanes[stream_id].put_nowait(message)

    async def _lane(self, stream_id: str | None, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            message = await queue.get()
            try:
                await self._turn(message, stream_id)
            except APIError as error:
                await self.fail(error, stream_id)
            except Exception:  # a bug: the lane goes on, the client hears of it
                log.exception("a WebSocket response failed")
                await self.fail(APIError("The server had an error while processing your request.", status=500,
                                         code="server_error"), stream_id)

    async def _turn(self, message: dict[str, Any], stream_id: str | None) -> None:
        body = {k: v for k, v in message.items() if k not in ("type", "stream_id")}
        for transport_only in ("stream", "background"):
            if body.pop(transport_only, None):
                raise InvalidRequest(f"'{transport_only}' is not supported over WebSocket (responses always "
                                     "stream).", param=transport_only)
        raw = pydantic_json(body)
        if raw is None:  # a lone surrogate (an "\ud800" escape without its pair): the HTTP door's JSON parser
            # refuses it; taken, it would be stored replaced
            raise InvalidRequest("We could not parse the JSON of your message: a string holds a lone surrogate "
                                 "(a \\ud800-\\udfff escape without its pair).")
        req = validate_for(self.ctx, CreateResponse, raw, body, task="text-generation")  # as over HTTP
        cached = self.remembered.get(req.previous_response_id) if req.previous_response_id else None
        plan = await runner.prepare(self.ctx, req, owner=self.who.key_hash,
                                    reader=None if self.who.admin else self.who.key_hash, cached=cached)
        final: dict[str, Any] | None = None
        obfuscate = _obfuscated(req)
        async for event in runner.execute(self.ctx, plan):
            await self.send(event, stream_id, obfuscate)
            final = event.get("response", final)
        if final is not None and final["status"] != "failed":
            self.remembered[plan.response_id] = [*plan.history, *plan.input, *final["output"]]
            while len(self.remembered) > REMEMBERED:
                del self.remembered[next(iter(self.remembered))]

    async def close(self) -> None:
        """The client left: the lanes' responses in progress stop (as a streamed response's do)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
