"""What a run's next generation reads: the thread's messages, the run's own steps, replies and file
searches, and the files they name (images as ``data:`` URLs for vision models, attachments' text) →
the ChatSpec."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

from ..catalog import VISION
from ..context import AppContext
from ..media_types import image_type
from ..repositories import files, messages, run_steps
from ..translate import runs as translate
from ..translate.citations import Source
from ..translate.file_search import budget_for
from ..types.runs import Run
from ..types.threads import Message
from ..workers_ai.spec import ChatSpec

MAX_ATTACHED_BYTES = 1024 * 1024
"""The most of an attached file a run reads (its text is cut there; the prompt is trimmed to fit anyway)."""


async def spec_for(ctx: AppContext, run: Run, completion_used: int, prompt_used: int = 0
                   ) -> tuple[ChatSpec, list[Source]]:
    """The spec of the run's next generation (the tokens its earlier ones used counted against its limits),
    and the file_search results its answer may cite (``translate.PromptTooLong`` when it cannot fit)."""
    db = ctx.backends.db
    model = ctx.catalog.resolve(run.model, task="text-generation")
    thread = await messages.context(db, run.thread_id, exclude_run=run.id)
    steps = await run_steps.of_run(db, run.id)
    replies = await messages.get_many(db, [
        s.step_details["message_creation"]["message_id"] for s in steps if s.type == "message_creation"
    ])
    read = await _files(ctx, thread, vision=model.supports(VISION))
    own = translate.run_turns(steps, replies, budget_for(model.context_window))
    return (translate.run_spec(run, model, translate.thread_turns(thread, read, model), own, completion_used,
                               prompt_used),
            own.sources)


async def _files(ctx: AppContext, thread: list[Message], vision: bool) -> translate.Files:
    """The images (for a vision model) and attachments the messages name, read from Files. A file
    deleted since is left out; it was checked to be the caller's when the message was written."""
    image_ids = {p["image_file"]["file_id"] for m in thread for p in m.content if p.get("type") == "image_file"}
    attached_ids = {a["file_id"] for m in thread for a in m.attachments or ()}
    images: dict[str, str] = {}
    attachments: dict[str, translate.AttachedText] = {}
    limit = ctx.settings.max_image_bytes
    for file_id in sorted(image_ids if vision else set()):
        found = await _read(ctx, file_id, limit)
        if found is not None and len(found[1]) <= limit and (media_type := image_type(found[1][:16])):
            images[file_id] = f"data:{media_type};base64,{base64.b64encode(found[1]).decode()}"
    for file_id in sorted(attached_ids):
        found = await _read(ctx, file_id, MAX_ATTACHED_BYTES)
        if found is not None:
            filename, data = found
            try:
                text: str | None = data.decode("utf-8") if b"\x00" not in data else None
            except UnicodeDecodeError as cut:  # a character cut at the read limit is still text
                text = data[: cut.start].decode("utf-8") if len(data) - cut.start < 4 else None
            attachments[file_id] = translate.AttachedText(filename, text)
    return translate.Files(images, attachments)


async def _read(ctx: AppContext, file_id: str, limit: int) -> tuple[str, bytes] | None:
    """A file's name and its first ``limit`` + 1 bytes (one more: whether it is longer), or None."""
    row = await files.get(ctx.backends.db, file_id, None, ctx.now())
    if row is None:
        return None
    stored = await ctx.backends.bucket.get(row.object_key)
    if stored is None or stored.body is None:
        return None
    return row.filename, await _head(stored.body, limit + 1)


async def _head(body: AsyncIterator[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in body:
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    finally:
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()
    return b"".join(parts)[:limit]
