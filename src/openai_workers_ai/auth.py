"""API-key authentication, as a pure ASGI middleware.

Keys arrive as ``Authorization: Bearer <key>`` (the OpenAI and ollama
clients) or as HTTP Basic with the key as password (Open WebUI style
deployments). Comparison is constant-time against every configured key.
The request's principal (a hash of the key, never the key) is put in
``scope["state"]["principal"]`` for stored resources' ownership.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import AuthenticationError, flavor_of, render
from .settings import Settings

# Reachable without a key: liveness (with Ollama's `/` and `/api/version` probes, also under
# /llm/ollama), and images served to <img> tags by unguessable name.
PUBLIC = re.compile(
    r"^/(?:|health|(?:llm/ollama/)?api/version|llm/ollama/?|(?:llm/openai/)?v1/images/(?!(?:generations|edits|variations)$)[^/]+)$"
)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the SHA-256 of their key, and whether it is an admin key."""

    key_hash: str
    admin: bool = False


ANONYMOUS = Principal(key_hash="anonymous", admin=True)


def key_hash(key: str) -> str:
    """The SHA-256 hex digest of an API key (what stored resources record as their owner)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").strip().partition(" ")
            scheme = scheme.lower()
            if scheme == "bearer":
                return credential.strip()
            if scheme == "basic":
                try:
                    decoded = base64.b64decode(credential.strip(), validate=True).decode()
                except (ValueError, UnicodeDecodeError):
                    return None
                return decoded.partition(":")[2]
            return None
    return None


def _matches(candidate: str, keys: tuple[str, ...]) -> bool:
    found = False
    for key in keys:  # no early exit: time does not depend on which key matched
        found |= hmac.compare_digest(candidate.encode(), key.encode())
    return found


class AuthMiddleware:
    """Refuses requests without a valid API key (401 in the addressed API's format), except
    :data:`PUBLIC` paths; puts the caller's :class:`Principal` in ``scope["state"]["principal"]``.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if self.settings.auth_disabled or PUBLIC.match(path):
            state["principal"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        try:
            state["principal"] = self.authenticate(_presented_key(scope["headers"]))
        except AuthenticationError as error:
            if scope["type"] == "websocket":  # refused at the handshake (HTTP 403), before any message
                await send({"type": "websocket.close", "code": 1008, "reason": error.message[:120]})
                return
            await render(error, flavor_of(path))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def authenticate(self, key: str | None) -> Principal:
        """The principal for a presented key; :class:`AuthenticationError` if none is configured, given or matching."""
        settings = self.settings
        if not settings.access_token:
            raise AuthenticationError(
                "This server has no API key configured (set the ACCESS_TOKEN secret); "
                "it refuses every request until one is set."
            )
        if not key:
            raise AuthenticationError(
                "You didn't provide an API key. Provide it in an Authorization header "
                "as 'Bearer YOUR_KEY'."
            )
        if not _matches(key, settings.access_token + settings.admin_tokens):
            raise AuthenticationError("Incorrect API key provided.")
        return Principal(key_hash(key), admin=_matches(key, settings.admin_tokens))
