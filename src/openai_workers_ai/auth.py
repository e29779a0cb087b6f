"""API-key authentication (the app's gate asks :class:`Keys` about every request).

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

from starlette.types import Scope

from .errors import APIError, AuthenticationError, PermissionDenied
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


LOCAL = Principal(key_hash="anonymous", admin=True)
"""The caller when the local server runs without keys (loopback only): one user, who sees everything."""
NOBODY = Principal(key_hash="", admin=False)
"""The caller of a public route (health, generated images): owns nothing, sees nothing stored."""


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


_LOOPBACK_HOST = re.compile(r"^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$", re.IGNORECASE)


def _loopback_host(headers: list[tuple[bytes, bytes]]) -> bool:
    host = next((value for name, value in headers if name == b"host"), b"")
    return bool(_LOOPBACK_HOST.match(host.decode("latin-1")))


def _digests(keys: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(hashlib.sha256(key.encode()).digest() for key in keys)


def _matches(presented: bytes, digests: tuple[bytes, ...]) -> bool:
    # Digests of one length on both sides, and no early exit: the time taken tells neither
    # which key matched nor how long the keys are.
    found = False
    for digest in digests:
        found |= hmac.compare_digest(presented, digest)
    return found


_KNOWN_KEYS = 1024
"""At most this many authenticated keys are remembered (a server is configured with a few)."""


class Keys:
    """The configured API keys. Refuses requests without a valid one (401), except :data:`PUBLIC`
    paths; puts the caller's :class:`Principal` in ``scope["state"]["principal"]``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admins = _digests(settings.admin_tokens)
        self._keys = _digests(settings.access_token) + self._admins
        # Keys that authenticated, by the key as presented: recognized again by one dict lookup (the
        # hash of a string is salted per process, so how long a lookup takes says nothing about how
        # near a wrong key is to a right one; a wrong key is never kept). ~1 µs a request.
        self._known: dict[str, Principal] = {}

    def admit(self, scope: Scope) -> APIError | None:
        """Record who is calling in ``scope``; or the error that refuses the request."""
        path: str = scope["path"]
        state = scope.setdefault("state", {})
        if self.settings.auth_disabled and not _loopback_host(scope["headers"]):
            # Without keys the local server is for this machine's own clients: a web page the user
            # visits must not reach it through DNS rebinding (its Host is the attacker's name).
            return PermissionDenied(
                "This server runs without API keys, so it answers only requests addressed to localhost, "
                "127.0.0.1 or [::1]; set ACCESS_TOKEN to serve other host names.", code="host_not_allowed")
        if PUBLIC.match(path) or self.settings.auth_disabled:
            state["principal"] = NOBODY if PUBLIC.match(path) else LOCAL
            return None
        key = _presented_key(scope["headers"])
        known = self._known.get(key) if key else None
        if known is not None:
            state["principal"] = known
            return None
        try:
            state["principal"] = self.authenticate(key)
        except AuthenticationError as error:
            return error
        if key and len(self._known) < _KNOWN_KEYS:
            self._known[key] = state["principal"]
        return None

    def current(self, key_hash_hex: str) -> Principal | None:
        """Who the key with this hash (an owner, as stored) is now: a principal, an admin or not as the
        settings say today; None when the settings no longer take that key (work it left running stops)."""
        if self.settings.auth_disabled:
            return LOCAL if key_hash_hex == LOCAL.key_hash else None
        try:
            digest = bytes.fromhex(key_hash_hex)
        except ValueError:
            return None
        if not _matches(digest, self._keys):
            return None
        return Principal(key_hash_hex, admin=_matches(digest, self._admins))

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
        presented = hashlib.sha256(key.encode()).digest()
        if not _matches(presented, self._keys):
            raise AuthenticationError("Incorrect API key provided.")
        return Principal(presented.hex(), admin=_matches(presented, self._admins))
