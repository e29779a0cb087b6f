"""The composition root: ``create_app(backends, settings)``.

The Worker (``src/entry.py``), the local server (``cli.py``) and the tests
each build the same app with their own backends. The route table below is
the API's index: find any endpoint here in one hop.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial

from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.types import ASGIApp, Message

from .auth import Principal
from .catalog import Catalog
from .context import AppContext, Clock
from .gate import Gate, answer
from .ports import Backends
from .routes import (
    assistants,
    audio_speech,
    audio_transcriptions,
    audio_translations,
    batches,
    chat_completions,
    completions,
    conversations,
    embeddings,
    files,
    health,
    images,
    messages,
    models,
    moderations,
    responses,
    run_steps,
    runs,
    threads,
    uploads,
    vector_store_file_batches,
    vector_store_files,
    vector_stores,
)
from .routes._assistants import v2
from .routes.ollama import chat as ollama_chat
from .routes.ollama import embed as ollama_embed
from .routes.ollama import generate as ollama_generate
from .routes.ollama import management as ollama_management
from .routes.ollama import models as ollama_models
from .routes.ollama import version as ollama_version
from .routing import Route, Router, fixed_table
from .settings import Settings
from .validation import read_models

OPENAI: list[BaseRoute] = [
    Route("/chat/completions", chat_completions.create, methods=["POST"]),
    Route("/chat/completions", chat_completions.list_completions, methods=["GET"]),
    Route("/chat/completions/{completion_id}", chat_completions.retrieve, methods=["GET"]),
    Route("/chat/completions/{completion_id}", chat_completions.update, methods=["POST"]),
    Route("/chat/completions/{completion_id}", chat_completions.delete, methods=["DELETE"]),
    Route("/chat/completions/{completion_id}/messages", chat_completions.list_messages, methods=["GET"]),
    Route("/completions", completions.create, methods=["POST"]),
    Route("/responses", responses.create, methods=["POST"]),
    WebSocketRoute("/responses", responses.websocket),
    Route("/responses/input_tokens", responses.input_tokens, methods=["POST"]),
    Route("/responses/compact", responses.compact, methods=["POST"]),
    Route("/responses/{response_id}", responses.retrieve, methods=["GET"]),
    Route("/responses/{response_id}", responses.delete, methods=["DELETE"]),
    Route("/responses/{response_id}/cancel", responses.cancel, methods=["POST"]),
    Route("/responses/{response_id}/input_items", responses.input_items, methods=["GET"]),
    Route("/embeddings", embeddings.create, methods=["POST"]),
    Route("/audio/transcriptions", audio_transcriptions.create, methods=["POST"]),
    Route("/audio/translations", audio_translations.create, methods=["POST"]),
    Route("/audio/speech", audio_speech.create, methods=["POST"]),
    Route("/images/generations", images.generations, methods=["POST"]),
    Route("/images/edits", images.edits, methods=["POST"]),
    Route("/images/variations", images.variations, methods=["POST"]),
    Route("/images/{name}", images.retrieve, methods=["GET", "HEAD"]),
    Route("/moderations", moderations.create, methods=["POST"]),
    Route("/models", models.list_models, methods=["GET"]),
    Route("/models/{model:path}", models.retrieve, methods=["GET"]),
    Route("/models/{model:path}", models.delete, methods=["DELETE"]),
    Route("/files", files.create, methods=["POST"]),
    Route("/files", files.list_files, methods=["GET"]),
    Route("/files/{file_id}", files.retrieve, methods=["GET"]),
    Route("/files/{file_id}", files.delete, methods=["DELETE"]),
    Route("/files/{file_id}/content", files.content, methods=["GET"]),
    Route("/uploads", uploads.create, methods=["POST"]),
    Route("/batches", batches.create, methods=["POST"]),
    Route("/batches", batches.list_batches, methods=["GET"]),
    Route("/batches/{batch_id}", batches.retrieve, methods=["GET"]),
    Route("/batches/{batch_id}/cancel", batches.cancel, methods=["POST"]),
    Route("/uploads/{upload_id}/parts", uploads.add_part, methods=["POST"]),
    Route("/uploads/{upload_id}/complete", uploads.complete, methods=["POST"]),
    Route("/uploads/{upload_id}/cancel", uploads.cancel, methods=["POST"]),
    Route("/conversations", conversations.create, methods=["POST"]),
    Route("/conversations/{conversation_id}", conversations.retrieve, methods=["GET"]),
    Route("/conversations/{conversation_id}", conversations.update, methods=["POST"]),
    Route("/conversations/{conversation_id}", conversations.delete, methods=["DELETE"]),
    Route("/conversations/{conversation_id}/items", conversations.list_items, methods=["GET"]),
    Route("/conversations/{conversation_id}/items", conversations.create_items, methods=["POST"]),
    Route("/conversations/{conversation_id}/items/{item_id}", conversations.retrieve_item, methods=["GET"]),
    Route("/conversations/{conversation_id}/items/{item_id}", conversations.delete_item, methods=["DELETE"]),
    Route("/assistants", v2(assistants.create), methods=["POST"]),
    Route("/assistants", v2(assistants.list_assistants), methods=["GET"]),
    Route("/assistants/{assistant_id}", v2(assistants.retrieve), methods=["GET"]),
    Route("/assistants/{assistant_id}", v2(assistants.modify), methods=["POST"]),
    Route("/assistants/{assistant_id}", v2(assistants.delete), methods=["DELETE"]),
    Route("/threads", v2(threads.create), methods=["POST"]),
    Route("/threads/runs", v2(runs.create_thread_and_run), methods=["POST"]),
    Route("/threads/{thread_id}", v2(threads.retrieve), methods=["GET"]),
    Route("/threads/{thread_id}", v2(threads.modify), methods=["POST"]),
    Route("/threads/{thread_id}", v2(threads.delete), methods=["DELETE"]),
    Route("/threads/{thread_id}/messages", v2(messages.create), methods=["POST"]),
    Route("/threads/{thread_id}/messages", v2(messages.list_messages), methods=["GET"]),
    Route("/threads/{thread_id}/messages/{message_id}", v2(messages.retrieve), methods=["GET"]),
    Route("/threads/{thread_id}/messages/{message_id}", v2(messages.modify), methods=["POST"]),
    Route("/threads/{thread_id}/messages/{message_id}", v2(messages.delete), methods=["DELETE"]),
    Route("/threads/{thread_id}/runs", v2(runs.create), methods=["POST"]),
    Route("/threads/{thread_id}/runs", v2(runs.list_runs), methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}", v2(runs.retrieve), methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}", v2(runs.modify), methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}/cancel", v2(runs.cancel), methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs", v2(runs.submit_tool_outputs), methods=["POST"]),
    Route("/threads/{thread_id}/runs/{run_id}/steps", v2(run_steps.list_steps), methods=["GET"]),
    Route("/threads/{thread_id}/runs/{run_id}/steps/{step_id}", v2(run_steps.retrieve), methods=["GET"]),
    Route("/vector_stores", vector_stores.create, methods=["POST"]),
    Route("/vector_stores", vector_stores.list_stores, methods=["GET"]),
    Route("/vector_stores/{vector_store_id}", vector_stores.retrieve, methods=["GET"]),
    Route("/vector_stores/{vector_store_id}", vector_stores.modify, methods=["POST"]),
    Route("/vector_stores/{vector_store_id}", vector_stores.delete, methods=["DELETE"]),
    Route("/vector_stores/{vector_store_id}/search", vector_stores.search, methods=["POST"]),
    Route("/vector_stores/{vector_store_id}/files", vector_store_files.create, methods=["POST"]),
    Route("/vector_stores/{vector_store_id}/files", vector_store_files.list_files, methods=["GET"]),
    Route("/vector_stores/{vector_store_id}/files/{file_id}", vector_store_files.retrieve, methods=["GET"]),
    Route("/vector_stores/{vector_store_id}/files/{file_id}", vector_store_files.update, methods=["POST"]),
    Route("/vector_stores/{vector_store_id}/files/{file_id}", vector_store_files.delete, methods=["DELETE"]),
    Route("/vector_stores/{vector_store_id}/files/{file_id}/content", vector_store_files.content, methods=["GET"]),
    Route("/vector_stores/{vector_store_id}/file_batches", vector_store_file_batches.create, methods=["POST"]),
    Route("/vector_stores/{vector_store_id}/file_batches/{batch_id}", vector_store_file_batches.retrieve,
          methods=["GET"]),
    Route("/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel", vector_store_file_batches.cancel,
          methods=["POST"]),
    Route("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files", vector_store_file_batches.list_files,
          methods=["GET"]),
]

OLLAMA: list[BaseRoute] = [
    Route("/api/version", ollama_version.version, methods=["GET"]),
    Route("/api/chat", ollama_chat.create, methods=["POST"]),
    Route("/api/generate", ollama_generate.create, methods=["POST"]),
    Route("/api/embed", ollama_embed.create, methods=["POST"]),
    Route("/api/embeddings", ollama_embed.legacy, methods=["POST"]),
    Route("/api/tags", ollama_models.tags, methods=["GET"]),
    Route("/api/show", ollama_models.show, methods=["POST"]),
    Route("/api/ps", ollama_models.ps, methods=["GET"]),
    Route("/api/pull", ollama_management.pull, methods=["POST"]),
    Route("/api/push", ollama_management.push, methods=["POST"]),
    Route("/api/create", ollama_management.create, methods=["POST"]),
    Route("/api/copy", ollama_management.copy, methods=["POST"]),
    Route("/api/delete", ollama_management.delete, methods=["DELETE"]),
    Route("/api/blobs/{digest}", ollama_management.blob, methods=["HEAD", "POST"]),
]

ROUTES: list[BaseRoute] = [
    Route("/", health.root, methods=["GET", "HEAD"]),
    Route("/health", health.health, methods=["GET", "HEAD"]),
    Mount("/v1", routes=OPENAI),
    Mount("/llm/openai/v1", routes=OPENAI),
    *OLLAMA,
    Mount("/llm/ollama", routes=[Route("/", health.root, methods=["GET", "HEAD"]), *OLLAMA]),
]

read_models()  # what each request model's checks need, read now (in the Worker, inside the snapshot)

FIXED = fixed_table(ROUTES)
"""The fixed paths of :data:`ROUTES`, matched once here, at import (in the Worker, inside the
deploy-time snapshot), so that ``create_app`` matches no route (``tests/test_cold_start.py``)."""


class _State(State):
    """Starlette's ``app.state``, its ``ctx`` (the :class:`AppContext`, what every request reads) a property:
    State's ``__getattr__`` answers only after an attribute lookup has failed (~0.4 µs a read, twice a
    chat request; 0.08 this way). Set as any state is (``app.state.ctx = …``, tests too)."""

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self._state["ctx"]
        return ctx


class _App(Starlette):
    """Starlette over :data:`ROUTES` (:mod:`.routing`), with :class:`~.gate.Gate` as its one middleware
    in place of its own error middlewares: the gate answers every error, in the addressed API's shape."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.router = Router(ROUTES, FIXED)
        self.settings = settings
        self.state = _State()

    def build_middleware_stack(self) -> ASGIApp:
        # (the router's own stack, what Router.__call__ would await: one coroutine a request fewer)
        return Gate(self.router.middleware_stack, self.settings)


def create_app(backends: Backends, settings: Settings, clock: Clock = time.time) -> Starlette:
    """The ASGI app over ``backends``: the route table behind the gate (CORS, authentication, errors
    rendered in the addressed API's format, work stopped when the client leaves). The one composition
    root: the Worker, the local server and the tests call it.
    """
    app = _App(settings)
    catalog = Catalog(aliases=settings.model_aliases, default_model=settings.default_model)
    app.state.ctx = AppContext(backends=backends, settings=settings, catalog=catalog, clock=clock,
                               dispatch=partial(_dispatch, app))
    return app


async def _dispatch(app: _App, caller: Principal, path: str, body: bytes) -> tuple[int, bytes]:
    """``POST /v1{path}`` with a JSON ``body``, as ``caller``, through the routes in this process (no key
    check, no HTTP): its status and body, an error rendered as over HTTP (:data:`~.context.Dispatch`)."""
    full = f"/v1{path}"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": full, "raw_path": full.encode(), "root_path": "", "query_string": b"", "client": None,
             "server": None, "app": app, "state": {"principal": caller},
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    sent = False
    status, chunks = 500, []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Future()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    try:
        await app.router(scope, receive, send)
    except Exception as exc:
        chunks.clear()
        await answer(exc, scope, receive)(scope, receive, send)
    return status, b"".join(chunks)
