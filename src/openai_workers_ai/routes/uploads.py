"""``/v1/uploads``: a file sent in parts (each up to 64 MB), joined into a file when completed.

``POST /v1/uploads`` makes a ``pending`` upload that takes parts for an hour; ``…/parts`` stores one
part (its bytes streamed to their own R2 object); ``…/complete`` joins the named parts in the order
given into a new file — the same row and R2 object ``POST /v1/files`` makes (``repositories/files.py``),
so it is served, listed, deleted, expired and cleaned like any other — then deletes the parts;
``…/cancel`` deletes them. Each upload belongs to the API key that created it, as files do. Parts left
behind by an expired upload or a crash are deleted by the scheduled cleanup (``repositories/uploads.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..context import context, owner, principal
from ..errors import InvalidRequest, NotFound
from ..ids import dated_hex_id_pattern, new_dated_hex_id, new_sortable_id
from ..multipart import FilePart, FormReader
from ..replies import json_response
from ..repositories import files as files_repo
from ..repositories import uploads
from ..repositories.files import FileRow
from ..repositories.uploads import UploadRow
from ..storage import object_key
from ..types.uploads import CompleteUploadBody, CreateUploadBody
from ..validation import parse_json
from .files import MEDIA_TYPE, check_expiry, check_purpose, expires_at, file_object

UPLOAD_ID = re.compile(dated_hex_id_pattern("upload_"))
"""OpenAI's upload ids (:func:`new_dated_hex_id`), or the 24 letters and digits of those made here before."""
UPLOAD_EXPIRY = 3600
"""An upload takes parts for an hour after it is created, as OpenAI's do."""
MAX_PART_BYTES = 64 << 20
"""A part's size at most: OpenAI's 64 MB (the ``openai`` client's ``DEFAULT_PART_SIZE``)."""


def upload_object(row: UploadRow, now: int, file: FileRow | None = None) -> dict[str, Any]:
    """OpenAI's ``upload`` object (``status`` ``expired`` once a pending upload is past ``expires_at``); ``file``
    only once there is one: OpenAI's pending and cancelled uploads have no ``file`` member, not a null one."""
    status = row.status
    if status == uploads.PENDING and row.expires_at <= now:
        status = "expired"
    elif status == uploads.COMPLETING:
        status = uploads.PENDING
    upload = {
        "id": row.id,
        "object": "upload",
        "bytes": row.bytes,
        "created_at": row.created_at,
        "filename": row.filename,
        "purpose": row.purpose,
        "status": status,
        "expires_at": row.expires_at,
    }
    if file is not None:
        upload["file"] = file_object(file)
    return upload


async def create(request: Request) -> Response:
    ctx = context(request)
    body = await parse_json(request, CreateUploadBody)
    purpose = check_purpose(body.purpose)
    if not MEDIA_TYPE.match(body.mime_type):  # the file is served with it as its Content-Type
        raise InvalidRequest(f"Invalid value for 'mime_type': {body.mime_type!r} is not a MIME type.",
                             param="mime_type")
    seconds = check_expiry(body.expires_after.seconds) if body.expires_after is not None else None
    now = ctx.now()
    row = UploadRow(
        id=new_dated_hex_id("upload_", now),
        owner=principal(request).key_hash,
        filename=body.filename,
        purpose=purpose,
        bytes=body.bytes,
        mime_type=body.mime_type,
        file_expires_after=seconds,
        created_at=now,
        expires_at=now + UPLOAD_EXPIRY,
        status=uploads.PENDING,
    )
    await uploads.create(ctx.backends.db, row, now)
    return json_response(upload_object(row, now))


async def _upload(request: Request) -> UploadRow:
    upload_id: str = request.path_params["upload_id"]
    row = None
    if UPLOAD_ID.match(upload_id):
        ctx = context(request)
        row = await uploads.get(ctx.backends.db, upload_id, owner(request), ctx.now())
    if row is None:
        raise NotFound(f"No such Upload object: {upload_id}", param="upload_id")
    return row


def _check_pending(row: UploadRow, now: int, doing: str) -> None:
    """400 unless the upload still takes parts (pending, not expired)."""
    if row.status == uploads.PENDING and row.expires_at <= now:
        raise InvalidRequest(f"Cannot {doing} upload {row.id}: it has expired.", param="upload_id")
    if row.status != uploads.PENDING:
        raise InvalidRequest(f"Cannot {doing} upload {row.id}: it is already {_state(row)}.", param="upload_id")


async def add_part(request: Request) -> Response:
    """One part: the form's ``data`` file streamed to its own R2 object (at most :data:`MAX_PART_BYTES`)."""
    ctx = context(request)
    row = await _upload(request)
    now = ctx.now()
    _check_pending(row, now, "add a part to")
    reader = FormReader(request, max_file_bytes=MAX_PART_BYTES, what="part")
    while (part := await reader.next()) is not None:
        if isinstance(part, FilePart) and part.name == "data":
            chunks = reader.file_data()
            first = await anext(chunks, None)
            if first is None:
                raise InvalidRequest("The part is empty: send at least one byte.", param="data")
            part_id = new_dated_hex_id("part_", now)
            stored = await uploads.add_part(ctx.backends, row, part_id, object_key(uploads.PARTS, part_id),
                                            _rest(first, chunks, reader), now)
            if not stored:  # completed, cancelled or expired while the bytes came in
                fresh = await _upload(request)
                _check_pending(fresh, ctx.now(), "add a part to")
                raise InvalidRequest(f"Cannot add a part to upload {row.id}: it no longer takes parts.",
                                     param="upload_id")
            return json_response({"id": part_id, "object": "upload.part", "created_at": now, "upload_id": row.id})
        if not isinstance(part, FilePart) and part[0] == "data":
            raise InvalidRequest("'data' must be a file upload, not a text field.", param="data")
    raise InvalidRequest("Missing required parameter: 'data'.", param="data")


async def _rest(first: bytes, chunks: AsyncIterator[bytes], reader: FormReader) -> AsyncIterator[bytes]:
    """The part's bytes as they arrive, then the rest of the form read past."""
    yield first
    async for chunk in chunks:
        yield chunk
    while await reader.next() is not None:
        pass


async def complete(request: Request) -> Response:
    """The named parts, in the order named, joined into a new file; then the parts are deleted."""
    ctx = context(request)
    row = await _upload(request)
    body = await parse_json(request, CompleteUploadBody)
    now_ms = int(ctx.clock() * 1000)
    now = now_ms // 1000
    _check_pending(row, now, "complete")
    db = ctx.backends.db
    stored = await uploads.parts(db, row.id)
    seen: set[str] = set()
    for i, part_id in enumerate(body.part_ids):
        if part_id not in stored:
            raise InvalidRequest(f"No such part of upload {row.id}: '{part_id}'.", param=f"part_ids[{i}]")
        if part_id in seen:
            raise InvalidRequest(f"Part '{part_id}' is named more than once.", param=f"part_ids[{i}]")
        seen.add(part_id)
    ordered = [stored[part_id] for part_id in body.part_ids]
    total = sum(part.bytes for part in ordered)
    if total != row.bytes:
        raise _wrong_size(total, row)
    if not await uploads.claim(db, row.id, now):
        fresh = await _upload(request)
        _check_pending(fresh, ctx.now(), "complete")
        raise InvalidRequest(f"Cannot complete upload {row.id}: it is already being completed.", param="upload_id")
    try:
        file = await _join(request, row, ordered, body.md5, now_ms)
    except BaseException:
        await uploads.release(db, row.id, now)
        raise
    await uploads.completed(db, row.id, file.id, now)
    await uploads.drop_parts(ctx.backends, row.id, now)
    done = replace(row, status=uploads.COMPLETED, file_id=file.id)
    return json_response(upload_object(done, now, file))


async def _join(request: Request, row: UploadRow, ordered: list[uploads.PartRow], md5: str | None,
                now_ms: int) -> FileRow:
    """A new file of the parts' bytes, made as ``POST /v1/files`` makes one; a wrong size or ``md5``
    undoes it (checked once every byte went through)."""
    ctx = context(request)
    now = now_ms // 1000
    digest = hashlib.md5(usedforsecurity=False)
    counted = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal counted
        async for chunk in uploads.joined(ctx.backends, ordered):
            digest.update(chunk)
            counted += len(chunk)
            yield chunk

    def final() -> dict[str, Any]:
        if counted != row.bytes:
            raise _wrong_size(counted, row)
        if md5 is not None and md5.lower() != digest.hexdigest():
            raise InvalidRequest("The md5 checksum does not match the uploaded bytes.", param="md5")
        return {}

    file_id = new_sortable_id("file-", now_ms)
    new = FileRow(
        id=file_id,
        owner=row.owner,
        object_key=object_key(files_repo.FILES, file_id),
        filename=row.filename,
        purpose=row.purpose,
        bytes=0,  # set from what R2 stored
        content_type=row.mime_type,
        created_at=now,
        expires_at=expires_at(row.file_expires_after, row.purpose, now),
        status="uploading",
    )
    return await files_repo.create(ctx.backends, new, body(), now, final)


def _wrong_size(size: int, row: UploadRow) -> InvalidRequest:
    return InvalidRequest(f"The number of bytes uploaded ({size}) does not match the upload's bytes ({row.bytes}).",
                          param="bytes")


def _state(row: UploadRow) -> str:
    """The upload's status in words (a completion in progress is "being completed")."""
    return "being completed" if row.status == uploads.COMPLETING else row.status


async def cancel(request: Request) -> Response:
    ctx = context(request)
    row = await _upload(request)
    now = ctx.now()
    if not await uploads.cancel(ctx.backends.db, row.id, now):
        raise InvalidRequest(f"Cannot cancel upload {row.id}: it is already {_state(row)}.", param="upload_id")
    await uploads.drop_parts(ctx.backends, row.id, now)
    done = replace(row, status=uploads.CANCELLED)
    return json_response(upload_object(done, now))
