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


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def rgba_png(width: int, height: int, alpha: bytes, filter_type: int = 0, channels: int = 4) -> bytes:
    """An 8-bit RGBA (or grey+alpha with ``channels=2``) PNG whose rows all use ``filter_type``.

    ``alpha`` has one byte per pixel; colour samples are a pattern, so every filter is exercised.
    """
    raw = bytearray()
    prev = bytes(width * channels)
    for y in range(height):
        row = bytearray()
        for x in range(width):
            row += bytes((x * 7 + y * 3 + c * 50) % 256 for c in range(channels - 1))
            row.append(alpha[y * width + x])
        out = bytearray()
        for i, value in enumerate(row):
            left = row[i - channels] if i >= channels else 0
            up = prev[i]
            upleft = prev[i - channels] if i >= channels else 0
            predictor = (0, left, up, (left + up) // 2, _paeth(left, up, upleft))[filter_type]
            out.append((value - predictor) % 256)
        raw += bytes([filter_type]) + out
        prev = bytes(row)
    color = 6 if channels == 4 else 4

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def png_pixels(data: bytes) -> bytes:
    """The samples of an unfiltered (filter 0 on every row) 8-bit PNG, as our encoders write."""
    pos, idat, width, channels = 8, b"", 0, 1
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, channels = struct.unpack(">I", body[:4])[0], {0: 1, 2: 3, 4: 2, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    assert all(raw[i] == 0 for i in range(0, len(raw), stride))
    return b"".join(raw[i + 1 : i + stride] for i in range(0, len(raw), stride))
