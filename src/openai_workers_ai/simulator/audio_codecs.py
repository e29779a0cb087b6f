"""Silent audio in the formats Deepgram Aura can return besides MP3/WAV.

Each is a small but structurally valid file a decoder accepts: a FLAC stream
of CONSTANT (silent) subframes with correct CRCs; Ogg Opus with the
``OpusHead``/``OpusTags`` headers and 20 ms silence packets; ADTS AAC-LC with
empty single-channel elements; 8-bit μ-law/A-law in a WAV container.
"""

from __future__ import annotations

import struct


def wav8(samples: bytes, rate: int, encoding: str) -> bytes:
    """μ-law (format 7) or A-law (format 6), 8-bit mono, in a WAV container."""
    tag = 7 if encoding == "mulaw" else 6
    fmt = struct.pack("<HHIIHHH", tag, 1, rate, rate, 1, 8, 0)
    fact = struct.pack("<I", len(samples))
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
            + b"data" + struct.pack("<I", len(samples)) + samples + (b"\0" if len(samples) & 1 else b""))
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- FLAC ----------------------------------------------------------------------------------


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def flac(seconds: float, rate: int = 24000, block: int = 4096) -> bytes:
    """``seconds`` of silence as FLAC (mono, 16-bit)."""
    total = max(1, round(seconds * rate))
    info = struct.pack(">HH", block, block) + bytes(6)  # min/max block size; frame sizes unknown
    packed = (rate << 44) | (0 << 41) | (15 << 36) | total  # rate 20b, channels-1 3b, bps-1 5b, samples 36b
    info += packed.to_bytes(8, "big") + bytes(16)  # MD5 zero: "not computed"
    out = bytearray(b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info)
    for number, start in enumerate(range(0, total, block)):
        size = min(block, total - start)
        # sync + fixed blocking | block size "16-bit at end", rate from STREAMINFO | mono, 16 bps
        header = b"\xff\xf8\x70\x08" + chr(number).encode("utf-8", "surrogatepass") + struct.pack(">H", size - 1)
        header += bytes([_crc8(header)])
        frame = header + b"\x00\x00\x00"  # CONSTANT subframe, value 0
        out += frame + struct.pack(">H", _crc16(frame))
    return bytes(out)


# --- Ogg Opus ------------------------------------------------------------------------------

_OGG_TABLE = []
for _i in range(256):
    _r = _i << 24
    for _ in range(8):
        _r = ((_r << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if _r & 0x80000000 else (_r << 1) & 0xFFFFFFFF
    _OGG_TABLE.append(_r)


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_TABLE[((crc >> 24) ^ byte) & 0xFF]
    return crc


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    segments = bytearray()
    for packet in packets:
        segments += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    head = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, 0x4F574149, sequence, 0)
    page = head + bytes([len(segments)]) + segments + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def ogg_opus(seconds: float) -> bytes:
    """``seconds`` of silence as Ogg Opus."""
    pre_skip, silence = 312, b"\xf8\xff\xfe"  # a 20 ms CELT silence frame
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 24000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 9) + b"simulator" + struct.pack("<I", 0)
    pages = [_ogg_page([head], 0, 0, 0x02), _ogg_page([tags], 0, 1, 0)]
    count = max(1, round(seconds / 0.02))
    for first in range(0, count, 200):
        n = min(200, count - first)
        last = first + n == count
        granule = pre_skip + (first + n) * 960
        pages.append(_ogg_page([silence] * n, granule, len(pages), 0x04 if last else 0))
    return b"".join(pages)


# --- ADTS AAC ------------------------------------------------------------------------------

# One AAC-LC single channel element with no scale factor bands, then END:
# id 000, tag 0000, global_gain 100, ics_info (0, 00, 0, max_sfb 000000, 0), no pulse/tns/gain, END 111.
_AAC_SILENCE = int("000" "0000" "01100100" "0" "00" "0" "000000" "0" "0" "0" "0" "111", 2).to_bytes(4, "big")


def adts_aac(seconds: float, rate_index: int = 6) -> bytes:
    """AAC-LC, 24 kHz (index 6), mono, 1024 samples per frame."""
    length = 7 + len(_AAC_SILENCE)
    header = bytes([
        0xFF, 0xF1,
        (1 << 6) | (rate_index << 2) | 0,
        (1 << 6) | (length >> 11),
        (length >> 3) & 0xFF,
        ((length & 7) << 5) | 0x1F,
        0xFC,
    ])
    return (header + _AAC_SILENCE) * max(1, round(seconds * 24000 / 1024))
