"""``translate.chat_completion.completion`` builds the ``chat.completion`` object as data: it must be
exactly what the ``types.chat`` models (the object's documented shape) serialize to."""

from __future__ import annotations

from typing import Any

import pytest

from openai_workers_ai.replies import json_bytes
from openai_workers_ai.translate.chat_completion import completion
from openai_workers_ai.types.chat import ChatCompletion, ChatCompletionMessage, FunctionCall, ToolCall
from openai_workers_ai.types.chat import Choice as ChatChoice
from openai_workers_ai.types.common import ChatCompletionTokensDetails, CompletionUsage, PromptTokensDetails
from openai_workers_ai.workers_ai.spec import Choice, Generated, ToolCallPiece, Usage, gather

CALL = ToolCallPiece(0, "call_1", "get_weather", '{"city": "Paris"}')
CHOICES = [
    Choice("Hello!", "", [], "stop", Usage(5, 2)),
    Choice("", "", [CALL, ToolCallPiece(1, "x7", None, "")], "tool_calls", Usage(5, 9)),
    Choice("Said and called", "thought about it", [CALL], "tool_calls", Usage(5, 12, 4)),
    Choice("", "only thinking", [], "length", Usage(5, 64, 64)),
    Choice("naïve 日本語 🙂 \"quoted\"", "", [], "stop", Usage(0, 0)),
]


def modelled(completion_id: str, created: int, model: str, generated: Generated,
             called: str = "tool_calls") -> ChatCompletion:
    """The object built from the models."""
    functions = called == "function_call"
    def message(c: Choice) -> ChatCompletionMessage:
        calls = [ToolCall(id=p.id if (p.id or "").startswith("call_") else f"call_{p.id}",
                          function=FunctionCall(name=p.name or "", arguments=p.arguments or "{}"))
                 for p in c.tool_calls] or None
        content = c.text if (c.text or not calls) else None
        if functions and calls:  # the deprecated functions: the first call, as function_call
            return ChatCompletionMessage(content=content, function_call=calls[0].function,
                                         reasoning_content=c.reasoning or None)
        return ChatCompletionMessage(content=content, tool_calls=calls, reasoning_content=c.reasoning or None)

    def reason(c: Choice) -> Any:
        return called if c.finish_reason == "tool_calls" else c.finish_reason

    u = generated.usage
    usage = CompletionUsage(prompt_tokens=u.prompt_tokens, completion_tokens=u.completion_tokens,
                            total_tokens=u.total_tokens,
                            prompt_tokens_details=PromptTokensDetails(cached_tokens=u.cached_tokens),
                            completion_tokens_details=ChatCompletionTokensDetails(reasoning_tokens=u.reasoning_tokens))
    return ChatCompletion(id=completion_id, created=created, model=model, usage=usage, choices=[
        ChatChoice(index=i, message=message(c), finish_reason=reason(c)) for i, c in enumerate(generated.choices)])


@pytest.mark.parametrize("usage", [Usage(5, 2), Usage(5, 30, 11), Usage(2048, 3, 0, 1024)])
@pytest.mark.parametrize("choices", [[c] for c in CHOICES] + [CHOICES])
def test_the_object_is_what_the_models_serialize(choices: list[Choice], usage: Usage) -> None:
    args = ("chatcmpl-x", 1700000000, "@cf/meta/llama-3.1-8b-instruct", Generated(choices, usage))
    assert json_bytes(completion(*args)) == modelled(*args).model_dump_json().encode()


@pytest.mark.parametrize("choices", [[c] for c in CHOICES] + [CHOICES])
def test_the_object_answering_functions_is_what_the_models_serialize(choices: list[Choice]) -> None:
    args = ("chatcmpl-x", 1700000000, "@cf/meta/llama-3.1-8b-instruct", Generated(choices, Usage(5, 2)))
    assert json_bytes(completion(*args, "function_call")) == modelled(*args, "function_call").model_dump_json().encode()


@pytest.mark.parametrize("choices", [[c] for c in CHOICES] + [CHOICES])
def test_the_object_answering_a_named_choice_is_what_the_models_serialize(choices: list[Choice]) -> None:
    args = ("chatcmpl-x", 1700000000, "@cf/meta/llama-3.1-8b-instruct", Generated(choices, Usage(5, 2)))
    assert json_bytes(completion(*args, "stop")) == modelled(*args, "stop").model_dump_json().encode()


def test_streamed_fragments_gather_into_whole_calls() -> None:
    """One rule for every door (chat, Ollama, Responses, runs): a call opens at its index's first fragment
    (a copy), later fragments extend its arguments and fill in an id or name still missing."""
    calls: dict[int, ToolCallPiece] = {}
    first = ToolCallPiece(0, None, "get_weather", '{"ci')
    assert gather(calls, first) is calls[0] and calls[0] is not first
    assert gather(calls, ToolCallPiece(1, "b", "lookup", "{}")) is calls[1]
    assert gather(calls, ToolCallPiece(0, "a", "other", 'ty": "Paris"}')) is None
    assert calls[0] == ToolCallPiece(0, "a", "get_weather", '{"city": "Paris"}')  # the first name kept
    assert first.arguments == '{"ci' and calls[1].arguments == "{}"
