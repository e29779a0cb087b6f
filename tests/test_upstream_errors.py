"""Workers AI error messages -> (status, code): ``adapters/upstream.py``."""

from __future__ import annotations

import pytest

from openai_workers_ai.errors import UpstreamError
from openai_workers_ai.workers_ai.errors import classify, clean_message, upstream_error


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("AiError: 3040: Capacity temporarily exceeded, please try again.", (503, "upstream_overloaded")),
        ("InferenceUpstreamError: 3040: No more data centers to forward the request to", (503, "upstream_overloaded")),
        ("AiError: 5007: No such model @cf/meta/llama-9 or task", (404, "model_not_found")),
        ("3042: The model name is invalid", (404, "model_not_found")),
        ("AiError: 3036: You have used up your daily free allocation of 10,000 neurons.", (429, "insufficient_quota")),
        ("4006: you have used up your daily free allocation of 10,000 neurons", (429, "insufficient_quota")),
        ("AiError: 5006: Error: required properties at '/' are 'prompt'", (400, "invalid_request")),
        ("AiError: 5004: Invalid data type for base64 input: number", (400, "invalid_request")),
        ("3003: Request is missing headers or body: body", (400, "invalid_request")),
        ("5005: The model @cf/x does not support LoRa inference", (400, "unsupported_parameter")),
        ("5016: User has not agreed to Llama3.2 model terms", (403, "model_terms_not_accepted")),
        ("3041: The account is not allowed to access this model", (403, "model_access_denied")),
        ("3006: Request is too large", (413, "payload_too_large")),
        ("AiError: 3007: Request timeout", (504, "upstream_timeout")),
        ("3008: Request was aborted", (504, "upstream_timeout")),
        ("5019: Request trying to use deprecated SDK version", (502, "upstream_error")),
        # no code: the words decide
        ("AiError: AiError: Request timeout (a613c7db-647c)", (504, "upstream_timeout")),
        ("Error: rate limit exceeded for this model", (429, "rate_limit_exceeded")),
        ("Capacity temporarily exceeded", (503, "upstream_overloaded")),
        ("Type mismatch of '/messages/0/content', 'array' not in 'string'", (400, "invalid_request")),
        ("Error: oneOf at '/' not met, 0 matches", (400, "invalid_request")),
        ("InferenceUpstreamError: something broke", (502, "upstream_error")),
        ("", (502, "upstream_error")),
        # a number in the text that isn't the code is not taken for one
        ("model returned 5007 tokens: internal failure", (502, "upstream_error")),
    ],
)
def test_classify(message: str, expected: tuple[int, str]) -> None:
    assert classify(message) == expected



@pytest.mark.parametrize("message", [
    # the binding's words for a prompt past the model's window, as recorded in cloudflare/cloudflare-docs#29731
    "AiError: This model's maximum context length is 131072 tokens. However, you requested 16000 output tokens and "
    "your prompt contains at least 115073 input tokens, for a total of at least 131073 tokens. Please reduce the "
    "length of the input prompt or reduce max_tokens.",
    # /ai/v1/chat/completions' words, as recorded in anomalyco/models.dev#4422
    "Requested token count exceeds the model's maximum context length of 256000 tokens. You requested a total of "
    "256878 tokens: 31216 tokens from the input messages and 225662 tokens for the completion.",
    # the classic models' words, under either code they come with
    "5021: The estimated number of input and maximum output tokens (155740) exceeded this model context window "
    "limit (128000).",
    "3010: AiError: The estimated number of input and maximum output tokens (35000) exceeded this model context "
    "window limit (24000)",
])
@pytest.mark.parametrize("status", [None, 400, 413])
def test_a_prompt_past_the_context_window_is_openais_context_length_exceeded(message: str,
                                                                             status: int | None) -> None:
    """OpenAI answers a prompt its model cannot hold with a 400 ``context_length_exceeded`` ("This model's maximum
    context length is … tokens. However, your messages resulted in … tokens.", ``invalid_request_error``: quoted
    in ChatGPTNextWeb/NextChat#2358 and AsyncFuncAI/deepwiki-open#144), which clients read to trim their history;
    from the binding (no status) it was a 502, over REST a 413 or a plain 400."""
    assert classify(message, status) == (400, "context_length_exceeded")
    error = upstream_error(message, status)
    assert (error.status, error.type, error.code) == (400, "invalid_request_error", "context_length_exceeded")

def test_http_status_is_the_fallback() -> None:
    assert classify("Oops", 429) == (429, "rate_limit_exceeded")
    assert classify("Oops", 400) == (400, "invalid_request")
    assert classify("Oops", 500) == (502, "upstream_error")
    # the message's code wins over the status
    assert classify("3040: Capacity temporarily exceeded", 500) == (503, "upstream_overloaded")


def test_clean_message_strips_wrappers() -> None:
    assert clean_message("AiError: AiError: 3040: Busy") == "3040: Busy"
    assert clean_message("InferenceUpstreamError: Error: x") == "x"


def test_upstream_error_shapes() -> None:
    err = upstream_error("AiError: 3036: daily free allocation used up")
    assert isinstance(err, UpstreamError)
    assert (err.status, err.type, err.code) == (429, "requests", "insufficient_quota")
    assert err.message == "Workers AI: 3036: daily free allocation used up"
    bad = upstream_error("AiError: 5006: Error: required properties at '/' are 'prompt'")
    assert (bad.status, bad.type) == (400, "invalid_request_error")
    assert upstream_error("").message == "Workers AI: Workers AI failed without a message."
