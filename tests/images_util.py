"""Checks that bytes are a well-formed image (without an imaging library)."""

from __future__ import annotations

import struct
import zlib


def png_size(data: bytes) -> tuple[int, int]:
    """Parse every chunk (CRCs checked), inflate the pixels and check their length."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), data[:8]
    pos, idat, size, channels = 8, b"", (0, 0), 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8
            size, channels = (width, height), {2: 3, 6: 4, 0: 1}[color]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
        if kind == b"IEND":
            break
    assert zlib.decompress(idat) and len(zlib.decompress(idat)) == size[1] * (1 + channels * size[0])
    return size


def jpeg_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\xff\xd8") and data.endswith(b"\xff\xd9")
    pos = 2
    while pos < len(data):
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xC0:
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    raise AssertionError("no SOF0 segment")
