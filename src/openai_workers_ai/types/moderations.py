"""Moderations: ``CreateModerationRequest``."""

from __future__ import annotations

from typing import Any

from .common import Request


class CreateModerationRequest(Request):
    input: Any
    """A string, a list of strings, or a list of multimodal parts; checked by the route."""
    model: str | None = None
