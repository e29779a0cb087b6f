"""``multipart/form-data`` bodies, parsed as they stream in (python-multipart).

Starlette's ``request.form()`` spools large files to disk through a thread
pool, which Pyodide lacks; this parser keeps parts in memory (each file held
once) and enforces size limits while reading, so an oversized upload is a 413
before it is all received. :class:`FormReader` is the streaming variant: a
file part's bytes can go on (to R2) as they arrive, never held whole.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from .errors import APIError, InvalidRequest, PayloadTooLarge
from .limits import declared_over

MAX_BOUNDARY = 70
"""RFC 2046's longest boundary; every client's is shorter."""
MAX_PARTS = 64
"""Parts one form may have (OpenAI's multipart requests send a handful)."""
MAX_FIELDS_BYTES = 4 << 20
"""The text fields of one form, together."""


@dataclass(slots=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytearray

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True)
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None

    def get_list(self, name: str) -> list[str]:
        """A repeated field, accepting both ``name`` and ``name[]`` (the OpenAI client sends ``name[]``)."""
        return [*self.fields.get(name, []), *self.fields.get(name + "[]", [])]

    def file(self, name: str) -> UploadedFile | None:
        values = self.files.get(name)
        return values[-1] if values else None


@dataclass(slots=True)
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    data: bytearray = field(default_factory=bytearray)


async def parse_form(
    request: Request, *, max_file_bytes: int, max_field_bytes: int = 1 << 20, max_files: int = 1, what: str = "file"
) -> Form:
    """Parse the request's multipart body into memory (each file held once);
    400 if it is not multipart or is malformed, 413 past the limits."""
    reader = FormReader(request, max_file_bytes=max_file_bytes, max_field_bytes=max_field_bytes,
                        max_files=max_files, what=what)
    form = Form()
    while (item := await reader.next()) is not None:
        if isinstance(item, FilePart):
            data = bytearray()
            async for chunk in reader.file_data():
                data += chunk
            form.files.setdefault(item.name, []).append(UploadedFile(item.filename, item.content_type, data))
        else:
            name, value = item
            form.fields.setdefault(name, []).append(value)
    return form


@dataclass(slots=True)
class FilePart:
    """The start of a file part; its bytes follow through :meth:`FormReader.file_data`."""

    name: str
    filename: str
    content_type: str


_Event = (
    tuple[Literal["field"], str, str] | tuple[Literal["file"], FilePart] | tuple[Literal["data"], bytes]
    | tuple[Literal["end"]]
)
"""What the parser reports: a text field (name, value), a file part's start, its bytes, its end."""


class FormReader:
    """Pull-based multipart for uploads stored without being held in memory.

    ``await reader.next()`` returns ``(name, value)`` for a text field, a
    :class:`FilePart` at the start of a file (read its bytes with
    ``reader.file_data()``; calling ``next()`` instead skips them), and None at
    the end. At most one request chunk's worth of parsed data is buffered. Same
    limits and errors as :func:`parse_form` (413 while reading, 400 if malformed).
    """

    def __init__(
        self, request: Request, *, max_file_bytes: int, max_field_bytes: int = 1 << 20, max_files: int = 1,
        what: str = "file",
    ) -> None:
        content_type, params = parse_options_header(request.headers.get("content-type", ""))
        boundary = params.get(b"boundary")
        if content_type != b"multipart/form-data" or not boundary:
            raise InvalidRequest(
                "Invalid Content-Type header: this endpoint expects multipart/form-data with a boundary."
            )
        if len(boundary) > MAX_BOUNDARY:  # python-multipart's parser would raise (past 256) while reading
            raise InvalidRequest(f"Invalid Content-Type header: the multipart boundary is longer than "
                                 f"{MAX_BOUNDARY} characters (RFC 2046).")
        if declared_over(request.headers.get("content-length"), max_file_bytes * max_files + MAX_FIELDS_BYTES):
            raise PayloadTooLarge(f"The {what} is larger than the limit of {max_file_bytes} bytes.")
        self._request, self._boundary = request, boundary
        self._limits = (max_file_bytes, max_field_bytes, max_files, what)
        self._events = self._parse()

    async def next(self) -> tuple[str, str] | FilePart | None:
        async for event in self._events:
            if event[0] == "field":
                return event[1], event[2]
            if event[0] == "file":
                return event[1]
            # "data" / "end" of a file part the caller did not read: skipped
        return None

    async def file_data(self) -> AsyncIterator[bytes]:
        """The current file part's bytes, up to its end (400 if the body stops before it)."""
        async for event in self._events:
            if event[0] == "end":
                return
            if event[0] == "data":
                yield event[1]
        # python-multipart's finalize() does not check that the body was complete
        raise InvalidRequest("Could not parse the multipart body: it ends in the middle of a file.")

    async def _parse(self) -> AsyncIterator[_Event]:
        max_file_bytes, max_field_bytes, max_files, what = self._limits
        events: deque[_Event] = deque()
        header_name = b""
        headers: dict[bytes, bytes] = {}
        part = _Part()
        size = parts = files_total = fields_total = 0

        def on_part_begin() -> None:
            nonlocal part, size, parts
            part, size = _Part(), 0
            headers.clear()
            parts += 1
            if parts > MAX_PARTS:
                raise InvalidRequest(f"The form has more than {MAX_PARTS} parts.")

        def on_header_field(data: bytes, start: int, end: int) -> None:
            nonlocal header_name
            header_name += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            headers[header_name.lower()] = headers.get(header_name.lower(), b"") + data[start:end]

        def on_header_end() -> None:
            nonlocal header_name
            header_name = b""

        def on_headers_finished() -> None:
            _, disposition = parse_options_header(headers.get(b"content-disposition", b""))
            part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
            if not part.name:  # raised through _feed as a 400
                raise ValueError("a part has no name (Content-Disposition: form-data; name=\"…\").")
            filename = disposition.get(b"filename")
            part.filename = filename.decode("utf-8", "replace") if filename is not None else None
            if b"content-type" in headers:
                part.content_type = headers[b"content-type"].decode("latin-1").strip()
            if part.filename is not None:
                events.append(("file", FilePart(part.name, part.filename, part.content_type)))

        def on_part_data(data: bytes, start: int, end: int) -> None:
            nonlocal size, files_total, fields_total
            size += end - start
            limit = max_file_bytes if part.filename is not None else max_field_bytes
            if size > limit:
                noun = what if part.filename is not None else f"form field '{part.name}'"
                raise PayloadTooLarge(f"The {noun} is larger than the limit of {limit} bytes.")
            if part.filename is not None:
                files_total += end - start
                if files_total > max_file_bytes * max_files:
                    raise PayloadTooLarge(f"The form's files are larger than the limit of "
                                          f"{max_file_bytes * max_files} bytes together.")
            else:
                fields_total += end - start
                if fields_total > MAX_FIELDS_BYTES:
                    raise PayloadTooLarge(f"The form's fields are larger than the limit of "
                                          f"{MAX_FIELDS_BYTES} bytes together.")
            if part.filename is None:
                part.data += data[start:end]
            elif end > start:
                events.append(("data", bytes(data[start:end])))

        def on_part_end() -> None:
            if part.filename is None:
                events.append(("field", part.name, part.data.decode("utf-8", "replace")))
            else:
                events.append(("end",))

        parser = MultipartParser(self._boundary, {
            "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
            "on_header_field": on_header_field, "on_header_value": on_header_value,
            "on_header_end": on_header_end, "on_headers_finished": on_headers_finished,
        })
        async for chunk in self._request.stream():
            _feed(parser, chunk)
            while events:
                yield events.popleft()
        _feed(parser, None)
        while events:
            yield events.popleft()


def _feed(parser: MultipartParser, chunk: bytes | None) -> None:
    """Write a chunk (None: finalize); python-multipart's parse errors become a 400."""
    try:
        if chunk is None:
            parser.finalize()
        else:
            parser.write(chunk)
    except APIError:  # the limits' 413s and 400s, worded already
        raise
    except Exception as exc:
        raise InvalidRequest(f"Could not parse the multipart body: {exc}") from None
