"""OpenAI's token vocabularies: token ids → text, for inputs sent as token arrays.

Clients that tokenise with tiktoken (LangChain's ``OpenAIEmbeddings`` by default) send
``input`` / ``prompt`` as arrays of token ids in the encoding of the OpenAI model they
name. Workers AI models take text, so the ids are decoded with that encoding
(:func:`encoding_for`: ``o200k_base`` for the gpt-4o / gpt-4.1 / gpt-5 / o-series names,
``cl100k_base`` for ada-002, text-embedding-3-*, gpt-4, gpt-3.5 and any other name, as
tiktoken's users fall back to it).

A vocabulary is a ``.tiktoken`` file (one ``<base64 token> <rank>`` line per token, 1.7 MB
for cl100k_base, 3.6 MB for o200k_base): too big to bundle in a Worker. It is obtained once
and kept: looked up in R2 (``vocabularies/<name>.tiktoken``); if absent, downloaded from
``TIKTOKEN_URL`` (tiktoken's own public location by default), checked against its SHA-256,
and stored in R2 for every later isolate; then held in memory by the isolate. Offline (the
local server, the tests) the file is put in R2 beforehand (``openai-workers-ai vocabulary
import``). Decoding needs no BPE: each id's bytes are concatenated and read as UTF-8.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest, UpstreamError

if TYPE_CHECKING:
    from ..context import AppContext

log = logging.getLogger(__name__)

KEY_PREFIX = "vocabularies/"
MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Encoding:
    """A tiktoken encoding: its file's name and SHA-256, and its special tokens."""

    name: str
    sha256: str
    specials: dict[int, str]

    @property
    def key(self) -> str:
        """Its R2 key."""
        return f"{KEY_PREFIX}{self.name}.tiktoken"


# Hashes and special tokens as tiktoken's openai_public.py states them.
ENCODINGS: dict[str, Encoding] = {
    "cl100k_base": Encoding(
        "cl100k_base", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        {100257: "<|endoftext|>", 100258: "<|fim_prefix|>", 100259: "<|fim_middle|>", 100260: "<|fim_suffix|>",
         100276: "<|endofprompt|>"}),
    "o200k_base": Encoding(
        "o200k_base", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        {199999: "<|endoftext|>", 200018: "<|endofprompt|>"}),
}

# tiktoken's model → encoding table (model.py): these names and their dated/suffixed versions.
O200K_NAMES = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "gpt-6", "o1", "o3", "o4", "chatgpt-4o", "gpt-oss", "codex-mini",
               "omni-moderation", "gpt-image", "gpt-realtime", "gpt-audio")


def encoding_for(model: str) -> Encoding:
    """The encoding a client's tokeniser used for the OpenAI model ``model`` (as the request names it)."""
    name = model.lower()
    for prefix in O200K_NAMES:
        if name == prefix or name.startswith((prefix + "-", prefix + ":", prefix + ".")):  # gpt-5.4 is gpt-5's
            return ENCODINGS["o200k_base"]
    return ENCODINGS["cl100k_base"]


class Vocabulary:
    """Token id → bytes for one encoding."""

    __slots__ = ("encoding", "tokens")

    def __init__(self, encoding: Encoding, data: bytes) -> None:
        self.encoding = encoding
        # Ranks are the line numbers (0, 1, 2 … in order) in OpenAI's files; checked when loaded.
        self.tokens: list[bytes] = [base64.b64decode(line.partition(b" ")[0]) for line in data.splitlines() if line]

    def decode(self, ids: list[int], param: str) -> str:
        """The text of ``ids``; a 400 naming ``param[i]`` for an id the encoding does not have."""
        tokens, specials = self.tokens, self.encoding.specials
        if not ids:
            return ""
        try:
            if min(ids) >= 0:
                return b"".join([tokens[i] for i in ids]).decode("utf-8", "replace")
        except IndexError:
            pass
        parts: list[bytes] = []
        for position, token in enumerate(ids):
            if 0 <= token < len(tokens):
                parts.append(tokens[token])
            elif token in specials:
                parts.append(specials[token].encode())
            else:
                raise InvalidRequest(
                    f"Invalid value for '{param}[{position}]': {token} is not a token id of {self.encoding.name}.",
                    param=f"{param}[{position}]",
                )
        return b"".join(parts).decode("utf-8", "replace")


def parse(encoding: Encoding, data: bytes) -> Vocabulary:
    """``data`` (a ``.tiktoken`` file) as ``encoding`` 's vocabulary; ValueError if it is not that file."""
    if hashlib.sha256(data).hexdigest() != encoding.sha256:
        raise ValueError(f"not OpenAI's {encoding.name}.tiktoken (SHA-256 differs)")
    return Vocabulary(encoding, data)


# The same bytes whoever loads them (checked by their SHA-256): kept per isolate, as a cache, not state.
_loaded: dict[str, Vocabulary] = {}


async def vocabulary(ctx: AppContext, encoding: Encoding) -> Vocabulary:
    """``encoding`` 's vocabulary: from memory, else from R2, else downloaded once into R2."""
    known = _loaded.get(encoding.name)
    if known is not None:
        return known
    data = await _stored(ctx, encoding)
    if data is None:
        data = await _download(ctx, encoding)
        await ctx.backends.bucket.put(encoding.key, data, content_type="text/plain")
    loaded = _loaded[encoding.name] = parse(encoding, data)
    return loaded


async def _stored(ctx: AppContext, encoding: Encoding) -> bytes | None:
    stored = await ctx.backends.bucket.get(encoding.key)
    if stored is None or stored.body is None:
        return None
    data = b"".join([chunk async for chunk in stored.body])
    if hashlib.sha256(data).hexdigest() != encoding.sha256:
        log.warning("R2 %s is not OpenAI's %s: fetched again", encoding.key, encoding.name)
        return None
    return data


async def _download(ctx: AppContext, encoding: Encoding) -> bytes:
    url = ctx.settings.tiktoken_url.rstrip("/") + f"/{encoding.name}.tiktoken"
    unavailable = (f"Token-array inputs need the {encoding.name} vocabulary, which is not available "
                   f"(not in R2 at {encoding.key}, and it could not be downloaded from {url})")
    fetcher = ctx.backends.fetcher
    if fetcher is None:
        raise UpstreamError(unavailable + "; send text instead.", status=503, code="vocabulary_unavailable")
    try:
        fetched = await fetcher.get(url, max_bytes=MAX_BYTES)
    except Exception as exc:  # any failure of the download (network, status, size) is the same answer
        log.warning("downloading %s failed: %s", url, exc)
        raise UpstreamError(unavailable + "; send text instead.", status=503, code="vocabulary_unavailable") from None
    if hashlib.sha256(fetched.body).hexdigest() != encoding.sha256:
        raise UpstreamError(unavailable + " (the download's SHA-256 differs).", status=503,
                            code="vocabulary_unavailable")
    return fetched.body


async def decoded(ctx: AppContext, model: str, arrays: list[list[int]], param: str) -> list[str]:
    """Token-id inputs as text, decoded with the encoding of the OpenAI model ``model`` (as the request names
    it); a 400 naming ``param`` (``param[i]`` when there are several) for an id the encoding does not have."""
    if not arrays:
        return []
    vocab = await vocabulary(ctx, encoding_for(model))
    return [vocab.decode(ids, param if len(arrays) == 1 else f"{param}[{i}]") for i, ids in enumerate(arrays)]


def is_token_array(value: Any) -> bool:
    """Whether ``value`` is a non-empty list of integers (booleans are not)."""
    return isinstance(value, list) and bool(value) and all(type(v) is int for v in value)
