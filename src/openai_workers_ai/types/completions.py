"""Legacy completions: ``CreateCompletionRequest``, ``Completion``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from .common import CompletionUsage, Sampling


class CreateCompletionRequest(Sampling):
    model: str
    prompt: str | Annotated[list[str], Field(min_length=1)] | list[int] | list[list[int]] | None = None
    best_of: Annotated[int, Field(ge=1, le=20)] | None = None
    echo: bool | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    suffix: str | None = None

    def prompts(self) -> list[str]:
        """The prompts given as text (none when they are token arrays: :meth:`token_arrays`)."""
        if self.prompt is None:
            return ["<|endoftext|>"]  # OpenAI's default when no prompt is given
        if isinstance(self.prompt, str):
            return [self.prompt]
        strings = [p for p in self.prompt if isinstance(p, str)]
        return strings if len(strings) == len(self.prompt) else []

    def token_arrays(self) -> list[list[int]]:
        """The prompts given as token ids (``[int]`` is one prompt), or none."""
        if not isinstance(self.prompt, list) or not self.prompt or isinstance(self.prompt[0], str):
            return []
        if isinstance(self.prompt[0], int):
            return [self.prompt]
        return self.prompt


class CompletionChoice(BaseModel):
    text: str
    index: int
    logprobs: Any = None
    finish_reason: Literal["stop", "length", "content_filter"]


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: CompletionUsage
