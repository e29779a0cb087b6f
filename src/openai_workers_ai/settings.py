"""Typed settings, read from Worker vars/secrets, ``os.environ`` or ``.dev.vars``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from json import loads

from .errors import APIError


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob the core reads. Field ``x`` comes from the variable ``X``."""

    access_token: tuple[str, ...] = ()
    """Accepted API keys (``ACCESS_TOKEN``, comma-separated). Empty means every request is refused."""
    admin_tokens: tuple[str, ...] = ()
    """Keys that may see every stored object, whoever created it."""
    auth_disabled: bool = False
    """Only the local server sets this (loopback, no key configured); the Worker never does."""
    default_model: str = "@cf/meta/llama-3.1-8b-instruct"
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    """Extra aliases (``MODEL_ALIASES``, a JSON object), on top of the built-in ones."""
    cors_allow_origins: tuple[str, ...] = ("*",)
    cloudflare_account_id: str = ""
    cloudflare_api_token: str = ""
    max_json_bytes: int = 16 * 1024 * 1024
    """A JSON body's bytes: room for a base64 image at ``max_image_bytes`` (13.3 MiB as a data URL) and
    text besides, while the ~4× a body is held as it is parsed and checked fits a Worker's 128 MB
    (docs/limits.md)."""
    max_file_bytes: int = 100 * 1024 * 1024
    max_audio_bytes: int = 25 * 1024 * 1024
    max_image_bytes: int = 10 * 1024 * 1024
    stale_after: int = 6 * 3600
    """Seconds after which an upload or delete that never finished (a crashed request) is swept."""
    image_url_ttl: int = 3600
    """Seconds a generated image's URL (``response_format=url``) stays valid, as OpenAI's 60 minutes."""
    max_in_flight_per_key: int = 256
    """Requests one API key may have running at once (per Worker isolate, per server process); more get
    a 429. 0: no limit. Public routes (health, generated images) do not count."""
    upstream_timeout: int = 60
    """Seconds of silence from the Workers AI REST API (no answer, no next stream chunk) before a 504
    ``upstream_timeout`` (the local server's REST backend)."""
    fetch_allow_http: bool = False
    """Whether URL inputs (chat ``image_url`` …) may be plain ``http``; https only by default."""
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    """Client addresses whose ``X-Forwarded-Proto`` / ``X-Forwarded-Host`` are believed (a reverse
    proxy on this machine, by default); anyone else's are ignored."""
    tiktoken_url: str = "https://openaipublic.blob.core.windows.net/encodings/"
    """Where OpenAI's token vocabularies (``<name>.tiktoken``) are downloaded from, once, into R2
    when a request sends token ids (``workers_ai/vocabularies.py``)."""
    live_catalog_ttl: int = 3600
    """Seconds ``GET /v1/models`` keeps Workers AI's live model catalog before fetching it again; 0: static catalog only."""
    vector_store_embedding_model: str = "@cf/baai/bge-m3"
    """The model that embeds vector stores' chunks and queries; the vector index must have its dimensions."""
    webhook_url: str = ""
    """Where OpenAI's webhook events for background responses and batches are POSTed (``webhooks.py``);
    with :attr:`webhook_secret`, else none are sent."""
    webhook_secret: str = ""
    """The key webhook events are signed with (``whsec_<base64>``, as OpenAI's; a secret)."""

    @classmethod
    def from_mapping(cls, env: Mapping[str, str], **overrides: object) -> Settings:
        """Build from a mapping of variable names (``ACCESS_TOKEN`` …) to strings."""
        values: dict[str, object] = {}
        for name, variable, annotation in _FIELDS:
            raw = env.get(variable)
            if raw is None or raw == "":
                continue
            values[name] = _convert(name, annotation, raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]  # each value converted for its field's type


_FIELDS = tuple((f.name, f.name.upper(), str(f.type)) for f in fields(Settings))
"""Each field's name, its variable's and its type's (worked out once, at import)."""
VARIABLES = tuple(variable for name, variable, _ in _FIELDS if name != "auth_disabled")
"""The variables a deployment may set (``auth_disabled`` is the local server's alone)."""


def _convert(name: str, annotation: str, raw: str) -> object:
    try:
        if annotation.startswith("tuple"):
            return _csv(raw)
        if annotation == "bool":
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if annotation == "int":
            return int(raw)
        if annotation.startswith("Mapping"):
            value = loads(raw)
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise ValueError("expected a JSON object of strings")
            return value
    except ValueError as exc:
        raise APIError(f"Setting {name.upper()} is invalid: {exc}") from exc
    return raw


def read_dev_vars(text: str) -> dict[str, str]:
    """Parse a ``.dev.vars`` file (dotenv syntax, as wrangler reads it)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if value[:1] in ("'", '"', "`") and value.find(value[0], 1) != -1:
            value = value[1 : value.find(value[0], 1)]  # quoted: anything after is a comment
        else:
            value = value.split(" #", 1)[0].split("\t#", 1)[0].strip()  # dotenv's inline comments
        out[key] = value
    return out
