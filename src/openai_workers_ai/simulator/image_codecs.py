"""Tiny pure-Python image encoders for the simulator (PNG via zlib; a flat-grey baseline JPEG).

- :func:`png` writes a valid 8-bit RGB PNG of any size: horizontal bands whose
  colours are derived from a seed, so different prompts/seeds give different images.
- :func:`jpeg` writes a valid baseline (SOF0) greyscale JPEG of any size whose every
  8x8 block is flat mid-grey (DC difference 0, end-of-block): one one-symbol Huffman
  table for DC and one for AC, each code a single ``0`` bit, so the entropy-coded
  data is all zero bytes. Real decoders (libjpeg, browsers) open it; the picture is grey.
"""

from __future__ import annotations

import hashlib
import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, seed: bytes = b"") -> bytes:
    """A ``width`` x ``height`` PNG in bands coloured from ``seed``."""
    palette = hashlib.sha256(seed).digest()
    rows = []
    band = max(1, height // 8)
    for y in range(height):
        i = (y // band) % 10 * 3
        rows.append(b"\x00" + palette[i : i + 3] * width)  # filter byte 0, then RGB pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 1))
        + _chunk(b"IEND", b"")
    )


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(width: int, height: int) -> bytes:
    """A flat grey ``width`` x ``height`` baseline JPEG."""
    blocks = -(-width // 8) * -(-height // 8)
    bits = 2 * blocks  # per block: DC "0" (difference 0) + AC "0" (end of block)
    scan = bytearray(-(-bits // 8))
    if bits % 8:
        scan[-1] = (1 << (8 - bits % 8)) - 1  # pad the last byte with 1 bits
    one_symbol = bytes([1] + [0] * 15) + b"\x00"  # one code of length 1, for symbol 0
    return (
        b"\xff\xd8"
        + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _segment(0xDB, b"\x00" + bytes([1] * 64))
        + _segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + _segment(0xC4, b"\x00" + one_symbol)  # DC table 0
        + _segment(0xC4, b"\x10" + one_symbol)  # AC table 0
        + _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + bytes(scan)
        + b"\xff\xd9"
    )
