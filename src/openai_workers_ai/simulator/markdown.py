"""The simulated ``toMarkdown`` (Workers AI's document conversion): what it makes of each document.

- text and Markdown (``text/*`` or a ``.txt``/``.md``/``.csv`` name): the text itself;
- HTML: headings, lists and paragraphs as Markdown (:func:`..runner.html_text.html_to_text`);
- PDF: the text shown by each page's ``Tj``/``TJ`` operators (plain or Flate-compressed content
  streams: what simple generators write), one line per text line;
- DOCX: the paragraphs of ``word/document.xml``;
- images (PNG, JPEG, WebP, GIF): a one-line description naming the file, as Workers AI describes
  images with a vision model;
- anything else: a conversion ``error``, as Workers AI answers for formats it does not take.

A document whose bytes start with ``fail:<status>`` fails the call like Workers AI with that status.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.etree import ElementTree

from ..media_types import image_type
from ..ports import Conversion
from ..runner.html_text import html_to_text
from .failures import failure_for

_TEXT_NAMES = (".txt", ".md", ".markdown", ".csv")


def convert(name: str, data: bytes, content_type: str) -> Conversion:
    """``data`` as Markdown, or why not; raises :class:`SimulatedFailure` for ``fail:<status>``."""
    head = data[:12]
    if head.startswith(b"fail:") and head[5:].strip().isdigit():
        raise failure_for(int(head[5:].strip()))
    lower = name.lower()
    media = content_type.partition(";")[0].strip().lower()
    try:
        if data.startswith(b"%PDF-"):
            return Conversion(name, _pdf_text(data))
        if data.startswith(b"PK\x03\x04") and (lower.endswith(".docx") or "wordprocessingml" in media):
            return Conversion(name, _docx_text(data))
        image = image_type(data[:16])
        if image is not None:
            return Conversion(name, f"The image {name} ({image}): a simulated description.")
        if lower.endswith((".html", ".htm")) or media == "text/html":
            return Conversion(name, html_to_text(data.decode("utf-8")))
        if lower.endswith(_TEXT_NAMES) or media.startswith("text/"):
            return Conversion(name, data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, KeyError, zipfile.BadZipFile, zlib.error, ElementTree.ParseError) as exc:
        return Conversion(name, error=f"Could not convert {name}: {exc}")
    return Conversion(name, error=f"Unsupported file type: {media or 'unknown'}")


_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", re.S)
_TEXT_OPS = re.compile(rb"\((?:\\.|[^\\)])*\)\s*(?:Tj|'|\")|\[(?:\\.|[^\]])*\]\s*TJ|T\*|\bE?T[dD]\b|\bET\b")
_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)")


def _pdf_text(data: bytes) -> str:
    lines: list[str] = []
    for dictionary, body in _STREAM.findall(data):
        if b"/FlateDecode" in dictionary:
            body = zlib.decompress(body)
        elif b"/Filter" in dictionary:
            continue  # images and other encodings carry no text a simple reader can take
        current = ""
        for op in _TEXT_OPS.finditer(body):
            token = op.group(0)
            if token.endswith((b"Tj", b"TJ", b"'", b'"')):
                current += "".join(_pdf_string(s) for s in _STRING.findall(token))
            elif current:
                lines.append(current)
                current = ""
        if current:
            lines.append(current)
    if not lines:
        raise ValueError("the PDF has no text")
    return "\n".join(line.strip() for line in lines if line.strip())


def _pdf_string(literal: bytes) -> str:
    body = literal[1:-1]
    out = bytearray()
    i = 0
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < len(body):
        byte = body[i]
        if byte == 0x5C and i + 1 < len(body):  # backslash
            nxt = body[i + 1]
            octal = re.match(rb"[0-7]{1,3}", body[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            out.append(escapes.get(nxt, nxt))
            i += 2
            continue
        out.append(byte)
        i += 1
    return out.decode("latin-1")


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = ElementTree.fromstring(archive.read("word/document.xml"))
    paragraphs = ["".join(t.text or "" for t in p.iter(f"{_W}t")) for p in root.iter(f"{_W}p")]
    return "\n\n".join(p for p in paragraphs if p.strip())
