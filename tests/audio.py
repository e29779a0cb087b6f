"""Audio files for tests: WAV made with the ``wave`` module, tagged as the simulator reads them."""

from __future__ import annotations

import io
import math
import struct
import wave


def make_wav(seconds: float = 2.0, *, rate: int = 16000, comment: str | None = None, silent: bool = False) -> bytes:
    """A 16-bit mono WAV (a 440 Hz tone, or silence); ``comment`` goes in a ``LIST/INFO/ICMT``
    chunk (the simulator reads ``lang=xx`` and ``fail=NNN`` there)."""
    frames = round(seconds * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        if silent:
            w.writeframes(bytes(2 * frames))
        else:
            w.writeframes(b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate))) for i in range(frames)
            ))
    data = buffer.getvalue()
    if comment is None:
        return data
    text = comment.encode() + b"\0"
    if len(text) & 1:
        text += b"\0"
    info = b"INFO" + b"ICMT" + struct.pack("<I", len(text)) + text
    chunk = b"LIST" + struct.pack("<I", len(info)) + info
    body = data[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body
