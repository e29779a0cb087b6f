"""Media types read from a file's first bytes: the one image sniffer the core shares."""

from __future__ import annotations

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""The image formats OpenAI takes as input (and Workers AI vision models read)."""

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def image_type(head: bytes) -> str | None:
    """``image/png`` / ``image/jpeg`` / ``image/gif`` / ``image/webp`` from the file's first
    12 bytes (or more), or None when they are none of these."""
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
