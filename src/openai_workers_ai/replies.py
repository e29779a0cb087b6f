"""JSON replies: what a handler answers with when it does not stream."""

from __future__ import annotations

import codecs
from json import dumps
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_json
from starlette.responses import Response


def json_response(payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> Response:
    """``payload`` as compact JSON (a pydantic model as it serializes itself). A lone surrogate (text no UTF-8
    can hold: stored before a check refused it, say) becomes U+FFFD, as in :func:`json_bytes`: never a 500."""
    if isinstance(payload, BaseModel):
        try:
            body = payload.model_dump_json().encode()
        except PydanticSerializationError:  # pydantic refuses a lone surrogate; dumps keeps it, and encode replaces it
            body = _replaced(payload.model_dump(mode="json"))
    else:
        body = _replaced(payload)
    return Response(body, status_code=status, media_type="application/json")


def _replacement_character(error: UnicodeError) -> tuple[bytes, int]:
    """An encoding error handler: each character UTF-8 cannot hold (a lone surrogate) written as U+FFFD
    (the ``replace`` handler writes ``?``). Its UTF-8 bytes: the UTF-8 codec takes no replacement text
    beyond ASCII."""
    assert isinstance(error, UnicodeEncodeError)
    return "\ufffd".encode() * (error.end - error.start), error.end


codecs.register_error("openai_workers_ai.fffd", _replacement_character)


def _replaced(value: Any) -> bytes:
    return dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "openai_workers_ai.fffd")


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON, serialized by pydantic-core (several times faster than
    ``json.dumps`` on large objects); a lone surrogate (cut from its pair upstream) becomes U+FFFD."""
    try:
        return to_json(value)
    except PydanticSerializationError:
        return _replaced(value)


def pydantic_json(value: Any) -> bytes | None:
    """``value``'s :func:`json_bytes` when pydantic-core serializes it (None when only the fallback can: a
    lone surrogate). JSON made so is a part of any larger value's :func:`json_bytes` as it is (an object's
    JSON is its members' JSON, joined), so it can be made once for two uses."""
    try:
        return to_json(value)
    except PydanticSerializationError:
        return None


def json_bytes_response(value: Any) -> Response:
    """A JSON reply (200) serialized with :func:`json_bytes`."""
    return _JSONBytes(json_bytes(value))


def json_reply(body: bytes) -> Response:
    """A JSON reply (200) of ``body``, JSON made already (as :func:`json_bytes` makes it)."""
    return _JSONBytes(body)


class _JSONBytes(Response):
    """What ``Response(body, media_type="application/json")`` is for JSON bytes and a 200, its headers
    written out as Starlette works them out (``content-length``, then ``content-type``) rather than
    worked out per reply."""

    media_type = "application/json"

    def __init__(self, body: bytes) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]


POLL_AFTER = "openai-poll-after-ms"
"""The header the official clients' polling helpers (``runs.poll``, ``vector_stores.files.poll``,
``file_batches.poll``, and their ``create_and_poll``) wait by before the next look (1,000 ms without it)."""


def polled(response: Response, unfinished: bool, after_ms: int) -> Response:
    """``response`` with :data:`POLL_AFTER` when what it shows is still ``unfinished``."""
    if unfinished:
        response.headers[POLL_AFTER] = str(after_ms)
    return response
