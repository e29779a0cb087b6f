"""Legacy completions ⇄ Workers AI text generation (pure)."""

from __future__ import annotations

from json import dumps

from ..catalog import ModelInfo
from ..errors import InvalidRequest
from ..generation import Generation
from ..types.completions import CreateCompletionRequest
from .chat import openai_sampling


def generations(req: CreateCompletionRequest, model: ModelInfo) -> list[Generation]:
    """One Workers AI call per prompt (each becomes one choice)."""
    if req.n not in (None, 1) or req.best_of not in (None, 1):
        raise InvalidRequest("Only n=1 and best_of=1 are supported.", param="n" if req.n not in (None, 1) else "best_of")
    if req.suffix:
        raise InvalidRequest("suffix is not supported by Workers AI models.", param="suffix")
    prompts = req.prompts()
    if not prompts:
        raise InvalidRequest("Token arrays are not supported as prompt; send text.", param="prompt")
    params = openai_sampling(req, req.max_tokens)
    return [
        Generation(model=model, inputs={"prompt": prompt, **params}, stop=req.stop_sequences,
                   max_tokens=req.max_tokens, prompt_text=prompt)
        for prompt in prompts
    ]


def chunk(completion_id: str, created: int, model: str, index: int, text: str,
          finish_reason: str | None, usage: dict[str, int] | None = None, include_usage: bool = False) -> bytes:
    """One ``text_completion`` SSE frame: a choice's text, or (``usage`` given) the usage frame."""
    body: dict[str, object] = {
        "id": completion_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [] if usage is not None else [
            {"text": text, "index": index, "logprobs": None, "finish_reason": finish_reason}
        ],
    }
    if include_usage:
        body["usage"] = usage
    return b"data: " + dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
