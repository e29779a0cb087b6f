"""Threads and their messages: ``CreateThreadRequest``, ``CreateMessageRequest``, ``Thread``, ``Message``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from .assistants import ToolResources
from .common import MAX_CONTENT_PARTS, Lenient, Metadata, Request


class TextContent(Lenient):
    type: Literal["text"]
    text: str


class ImageFile(Lenient):
    file_id: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageFileContent(Lenient):
    type: Literal["image_file"]
    image_file: ImageFile


class ImageURL(Lenient):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageURLContent(Lenient):
    type: Literal["image_url"]
    image_url: ImageURL


MessageContentPart = Annotated[TextContent | ImageFileContent | ImageURLContent, Field(discriminator="type")]


class AttachmentTool(Lenient):
    type: Literal["code_interpreter", "file_search"]


class Attachment(Lenient):
    file_id: str
    tools: list[AttachmentTool] = []


class CreateMessageRequest(Request):
    role: Literal["user", "assistant"]
    content: str | Annotated[list[MessageContentPart], Field(min_length=1, max_length=MAX_CONTENT_PARTS)]
    attachments: list[Attachment] | None = None
    metadata: Metadata | None = None


MAX_THREAD_MESSAGES = 32
"""Messages a thread may be created with (OpenAI's limit), and a run's ``additional_messages``."""


class CreateThreadRequest(Request):
    messages: Annotated[list[CreateMessageRequest], Field(max_length=MAX_THREAD_MESSAGES)] | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None


class ModifyThreadRequest(Request):
    tool_resources: ToolResources | None = None
    metadata: Metadata | None = None


class ModifyMessageRequest(Request):
    metadata: Metadata | None = None


# ---- responses ------------------------------------------------------------


class Thread(BaseModel):
    id: str
    object: Literal["thread"] = "thread"
    created_at: int
    metadata: dict[str, str]
    tool_resources: dict[str, Any] | None


MessageStatus = Literal["in_progress", "incomplete", "completed"]


class Message(BaseModel):
    """A thread's message (``thread.message``); ``content`` holds the API's content objects."""

    id: str
    object: Literal["thread.message"] = "thread.message"
    created_at: int
    assistant_id: str | None = None
    thread_id: str
    run_id: str | None = None
    status: MessageStatus
    incomplete_details: dict[str, str] | None = None
    incomplete_at: int | None = None
    completed_at: int | None = None
    role: Literal["user", "assistant"]
    content: list[dict[str, Any]]
    attachments: list[dict[str, Any]] | None = None
    metadata: dict[str, str]

    def text(self) -> str:
        """The message's text parts, joined."""
        return "".join(part["text"]["value"] for part in self.content if part.get("type") == "text")


def text_part(value: str) -> dict[str, Any]:
    """A ``text`` content object."""
    return {"type": "text", "text": {"value": value, "annotations": []}}
