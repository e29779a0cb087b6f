"""Legacy completions: a ``CreateCompletionRequest`` → specs (one per prompt), and the ``text_completion``
object or its SSE frames (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from json import dumps

from ..catalog import ModelInfo
from ..errors import InvalidRequest
from ..types.completions import DEFAULT_PROMPT, Completion, CompletionChoice, CreateCompletionRequest
from ..workers_ai.spec import ChatSpec, Generated, Sampling, Usage
from .chat import MAX_N
from .chat_completion import usage_of

MAX_PROMPTS = 128
"""Prompts one request may complete: each is one generation (run at most 6 at a time)."""
DEFAULT_MAX_TOKENS = 16
"""``max_tokens`` when the request names none: OpenAI's documented default for this endpoint."""


def prompt_specs(req: CreateCompletionRequest, model: ModelInfo, prompts: list[str]) -> list[ChatSpec]:
    """One spec per prompt (each becomes ``n`` choices); ``prompts`` are the request's, as text (token-id prompts
    decoded: ``workers_ai/vocabularies.py`` ``decoded``)."""
    n = req.n or 1
    if n > MAX_N:
        raise InvalidRequest(
            f"Invalid value for 'n': at most {MAX_N} choices per prompt are supported (each is one Workers AI call).",
            param="n")
    if req.best_of not in (None, n):  # (below n: the rules' 400, as OpenAI's)
        raise InvalidRequest("best_of above n is not supported: Workers AI gives no log probabilities to choose "
                             "the best completions by; ask for n completions instead.", param="best_of")
    if req.suffix:
        raise InvalidRequest("suffix is not supported by Workers AI models.", param="suffix")
    if not prompts:
        raise InvalidRequest("Invalid value for 'prompt': expected a string, an array of strings, or token arrays.",
                             param="prompt")
    if len(prompts) > MAX_PROMPTS:
        raise InvalidRequest(
            f"Invalid 'prompt': array too long. Expected an array with maximum length {MAX_PROMPTS}, but got an "
            f"array with length {len(prompts)} instead.", param="prompt")
    if len(prompts) * n > MAX_PROMPTS:
        raise InvalidRequest(f"Too many completions: {len(prompts)} prompts with n={n} make {len(prompts) * n}; at "
                             f"most {MAX_PROMPTS} per request (each is one Workers AI call).", param="n")
    sampling = Sampling(
        max_tokens=DEFAULT_MAX_TOKENS if req.max_tokens is None else req.max_tokens,
        temperature=req.temperature, top_p=req.top_p, seed=req.seed,
        frequency_penalty=req.frequency_penalty, presence_penalty=req.presence_penalty,
    )
    # An empty prompt is a prompt to OpenAI (generation from the start of a document); Workers AI's `prompt`
    # has minLength 1, so the model is sent OpenAI's default, as when no prompt is given.
    return [ChatSpec(model=model, prompt=prompt or DEFAULT_PROMPT, sampling=sampling, stop=tuple(req.stop_sequences),
                     n=n) for prompt in prompts]


def echoed(prompt: str, echo: bool | None) -> str:
    """What a choice starts with: its prompt (as the request gave it), with ``echo``."""
    return prompt if echo else ""


def completion(completion_id: str, created: int, model: str, prompts: Sequence[str], results: Sequence[Generated],
               echo: bool | None) -> Completion:
    """The ``text_completion`` object: ``n`` choices per prompt (prompt *p*'s choice *k* at index ``p * n + k``,
    as OpenAI orders them), and the usage of them all."""
    choices = [
        CompletionChoice(text=echoed(prompt, echo) + choice.text, index=len(r.choices) * p + k,
                         finish_reason=choice.finish_reason)  # type: ignore[arg-type]  # no tools: never "tool_calls"
        for p, (r, prompt) in enumerate(zip(results, prompts, strict=True)) for k, choice in enumerate(r.choices)
    ]
    return Completion(id=completion_id, created=created, model=model, choices=choices,
                      usage=usage_of(sum((r.usage for r in results), Usage(0, 0))))


class ChunkWriter:
    """Encodes ``text_completion`` SSE frames for one response, and counts its usage over the prompts.

    Members in the order OpenAI's chunks have them: ``id, object, created, choices, model`` (and ``usage``, null,
    when the client asked for the usage chunk), the usage chunk ``id, object, created, model, usage, choices``
    (vercel/ai, packages/openai/src/completion/__fixtures__/openai-completion-text.chunks.txt, recorded from
    gpt-3.5-turbo-instruct)."""

    __slots__ = ("head", "include_usage", "model", "used")

    def __init__(self, completion_id: str, created: int, model: str, include_usage: bool) -> None:
        self.head = {"id": completion_id, "object": "text_completion", "created": created}
        self.model = model
        self.include_usage = include_usage
        self.used = Usage(0, 0)

    def text(self, index: int, text: str, finish_reason: str | None = None) -> bytes:
        """A choice's text (and, at its end, its ``finish_reason``)."""
        choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}
        body: dict[str, object] = {**self.head, "choices": [choice], "model": self.model}
        if self.include_usage:
            body["usage"] = None
        return _frame(body)

    def count(self, usage: Usage) -> None:
        """A prompt's generation is done: its usage counts."""
        self.used += usage

    def usage(self) -> bytes:
        """The usage frame of all the prompts (``stream_options.include_usage``): no choices."""
        return _frame({**self.head, "model": self.model, "usage": usage_of(self.used).model_dump(), "choices": []})


def _frame(body: dict[str, object]) -> bytes:
    return b"data: " + dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
