"""Legacy completions: a ``CreateCompletionRequest`` → specs (one per prompt), and ``text_completion`` frames (pure)."""

from __future__ import annotations

from json import dumps

from ..catalog import ModelInfo
from ..errors import InvalidRequest
from ..types.completions import CreateCompletionRequest
from ..workers_ai.spec import ChatSpec, Sampling, Usage
from .chat_completion import usage_of

MAX_PROMPTS = 128
"""Prompts one request may complete: each is one generation (run at most 6 at a time)."""


def prompt_specs(req: CreateCompletionRequest, model: ModelInfo, prompts: list[str]) -> list[ChatSpec]:
    """One spec per prompt (each becomes one choice); ``prompts`` are the request's, as text."""
    if req.n not in (None, 1) or req.best_of not in (None, 1):
        raise InvalidRequest("Only n=1 and best_of=1 are supported.", param="n" if req.n not in (None, 1) else "best_of")
    if req.suffix:
        raise InvalidRequest("suffix is not supported by Workers AI models.", param="suffix")
    if not prompts:
        raise InvalidRequest("Invalid value for 'prompt': expected a string, an array of strings, or token arrays.",
                             param="prompt")
    if len(prompts) > MAX_PROMPTS:
        raise InvalidRequest(
            f"Invalid 'prompt': array too long. Expected an array with maximum length {MAX_PROMPTS}, but got an "
            f"array with length {len(prompts)} instead.", param="prompt")
    sampling = Sampling(
        max_tokens=req.max_tokens, temperature=req.temperature, top_p=req.top_p, seed=req.seed,
        frequency_penalty=req.frequency_penalty, presence_penalty=req.presence_penalty,
    )
    return [ChatSpec(model=model, prompt=prompt, sampling=sampling, stop=tuple(req.stop_sequences)) for prompt in prompts]


class ChunkWriter:
    """Encodes ``text_completion`` SSE frames for one response."""

    __slots__ = ("head", "include_usage")

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self.head = {"id": completion_id, "object": "text_completion", "created": created, "model": model}
        self.include_usage = include_usage

    def text(self, index: int, text: str, finish_reason: str | None = None) -> bytes:
        """A choice's text (and, at its end, its ``finish_reason``)."""
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}
        return self._frame([choice], None)

    def usage(self, usage: Usage) -> bytes:
        """The usage frame (``stream_options.include_usage``): no choices."""
        return self._frame([], usage_of(usage).model_dump())

    def _frame(self, choices: list[dict[str, object]], usage: dict[str, int] | None) -> bytes:
        body: dict[str, object] = {**self.head, "choices": choices}
        if self.include_usage:
            body["usage"] = usage
        return b"data: " + dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
