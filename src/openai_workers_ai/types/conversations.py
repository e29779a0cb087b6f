"""Conversations: ``CreateConversationBody``, ``UpdateConversationBody``, the items body; the objects as dicts."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from .common import Metadata, Request

MAX_ITEMS = 20
"""Items per create / add request, as at OpenAI."""


class CreateConversationBody(Request):
    UNKNOWN_PARAMETER = True
    metadata: Metadata | None = None
    items: Annotated[list[dict[str, Any]], Field(max_length=MAX_ITEMS)] | None = None
    safety_identifier: str | None = None
    """Accepted (OpenAI's abuse monitoring; nothing here reads it, and the conversation object does not show it)."""


class UpdateConversationBody(Request):
    UNKNOWN_PARAMETER = True
    metadata: Metadata | None
    """Required, and nullable as in OpenAI's spec: ``null`` clears it."""


class CreateItemsBody(Request):
    UNKNOWN_PARAMETER = True
    items: Annotated[list[dict[str, Any]], Field(max_length=MAX_ITEMS)]


def conversation_object(conversation_id: str, created_at: int, metadata: dict[str, str]) -> dict[str, Any]:
    """OpenAI's ``conversation`` object."""
    return {"id": conversation_id, "object": "conversation", "created_at": created_at, "metadata": metadata}
