"""A stored file's bytes → the text to index, or why not.

Plain text, Markdown, JSON, CSV and source code are read as UTF-8 directly; HTML has its markup
dropped here (:mod:`.html_text`); PDFs, Office and OpenDocument files and images go through Workers
AI's Markdown conversion (``env.AI.toMarkdown()``, :class:`~..ports.AIMarkdown`). Anything else is
``unsupported_file``; bytes that are not what their name says are ``invalid_file``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from ..media_types import image_type
from ..ports import AI, Conversion
from .html_text import html_to_text

MAX_BYTES = 16 * 1024 * 1024
"""The largest file ingested (a Worker has 128 MB of memory for the bytes, the text and its chunks)."""

TEXT = frozenset(
    ".txt .md .markdown .rst .json .jsonl .csv .tsv .log .ini .toml .yaml .yml .tex .sql .css .sh .bash "
    ".py .js .mjs .ts .tsx .jsx .c .h .cc .cpp .hpp .cs .java .go .rb .php .rs .swift .kt .scala .lua .r".split()
)
HTML = frozenset({".html", ".htm"})
CONVERTED = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".xlsm": "application/vnd.ms-excel.sheet.macroenabled.12",
    ".xlsb": "application/vnd.ms-excel.sheet.binary.macroenabled.12",
    ".xls": "application/vnd.ms-excel",
    ".et": "application/vnd.ms-excel",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".numbers": "application/vnd.apple.numbers",
    ".xml": "application/xml",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


class Unreadable(Exception):
    """The file cannot be indexed: ``code`` is the vector store file's ``last_error.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def kind(filename: str, content_type: str) -> str:
    """How a file is read: ``text``, ``html``, ``convert``, or ``unsupported``."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix in TEXT:
        return "text"
    if suffix in HTML:
        return "html"
    if suffix in CONVERTED:
        return "convert"
    media = content_type.partition(";")[0].strip().lower()
    if media == "text/html":
        return "html"
    if media.startswith("text/") or media in ("application/json", "application/x-ndjson", "application/jsonl"):
        return "text"
    if media in CONVERTED.values() or media.startswith("image/"):
        return "convert"
    return "unsupported"


def decode(data: bytes, filename: str) -> str:
    """UTF-8 text (a BOM dropped); ``invalid_file`` for anything else."""
    if b"\x00" in data[:8192]:
        raise Unreadable("invalid_file", f"{filename} is binary, not text.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable("invalid_file", f"{filename} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def check(filename: str, content_type: str, size: int) -> str:
    """How the file is read (:func:`kind`), once it is known to be readable at all (before its bytes are)."""
    how = kind(filename, content_type)
    if how == "unsupported":
        media = content_type.partition(";")[0] or "unknown"
        raise Unreadable("unsupported_file", f"Files of type {media} ({filename}) cannot be indexed.")
    if size > MAX_BYTES:
        raise Unreadable("invalid_file", f"{filename} is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    return how


async def extract(ai: AI, filename: str, content_type: str, data: bytes) -> str:
    """The text of the file (raises :class:`Unreadable`; a failed Workers AI call as ``UpstreamError``)."""
    how = check(filename, content_type, len(data))
    if how == "text":
        return decode(data, filename)
    if how == "html":
        return html_to_text(decode(data, filename))
    converter: Callable[[str, bytes, str], Awaitable[Conversion]] | None = getattr(ai, "to_markdown", None)
    if converter is None:  # the optional part of the AI port (ports.AIMarkdown)
        raise Unreadable("unsupported_file", f"This deployment cannot convert {filename} to text.")
    suffix = PurePosixPath(filename.lower()).suffix
    media = CONVERTED.get(suffix) or image_type(data[:16]) or content_type or "application/octet-stream"
    converted = await converter(filename, data, media)
    if converted.markdown is None:
        raise Unreadable("invalid_file", f"Workers AI could not convert {filename}: {converted.error}")
    return converted.markdown
