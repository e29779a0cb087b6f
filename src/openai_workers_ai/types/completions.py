"""Legacy completions: ``CreateCompletionRequest``, ``Completion``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, Strict

from .common import CompletionUsage, Sampling

DEFAULT_PROMPT = "<|endoftext|>"
"""OpenAI's ``prompt`` when none is given ("if a prompt is not specified the model will generate as if from the
beginning of a new document"); what the model is sent for an empty prompt too (Workers AI refuses ``""``)."""


class CreateCompletionRequest(Sampling):
    model: str
    prompt: str | Annotated[list[str], Field(min_length=1)] | list[int] | list[list[int]] | None = None
    # OpenAI's spec: max_tokens minimum 0 (chat's is 1); 0 generates nothing (the echoed prompt, with `echo`).
    max_tokens: Annotated[int, Strict(), Field(ge=0)] | None = None
    best_of: Annotated[int, Field(ge=1, le=20)] | None = None
    echo: bool | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    suffix: str | None = None

    def prompts(self) -> list[str]:
        """The prompts given as text (none when they are token arrays: :meth:`token_arrays`)."""
        if self.prompt is None:
            return [DEFAULT_PROMPT]
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
