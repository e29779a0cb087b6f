"""Audio bytes for the simulator: reading an upload's length, writing valid files.

Reading (what the simulated speech-recognition models "hear"):

- WAV (``RIFF``/``WAVE``): the duration is exact, from the ``fmt `` and ``data``
  chunks. A ``LIST``/``INFO`` chunk's ``ICMT`` comment may carry
  ``key=value`` pairs separated by ``;`` — the simulator's conventions:
  ``lang=fr`` (the spoken language) and ``fail=503`` (fail like Workers AI).
- MP3: estimated from the first frame's bitrate (constant-bitrate assumption).
- Other containers Whisper reads (FLAC, Ogg, WebM, MP4/M4A): estimated at
  128 kbit/s.
- Anything else is not audio (the model fails with 400).

Writing (what the simulated text-to-speech models "say"): silent MPEG-2
Layer III frames (24 kHz mono, 32 kbit/s; 24 ms per 96-byte frame), 16-bit
PCM WAV or raw PCM — all valid, all decodable, all silent.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# MPEG-1 Layer III bitrates (kbit/s) by index, and sample rates by index.
_MP3_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MP3_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
ESTIMATED_BITRATE = 128_000

WORDS_PER_SECOND = 2.5
"""The simulator's speaking rate: how long text-to-speech talks, how many words speech recognition hears."""


@dataclass(frozen=True, slots=True)
class AudioFacts:
    """What the simulator knows about an audio upload."""

    format: str
    duration: float
    exact: bool
    tags: dict[str, str] = field(default_factory=dict)
    silent: bool = False


def inspect(data: bytes | bytearray | memoryview) -> AudioFacts | None:
    """The facts about ``data``, or None when it is not audio Whisper could read."""
    view = memoryview(data)
    head = bytes(view[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wav(view)
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return AudioFacts("mp3", _mp3_duration(view), exact=False)
    if head[:4] in (b"fLaC", b"OggS") or head[:4] == b"\x1a\x45\xdf\xa3" or head[4:8] == b"ftyp":
        kind = {b"fLaC": "flac", b"OggS": "ogg", b"\x1a\x45\xdf\xa3": "webm"}.get(head[:4], "mp4")
        return AudioFacts(kind, round(len(view) * 8 / ESTIMATED_BITRATE, 3), exact=False)
    return None


def _wav(view: memoryview) -> AudioFacts | None:
    pos, fmt, data_size, tags, silent = 12, None, None, {}, True
    while pos + 8 <= len(view):
        chunk_id = bytes(view[pos : pos + 4])
        (size,) = struct.unpack("<I", view[pos + 4 : pos + 8])
        body = view[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt " and len(body) >= 16:  # a cut-short file may end inside it
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif chunk_id == b"data":
            data_size = len(body)  # a truncated file: what is there
            silent = not any(body[: 1 << 16])
        elif chunk_id == b"LIST" and bytes(body[:4]) == b"INFO":
            tags.update(_info_tags(body[4:]))
        pos += 8 + size + (size & 1)
    if fmt is None or data_size is None:
        return None
    _, channels, rate, byte_rate, _, _ = fmt
    if not channels or not rate or not byte_rate:
        return None
    return AudioFacts("wav", round(data_size / byte_rate, 3), exact=True, tags=tags, silent=silent)


def _info_tags(body: memoryview) -> dict[str, str]:
    tags: dict[str, str] = {}
    pos = 0
    while pos + 8 <= len(body):
        tag = bytes(body[pos : pos + 4])
        (size,) = struct.unpack("<I", body[pos + 4 : pos + 8])
        if tag == b"ICMT":
            text = bytes(body[pos + 8 : pos + 8 + size]).rstrip(b"\0").decode("utf-8", "replace")
            for item in text.split(";"):
                key, sep, value = item.partition("=")
                if sep:
                    tags[key.strip().lower()] = value.strip()
        pos += 8 + size + (size & 1)
    return tags


def _mp3_duration(view: memoryview) -> float:
    pos = 0
    if bytes(view[:3]) == b"ID3" and len(view) >= 10:
        size = view[6] << 21 | view[7] << 14 | view[8] << 7 | view[9]
        pos = 10 + size
    bitrate = ESTIMATED_BITRATE
    if pos + 4 <= len(view) and view[pos] == 0xFF and view[pos + 1] & 0xE0 == 0xE0:
        version_bits, index = (view[pos + 1] >> 3) & 3, view[pos + 2] >> 4
        table = _MP3_BITRATES_V1 if version_bits == 3 else _MP3_BITRATES_V2
        if 0 < index < 15 and table[index]:
            bitrate = table[index] * 1000
    return round((len(view) - pos) * 8 / bitrate, 3)


# --- writing ------------------------------------------------------------------------------

# MPEG-2 Layer III, no CRC | 32 kbit/s, 24 kHz, no padding | mono. 72 * 32000 / 24000 = 96 bytes.
_MP3_FRAME = b"\xff\xf3\x44\xc0" + bytes(92)
MP3_FRAME_SECONDS = 576 / 24000


def silent_mp3(seconds: float) -> bytes:
    """Valid silent MP3 of (about) ``seconds``: whole 24 ms frames, at least one."""
    return _MP3_FRAME * max(1, round(seconds / MP3_FRAME_SECONDS))


def pcm16(seconds: float, rate: int = 24000) -> bytes:
    """Silent 16-bit little-endian mono PCM."""
    return bytes(2 * max(1, round(seconds * rate)))


def wav(seconds: float, rate: int = 24000, *, samples: bytes | None = None) -> bytes:
    """A 16-bit mono PCM WAV file (silent unless ``samples`` is given)."""
    data = pcm16(seconds, rate) if samples is None else samples
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", len(data)) + data
    )
