"""``/v1/files``: upload, list, retrieve, download and delete files (D1 rows + R2 bytes).

Each file belongs to the API key that uploaded it (its SHA-256 is stored);
other keys get 404 and never see it listed. Admin keys (``ADMIN_TOKENS``) see
every file. Files past ``expires_at`` are not served; the scheduled cleanup
(:mod:`openai_workers_ai.maintenance`) deletes them. A deleted file, by either, is taken out of
every vector store that holds it (``runner/vectors.py`` ``forget_file``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ..context import context, owner, principal
from ..errors import InvalidRequest, NotFound
from ..ids import new_sortable_id
from ..multipart import FilePart, FormReader
from ..pagination import HAS_MORE_FIRST, list_object, page
from ..replies import json_response
from ..repositories import files
from ..repositories.files import FileRow
from ..runner import vectors
from ..storage import object_key

PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
NOT_DOWNLOADABLE = ("assistants", "user_data")
"""Purposes whose bytes OpenAI never hands back (``GET …/content`` is its 400): they are for models to read.
OpenAI serves ``batch``, ``vision`` and what it made itself (``batch_output`` here)."""
FILE_ID = re.compile(r"^file-[0-9A-Za-z]{24}$")
MIN_EXPIRY, MAX_EXPIRY = 3600, 30 * 86400
BATCH_EXPIRY = 30 * 86400  # OpenAI: batch files expire after 30 days unless told otherwise
MAX_LIMIT = 10_000
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
MEDIA_TYPE = re.compile(rf"^{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|\"[^\"\x00-\x1f\x7f]*\"))*$")
"""A media type as RFC 9110 writes one (no control characters, nothing a header cannot carry)."""


def file_object(row: FileRow) -> dict[str, Any]:
    """OpenAI's ``file`` object, its members in the order OpenAI sends them (``object`` first)."""
    return {
        "object": "file",
        "id": row.id,
        "purpose": row.purpose,
        "filename": row.filename,
        "bytes": row.bytes,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "status": "processed",
        "status_details": None,
    }


class InvalidPurpose(InvalidRequest):
    """OpenAI's 400 for an upload's unknown ``purpose``, in its words, with the top-level ``detail`` it adds
    beside ``error`` (openai/openai-dotnet, tests/SessionRecords/FilesTests/UploadFileCanParseServiceError.json)."""

    def __init__(self, purpose: str) -> None:
        listed = ", ".join(f"'{p}'" for p in ("fine-tune", "assistants", "batch", "user_data", "vision", "evals"))
        super().__init__(f"'{purpose}' is not one of [{listed}] - 'purpose'", param="purpose")

    def to_openai(self) -> dict[str, Any]:
        return {**super().to_openai(), "detail": {"message": self.message, "code": self.code}}


def _not_found(file_id: str) -> NotFound:
    return NotFound(f"No such File object: {file_id}", param="id")


async def create(request: Request) -> Response:
    """Upload. The bytes stream to R2 as they arrive, whatever the order of the form's parts;
    fields that follow the file (openai-node sends ``file`` first) are read and validated
    before the upload is marked processed, and a bad one undoes it."""
    ctx = context(request)
    reader = FormReader(request, max_file_bytes=ctx.settings.max_file_bytes)
    fields: dict[str, str] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, FilePart):
            fields[part[0]] = part[1]
        elif part.name == "file":
            return await _store(request, part, fields, reader)
    if "file" in fields:
        raise InvalidRequest("'file' must be a file upload, not a text field.", param="file")
    raise InvalidRequest("Missing required parameter: 'file'.", param="file")


async def _store(request: Request, upload: FilePart, fields: dict[str, str], reader: FormReader) -> Response:
    purpose = _purpose(fields) if "purpose" in fields else ""  # "": may follow the file
    now_ms = int(context(request).clock() * 1000)
    now = now_ms // 1000
    content_type = upload.content_type or "application/octet-stream"
    if not MEDIA_TYPE.match(content_type):  # it is served back as a header: it must be one
        raise InvalidRequest(f"Invalid Content-Type for the uploaded file: {content_type!r}.", param="file")
    chunks = reader.file_data()
    first = await anext(chunks, None)
    if first is None:
        raise InvalidRequest("The file is empty: upload at least one byte.", param="file")
    file_id = new_sortable_id("file-", now_ms)
    row = FileRow(
        id=file_id,
        owner=principal(request).key_hash,
        object_key=object_key(files.FILES, file_id),
        filename=upload.filename or "file",
        purpose=purpose,
        bytes=0,  # set from what R2 stored
        content_type=content_type,
        created_at=now,
        expires_at=None,
        status="uploading",
    )

    def final() -> dict[str, Any]:  # the whole form is read: its last word counts
        final_purpose = _purpose(fields)
        return {"purpose": final_purpose, "expires_at": expires_at(_expires_after(fields), final_purpose, now)}

    body = _streamed(first, chunks, reader, fields)
    stored = await files.create(context(request).backends, row, body, now, final)
    return json_response(file_object(stored))


async def _streamed(
    first: bytes, chunks: AsyncIterator[bytes], reader: FormReader, fields: dict[str, str]
) -> AsyncIterator[bytes]:
    """The file's bytes as they arrive, then the rest of the form read into ``fields``."""
    yield first
    async for chunk in chunks:
        yield chunk
    while (part := await reader.next()) is not None:
        if not isinstance(part, FilePart):
            fields[part[0]] = part[1]


def _purpose(fields: dict[str, str]) -> str:
    purpose = fields.get("purpose")
    if purpose is None:
        raise InvalidRequest("Missing required parameter: 'purpose'.", param="purpose")
    if purpose not in PURPOSES:
        raise InvalidPurpose(purpose)
    return purpose


def check_purpose(purpose: str) -> str:
    """``purpose`` if it is one of :data:`PURPOSES`; a 400 otherwise (``/v1/uploads``: no recording of its words
    there, so not :class:`InvalidPurpose`'s)."""
    if purpose not in PURPOSES:
        raise InvalidRequest(
            f"Invalid value for 'purpose': '{purpose}' is not one of {', '.join(PURPOSES)}.",
            param="purpose",
        )
    return purpose


def expires_at(seconds: int | None, purpose: str, now: int) -> int | None:
    """When a file made now expires: ``seconds`` after it (``expires_after``), else a batch file's default
    (:data:`BATCH_EXPIRY`), else never (``/v1/uploads`` too)."""
    if seconds is None and purpose == "batch":
        seconds = BATCH_EXPIRY
    return now + seconds if seconds is not None else None


def check_expiry(seconds: int | None) -> int:
    """``expires_after.seconds`` when it is an integer in range; OpenAI's 400 otherwise (``/v1/uploads`` too)."""
    if seconds is None or not MIN_EXPIRY <= seconds <= MAX_EXPIRY:
        raise InvalidRequest(
            f"Invalid value for 'expires_after.seconds': expected an integer between "
            f"{MIN_EXPIRY} and {MAX_EXPIRY}.",
            param="expires_after.seconds",
        )
    return seconds


def _expires_after(fields: dict[str, str]) -> int | None:
    """Seconds from ``expires_after[anchor]`` / ``expires_after[seconds]`` (as the client sends them)."""
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return None
    if anchor != "created_at":
        raise InvalidRequest(
            "Invalid value for 'expires_after.anchor': expected 'created_at'.",
            param="expires_after.anchor",
        )
    try:
        value = int(seconds) if seconds is not None else None
    except ValueError:
        value = None
    return check_expiry(value)


async def list_files(request: Request) -> Response:
    ctx = context(request)
    rows, has_more = await files.list_page(
        ctx.backends.db,
        owner=owner(request),
        now=ctx.now(),
        page=page(request.query_params, default_limit=MAX_LIMIT, max_limit=MAX_LIMIT),
        purpose=request.query_params.get("purpose") or None,
    )
    return json_response(list_object([file_object(row) for row in rows], has_more, tail=HAS_MORE_FIRST))


async def _visible(request: Request) -> FileRow:
    file_id: str = request.path_params["file_id"]
    row = None
    if FILE_ID.match(file_id):
        ctx = context(request)
        row = await files.get(ctx.backends.db, file_id, owner(request), ctx.now())
    if row is None:
        raise _not_found(file_id)
    return row


async def retrieve(request: Request) -> Response:
    return json_response(file_object(await _visible(request)))


async def content(request: Request) -> Response:
    row = await _visible(request)
    if row.purpose in NOT_DOWNLOADABLE:
        raise InvalidRequest(f"Not allowed to download files of purpose: {row.purpose}")
    stored = await context(request).backends.bucket.get(row.object_key)
    if stored is None or stored.body is None:  # deleted since the row was read
        raise _not_found(row.id)
    return StreamingResponse(
        stored.body,
        media_type=row.content_type,
        headers={
            "content-length": str(stored.size),
            "content-disposition": _attachment(row.filename),
        },
    )


_QUOTABLE = re.compile(r'^[ !#-\[\]-~]*$')
"""Printable ASCII but the double quote and the backslash: a filename a quoted string carries as it is."""


def _attachment(filename: str) -> str:
    """``Content-Disposition`` of a download: ``filename="…"`` as OpenAI sends it (openai/openai-dotnet,
    tests/SessionRecords/FilesTests/DownloadContent.json: ``attachment; filename="images_dog_and_cat.png"``),
    RFC 6266's ``filename*`` for a name a quoted string cannot carry as it is."""
    if _QUOTABLE.match(filename):
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=UTF-8''{quote(filename, safe='')}"


async def delete(request: Request) -> Response:
    ctx = context(request)
    file_id: str = request.path_params["file_id"]
    now = ctx.now()
    row = None
    if FILE_ID.match(file_id):
        row = await files.get_deletable(ctx.backends.db, file_id, owner(request), now)
    if row is None:
        raise _not_found(file_id)
    await files.delete(ctx.backends, row, now, detach=vectors.forget_file)  # and out of every vector store
    return json_response({"object": "file", "deleted": True, "id": row.id})
