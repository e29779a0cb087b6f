"""Moderations: ``CreateModerationRequest``; and ``ModerationParam``, the ``moderation`` of a moderated chat
completion or response."""

from __future__ import annotations

from typing import Any, Literal

from .common import Lenient, Request


class CreateModerationRequest(Request):
    input: Any
    """A string, a list of strings, or a list of multimodal parts; checked by the route."""
    model: str | None = None


class ModerationConfig(Lenient):
    mode: Literal["score", "block"]


class ModerationPolicy(Lenient):
    input: ModerationConfig | None = None
    output: ModerationConfig | None = None


class ModerationParam(Lenient):
    """``moderation``: a moderated chat completion or response (its ``model`` required, as OpenAI's
    ``ModerationParam`` has it)."""

    model: str
    policy: ModerationPolicy | None = None
