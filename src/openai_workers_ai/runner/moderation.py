"""Moderation on Llama Guard 3, for the doors that classify text: the model a request names
(:func:`moderation_model`, ``/v1/moderations`` and moderated completions); moderated chat completions
(``moderation: {model, policy}``): the input classified while the model answers, each choice's output once it
is done, the results beside the answer in OpenAI's shape; and moderated responses (:func:`score_input`,
:func:`response_moderation`: one result each for the response's input items and its output items). In
``runner/``, below the doors, so that the Responses executor may use it too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from ..catalog import ModelInfo
from ..context import AppContext
from ..errors import APIError, InvalidRequest
from ..fanout import gather_bounded
from ..translate import moderations
from ..translate.chat_completion import Assembly
from ..types.chat import CreateChatCompletionRequest
from ..types.moderations import ModerationParam, ModerationPolicy
from ..types.responses import Item
from ..workers_ai.spec import Choice


def moderation_model(ctx: AppContext, name: str, param: str) -> ModelInfo:
    """The moderation model ``name`` (the request's ``param``) names: Llama Guard, else a 400."""
    model = ctx.catalog.resolve(name, task="text-generation", param=param)
    if model.family != "llama-guard":
        raise InvalidRequest(
            f"The model `{name}` is not a moderation model; use omni-moderation-latest (@cf/meta/llama-guard-3-8b).",
            param=param, code="model_not_supported")
    return model


async def cancelling(frames: AsyncIterator[bytes], task: asyncio.Task[Any]) -> AsyncIterator[bytes]:
    """``frames``; ``task`` (the input's moderation) cancelled if they end before it is awaited (a failure,
    or a client that left)."""
    try:
        async for frame in frames:
            yield frame
    finally:
        task.cancel()


def moderator(ctx: AppContext, moderation: ModerationParam | None) -> ModelInfo | None:
    """The moderation model of a moderated completion (``moderation: {model, policy}``), None without one.

    OpenAI's moderated completions score the request's input and the generated output and return the
    results beside the answer ("The model still generates normally"). ``block`` (no source says what a
    block looks like) is refused rather than scored."""
    if moderation is None:
        return None
    policy = moderation.policy or ModerationPolicy()
    for side, config in (("input", policy.input), ("output", policy.output)):
        if config is not None and config.mode == "block":
            raise InvalidRequest(
                f"Unsupported value: 'moderation.policy.{side}.mode' does not support 'block' here; only 'score' "
                "is supported (the results come back in the completion's 'moderation').",
                param=f"moderation.policy.{side}.mode", code="unsupported_value")
    return moderation_model(ctx, moderation.model, "moderation.model")


def classify_input(ctx: AppContext, model: ModelInfo, body: CreateChatCompletionRequest) -> asyncio.Task[Any]:
    """The input's moderation, started now: it runs while the model answers."""
    return asyncio.ensure_future(classify(ctx, model, [input_text(body)]))


async def moderate_stream(ctx: AppContext, model: ModelInfo, checked: asyncio.Task[Any], assembly: Assembly,
                    into: dict[str, Any]) -> dict[str, Any]:
    """A streamed completion's ``moderation``, once its choices are done (also put ``into`` what it stores)."""
    output = await classify(ctx, model, [output_text(c) for c in assembly.generated().choices])
    into.update(input=await checked, output=output)
    return into


def input_text(body: CreateChatCompletionRequest) -> str:
    """What the input's moderation reads: the text of every message, one per line."""
    return "\n".join(text for message in body.messages if (text := message.text()))


def output_text(choice: Choice) -> str:
    """What a choice's moderation reads: its text and its calls' arguments."""
    return "\n".join(text for text in [choice.text, *(c.arguments or "" for c in choice.tool_calls)] if text)


async def classify(ctx: AppContext, model: ModelInfo, texts: list[str]) -> dict[str, Any]:
    """OpenAI's ``ChatCompletionModerationResults`` for ``texts`` (one result each; an empty text is not
    flagged and costs no call), or its ``ChatCompletionModerationError`` when Llama Guard fails: the answer
    stands without its moderation."""
    try:
        results = await gather_bounded([partial(_result, ctx, model, text) for text in texts])
    except APIError as error:
        return _error(error)
    return {"type": "moderation_results", "model": model.id, "results": results}


async def score(ctx: AppContext, model: ModelInfo, text: str) -> dict[str, Any]:
    """A response's side (its input or its output) scored: OpenAI's ``ModerationResultBody`` for ``text``, or
    its ``ModerationErrorBody`` when Llama Guard fails (the response stands without that side's result)."""
    try:
        return await _result(ctx, model, text)
    except APIError as error:
        return _error(error)


async def _result(ctx: AppContext, model: ModelInfo, text: str) -> dict[str, Any]:
    """One ``moderation_result`` for ``text`` (an empty text is not flagged and costs no call)."""
    verdict = moderations.verdict(await ctx.backends.ai.run(model.id, moderations.guard_inputs(text))) \
        if text else (False, [])
    return {"type": "moderation_result", "model": model.id, **moderations.result(*verdict)}


def _error(error: APIError) -> dict[str, Any]:
    return {"type": "error", "code": error.code or "moderation_failed", "message": error.message}


# ---- moderated responses ---------------------------------------------------------------------


TEXT_PARTS = frozenset({"input_text", "output_text", "text", "refusal"})


def score_input(ctx: AppContext, model: ModelInfo, items: list[Item]) -> asyncio.Task[dict[str, Any]]:
    """A response's input (its input ``items``) scored, started now: it runs while the model answers."""
    return asyncio.ensure_future(score(ctx, model, items_text(items)))


async def response_moderation(ctx: AppContext, model: ModelInfo, checked: asyncio.Task[dict[str, Any]],
                              output: list[Item]) -> dict[str, Any]:
    """A moderated response's ``moderation`` (OpenAI's ``Moderation``), once its ``output`` is done: the input's
    result (``checked``: :func:`score_input`'s task) and the output's, each a result or an error."""
    return {"input": await checked, "output": await score(ctx, model, items_text(output))}


def items_text(items: list[Item]) -> str:
    """What a response's moderation reads of its input or output items: their text parts (a message's text
    and refusals; a tool output's), the arguments of function calls, one per line. Images, files, reasoning
    and the gateway's own items (a file search) are not read."""
    texts: list[str] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            texts += _parts_text(item.get("content"))
        elif kind == "function_call":
            texts.append(str(item.get("arguments") or ""))
        elif kind == "function_call_output":
            texts += _parts_text(item.get("output"))
    return "\n".join(text for text in texts if text)


def _parts_text(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [str(part.get("text") or part.get("refusal") or "") for part in content
            if isinstance(part, dict) and part.get("type") in TEXT_PARTS]
