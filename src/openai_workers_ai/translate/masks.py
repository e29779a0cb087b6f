"""OpenAI edit masks → Stable Diffusion inpainting masks (pure Python, zlib only).

OpenAI: the mask is a PNG the size of the image whose fully transparent pixels
(alpha 0) mark where to edit. Stable Diffusion inpainting (Workers AI): a
black-and-white image, white where to repaint. :func:`inpainting_mask` reads
the mask's alpha channel and writes that greyscale PNG.

Only the alpha channel is decoded: PNG filters predict each byte from the same
channel of the pixel to the left and the row above, so the alpha bytes can be
unfiltered on their own (a quarter of the work for RGBA). None/Sub/Up rows
are unfiltered with C-level ``map``/``accumulate``; Average/Paeth rows need a
Python loop (≈0.3 s for a 1024² mask).
"""

from __future__ import annotations

import struct
import zlib
from itertools import accumulate

from ..errors import InvalidRequest
from .images import sniff

_LOW = (255).__and__
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type → samples per pixel
MAX_EDGE = 4096
"""Widest / tallest mask decoded: a few KB of PNG can claim gigabytes of pixels."""


def _invalid(why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid mask: {why}", param="mask", code="invalid_image_format")


def _chunks(data: bytes) -> tuple[bytes, bytes]:
    header, idat, pos = b"", bytearray(), 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    return header, bytes(idat)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(kind: int, row: bytes, prev: bytes) -> bytes:
    """One channel of one row (consecutive samples of that channel, i.e. ``bpp`` = 1)."""
    if kind == 0:
        return row
    if kind == 1:
        return bytes(map(_LOW, accumulate(row)))
    if kind == 2:
        return bytes(map(_LOW, map(int.__add__, row, prev)))
    out = bytearray(len(row))
    left = upleft = 0
    for i, (x, up) in enumerate(zip(row, prev, strict=True)):
        value = (x + ((left + up) >> 1 if kind == 3 else _paeth(left, up, upleft))) & 255
        out[i], left, upleft = value, value, up
    return bytes(out)


def alpha_channel(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, alpha rows) of an 8-bit PNG with an alpha channel (RGBA or grey+alpha)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _invalid("the mask must be a PNG file with transparency.")
    header, idat = _chunks(data)
    if len(header) != 13:
        raise _invalid("the PNG has no valid header.")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if color not in (4, 6):
        mode = {0: "L", 2: "RGB", 3: "P"}.get(color, str(color))
        raise _invalid(f"format must be in ['RGBA', 'LA'] (transparent pixels mark the area to edit), got {mode}.")
    if depth != 8 or interlace:
        raise _invalid("only 8-bit, non-interlaced PNG masks are supported.")
    if not (0 < width <= MAX_EDGE and 0 < height <= MAX_EDGE):
        raise _invalid(f"the mask must be from 1x1 to {MAX_EDGE}x{MAX_EDGE} pixels, got {width}x{height}.")
    bpp = CHANNELS[color]
    stride = 1 + width * bpp
    try:
        raw = zlib.decompressobj().decompress(idat, stride * height)  # no more than the rows need
    except zlib.error:
        raise _invalid("the PNG's pixel data is corrupt.") from None
    if len(raw) < stride * height:
        raise _invalid("the PNG's pixel data is truncated.")
    rows, prev = [], bytes(width)
    for y in range(height):
        kind = raw[y * stride]
        if kind > 4:
            raise _invalid("the PNG uses an unknown filter.")
        alpha = raw[y * stride + bpp : (y + 1) * stride : bpp]  # the last sample of each pixel
        prev = _unfilter(kind, alpha, prev)
        rows.append(prev)
    return width, height, rows


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def inpainting_mask(mask: bytes, image: bytes) -> bytes:
    """A greyscale PNG, white where ``mask`` is fully transparent; 400 if it can't be one."""
    width, height, rows = alpha_channel(mask)
    found = sniff(image)
    if found is not None and (found.width, found.height) != (width, height):
        raise _invalid(
            f"the mask is {width}x{height} but the image is {found.width}x{found.height}; "
            "they must have the same dimensions."
        )
    to_white = bytes([255] + [0] * 255)  # alpha 0 → 255 (repaint), anything else → 0 (keep)
    pixels = b"".join(b"\x00" + row.translate(to_white) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(pixels, 6)) + _chunk(b"IEND", b"")
    )
