"""What every request passes before its route: one ASGI middleware for CORS, the API key, errors in
the addressed API's own shape, and a request's work stopped when its client leaves.

One layer, because each middleware wraps ``send``: as separate layers (with Starlette's two error
middlewares) every response message, every streamed chunk, went through six wrappers, and
watching for a disconnect cost two tasks a request. For an HTTP request, in order:

1. a CORS preflight is answered, and every other answer gets the CORS headers (Starlette's
   ``CORSMiddleware`` decides both);
2. the API key is checked (:class:`.auth.Keys`); a refusal is answered in the API's format; a key
   with ``MAX_IN_FLIGHT_PER_KEY`` (256) requests running gets a 429 for more (one key's stalled calls
   cannot take every connection from the others);
3. the route runs. An :class:`APIError` it raises becomes its JSON error, Starlette's 404 and 405
   ours, anything else a 500 in the API's shape (logged) — unless the response had started: then
   the exception goes on to the server;
4. a request still running :data:`LISTEN_AFTER` after its body was read (a completion waiting on
   the model, a fan-out of many calls, a stream) gets one task that listens for the client's
   ``http.disconnect``; if it comes before the response is complete, the request is cancelled —
   its model calls with it (``fanout.gather_bounded`` cancels what it started), and streams too.
   Quicker requests never pay for the task and the event-loop passes it takes (~40 µs of CPU a
   request at concurrency 1); a client that left earlier is noticed when the listening starts. Servers that only report a disconnect after the response
   (the Worker's ASGI bridge; test transports) are unaffected.

A WebSocket gets the key check (a refusal closes it at the handshake) and Starlette's own handling.

Without keys (the local server on loopback, ``auth_disabled``) no web page may use the server: CORS
is off, but a browser still sends "simple" requests (a ``text/plain`` POST, a form post) cross-origin
without asking first, and a WebSocket has no CORS at all. So a request or WebSocket handshake that
carries an ``Origin`` other than a loopback one (``http(s)://localhost``, ``127.0.0.1`` or ``[::1]``,
any port), or that the browser marks as coming from another site (``Sec-Fetch-Site: cross-site`` or
``same-site``), is refused with a 403 ``origin_not_allowed`` (a WebSocket: closed with 1008 at the
handshake). The official clients send neither header.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from time import perf_counter

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import ids
from .auth import Keys
from .errors import (
    APIError,
    AuthenticationError,
    MethodNotAllowed,
    NotFound,
    PermissionDenied,
    RateLimited,
    flavor_of,
    render,
)
from .limits import header
from .settings import Settings

logger = logging.getLogger(__name__)

LISTEN_AFTER = 0.05
"""Seconds after its body was read that a request starts listening for its client leaving: longer
than the gateway's own work on a request, shorter than any model's answer."""

OPENAI_VERSION = (b"openai-version", b"2020-10-01")
"""The API version every answer of OpenAI's names (in every recording of its traffic, 2023 to 2026), beside
``openai-processing-ms``: the milliseconds from the request's arrival to its answer's start (a stream's
headers), as OpenAI's own count."""

_LOOPBACK_ORIGIN = re.compile(r"^https?://(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$", re.IGNORECASE)


def _from_a_web_page(headers: Headers) -> PermissionDenied | None:
    """The refusal of a request a web page made (a keyless server serves none), or None."""
    origin = headers.get("origin")
    if (origin is not None and not _LOOPBACK_ORIGIN.match(origin)) \
            or headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        return PermissionDenied(
            "This server runs without API keys, so it answers no web page: requests from another origin "
            "are refused. Set ACCESS_TOKEN (and CORS_ALLOW_ORIGINS) to serve browsers.", code="origin_not_allowed")
    return None


class Gate:
    """The middleware in front of the routes (``app``): see the module's docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.keys = Keys(settings)
        self.keyless = settings.auth_disabled
        self.max_in_flight = settings.max_in_flight_per_key
        self.in_flight: dict[str, int] = {}  # requests running, by caller's key hash
        # Without keys (the local server on loopback) no browser origin is allowed: a page the user
        # visits must not spend their quota or read their files.
        self.cors = None if settings.auth_disabled else CORSMiddleware(
            app, allow_origins=list(settings.cors_allow_origins), allow_methods=["*"], allow_headers=["*"],
            expose_headers=["*"], max_age=86400,
        )
        self.websockets = ExceptionMiddleware(app, handlers={APIError: _api_error, HTTPException: _http_error})
        # Requests whose body was read that do not listen yet: each one's start_listening, and when it is
        # due (loop time). They are due in the order they came, and share one timer (_start_due), armed at
        # the first: a timer a request cost ~1.5 µs of CPU to arm and cancel, on asyncio's loop as on uvloop.
        self.waiting: dict[Callable[[], object], float] = {}
        self.timer_loop: asyncio.AbstractEventLoop | None = None  # where that timer is armed; None: nowhere

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._not_http(scope, receive, send)
            return
        cors = self.cors
        origin = header(scope, b"origin") if cors is not None else None
        if cors is not None and origin is not None and scope["method"] == "OPTIONS" \
                and header(scope, b"access-control-request-method") is not None:
            await cors.preflight_response(request_headers=Headers(scope=scope))(scope, receive, send)
            return
        started = complete = False
        request_id = ids.request_id()
        openai = flavor_of(scope["path"]) == "openai"
        arrived = perf_counter()

        async def respond(message: Message) -> None:
            nonlocal started, complete
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                if openai:
                    headers += (OPENAI_VERSION, (b"openai-processing-ms", b"%d" % ((perf_counter() - arrived) * 1000)))
                if cors is not None:
                    if origin is None and not any(name == b"vary" for name, _ in headers):
                        headers.append((b"vary", b"Origin"))  # what CORSMiddleware adds for a request no browser's
                    else:
                        await cors.send(message, send, Headers(scope=scope))  # sends it, with the CORS headers
                        return
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        error = (_from_a_web_page(Headers(scope=scope)) if self.keyless else None) or self.keys.admit(scope)
        caller: str = scope["state"]["principal"].key_hash if error is None else ""
        if error is None and caller and self.max_in_flight:
            if self.in_flight.get(caller, 0) >= self.max_in_flight:
                error = RateLimited(
                    f"Too many requests in flight for this API key (at most {self.max_in_flight} at once); "
                    "retry when some have finished.", code="too_many_requests_in_flight")
            else:
                self.in_flight[caller] = self.in_flight.get(caller, 0) + 1
        if error is not None:
            await render(error, flavor_of(scope["path"]))(scope, receive, respond)
            return

        # The route runs in this task; the listener, once started, cancels it when the client leaves.
        task = asyncio.current_task()
        listener: asyncio.Task[Message] | None = None
        body_read = gone = False

        async def listen() -> Message:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect" and not complete and task is not None:
                gone = True
                task.cancel()
            return message

        def start_listening() -> asyncio.Task[Message]:
            nonlocal listener
            if listener is None:
                listener = asyncio.ensure_future(listen())
            return listener

        async def route_receive() -> Message:
            nonlocal body_read
            if body_read:  # what the client sends next is the listener's
                return await asyncio.shield(start_listening())
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
                self._listen_later(start_listening)
            return message

        try:
            await self.app(scope, route_receive, respond)
        except asyncio.CancelledError:
            if not gone:  # cancelled from outside (the server stops), not by the client leaving
                raise
        except Exception as exc:
            if started:
                raise
            await answer(exc, scope, receive, request_id)(scope, receive, respond)
        finally:
            self.waiting.pop(start_listening, None)
            if listener is not None:
                listener.cancel()
            if gone and task is not None:
                task.uncancel()  # the cancellation was ours, and is over
            if caller and self.max_in_flight:
                left = self.in_flight[caller] - 1
                if left:
                    self.in_flight[caller] = left
                else:
                    del self.in_flight[caller]

    def _listen_later(self, start_listening: Callable[[], object]) -> None:
        """Have ``start_listening`` called :data:`LISTEN_AFTER` from now, unless its request ends first."""
        loop = asyncio.get_running_loop()
        self.waiting[start_listening] = loop.time() + LISTEN_AFTER
        if self.timer_loop is not loop:  # none armed (or one on a loop that has ended: tests run several)
            self.timer_loop = loop
            loop.call_later(LISTEN_AFTER, self._start_due)

    def _start_due(self) -> None:
        """The shared timer: the waiting requests that are due start listening; it is armed again at the next."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.waiting:
            start_listening, due = next(iter(self.waiting.items()))
            if due > now:
                loop.call_later(due - now, self._start_due)
                return
            del self.waiting[start_listening]
            try:
                start_listening()
            except Exception:  # one request's failure must not leave the others' timer unarmed
                logger.exception("could not start listening for a client")
        self.timer_loop = None

    async def _not_http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            foreign = _from_a_web_page(Headers(scope=scope)) if self.keyless else None
            error = foreign or self.keys.admit(scope)
            if error is None:
                await self.websockets(scope, receive, send)
            elif foreign is not None or isinstance(error, AuthenticationError):
                # refused at the handshake (HTTP 403), before any message
                await send({"type": "websocket.close", "code": 1008, "reason": error.message[:120]})
            else:
                await render(error, flavor_of(scope["path"]))(scope, receive, send)
        else:  # lifespan
            await self.app(scope, receive, send)


def answer(exc: Exception, scope: Scope, receive: Receive, request_id: str = "") -> Response:
    """The error response for what the route raised, in the addressed API's shape (a bug's names the
    request's id, which its log line names too, as OpenAI's 500s ask to be quoted by it)."""
    if isinstance(exc, APIError):
        return render(exc, flavor_of(scope["path"]))
    if isinstance(exc, HTTPException):
        return _http_error_response(Request(scope, receive), exc)
    # A bug: still answered in the API's own shape (and inside CORS, so a browser can read it).
    logger.exception("unhandled error on %s %s (request %s)", scope.get("method"), scope.get("path"), request_id,
                     exc_info=exc)
    message = "The server had an error while processing your request."
    if request_id:
        message += f" (Please include the request ID {request_id} in your message.)"
    return render(APIError(message), flavor_of(scope["path"]))


def _http_error_response(request: Request, exc: HTTPException) -> Response:
    """Starlette's 404 (no route) and 405 (no such method on the route), worded as the APIs word them."""
    if exc.status_code == 405:
        error: APIError = MethodNotAllowed(f"Method {request.method} is not allowed for {request.url.path}.")
    elif exc.status_code == 404:
        error = NotFound(f"Unknown request URL: {request.method} {request.url.path}.", code="unknown_url")
    else:
        error = APIError(str(exc.detail), status=exc.status_code)
    return render(error, flavor_of(request.url.path))


async def _api_error(request: Request, exc: Exception) -> Response:  # (Starlette's handlers, for WebSockets)
    assert isinstance(exc, APIError)
    return render(exc, flavor_of(request.url.path))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _http_error_response(request, exc)

