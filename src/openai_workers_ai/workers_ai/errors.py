"""What a Workers AI failure means for our clients (runtime-neutral, pure).

Both the binding adapter (``adapters/workers.py``: a JS ``Error`` whose message
looks like ``"AiError: 3040: Capacity temporarily exceeded"``) and the REST
adapter (the Cloudflare API's ``errors[].message`` / ``code``) hand the text
they got to :func:`classify` and raise what :func:`upstream_error` builds.

The internal codes come from Cloudflare's "Workers AI › Platform › Errors"
page (developers.cloudflare.com/workers-ai/platform/errors/), which lists
(name, internal code, HTTP code)::

    5007 No such model (400)         5004 Invalid data (400)
    3039 Finetune missing files (400) 3003 Incomplete request (400)
    5018/3041 Account not allowed for private model (403)
    5016 Model agreement (403)       3023 Account blocked (403)
    5019 Deprecated SDK version (405) 5005 LoRA unsupported (405)
    3042 Invalid model ID (404)      3006 Request too large (413)
    3007 Timeout (408)               3008 Aborted (408)
    3036 Account limited: daily free neurons used up (429)
    3040 Out of capacity (429)

Seen in the wild but not on that page: ``4006`` (the same daily-allocation
message as 3036, from the REST API), ``3046`` (request timed out), ``5006``
(input failed the model's JSON schema, e.g. "required properties at '/' are
'prompt'"), ``3010`` (invalid or incomplete input for the model) and
``3030``/``3043`` (internal server error).

Where we differ from Cloudflare's HTTP code, it is on purpose, to speak the
OpenAI API's language: an unknown model is a 404 ``model_not_found``; being
out of capacity is a 503 (server overloaded, retry), not the client's 429;
a used-up allocation is OpenAI's 429 ``insufficient_quota``; timeouts are 504.
"""

from __future__ import annotations

import re

from ..errors import UpstreamError

# internal code -> (our status, our error code)
CODES: dict[int, tuple[int, str]] = {
    5007: (404, "model_not_found"),
    3042: (404, "model_not_found"),
    5004: (400, "invalid_request"),
    5006: (400, "invalid_request"),
    3003: (400, "invalid_request"),
    3010: (400, "invalid_request"),
    3039: (400, "invalid_request"),
    5005: (400, "unsupported_parameter"),  # LoRA on a model without LoRA support
    5016: (403, "model_terms_not_accepted"),
    5018: (403, "model_access_denied"),
    3041: (403, "model_access_denied"),
    3023: (403, "account_blocked"),
    3006: (413, "payload_too_large"),
    3007: (504, "upstream_timeout"),
    3008: (504, "upstream_timeout"),
    3046: (504, "upstream_timeout"),
    3036: (429, "insufficient_quota"),
    4006: (429, "insufficient_quota"),
    3040: (503, "upstream_overloaded"),
    5019: (502, "upstream_error"),  # our SDK is too old: our fault, not the client's
    3030: (502, "upstream_error"),
    3043: (502, "upstream_error"),
}

DEFAULT: tuple[int, str] = (502, "upstream_error")

# Wrappers the binding and the REST API put around the message, possibly repeated
# ("AiError: AiError: Request timeout (…)").
_PREFIX = re.compile(r"^(?:\s*(?:Ai|InferenceUpstream|Inference|Type|Range)?Error:\s*)+", re.IGNORECASE)
_CODE = re.compile(r"(?<![\w.])([345]\d{3}):\s")

# A prompt past the model's context window, in each wording Workers AI has for it, whatever code or status it
# comes with (5021, 3010, a 413 or 400): OpenAI's 400 ``context_length_exceeded``, which clients read to trim their
# history. The binding's (vLLM's) words are quoted in cloudflare/cloudflare-docs#29731, /ai/v1's in
# anomalyco/models.dev#4422; OpenAI's answer in ChatGPTNextWeb/NextChat#2358 and AsyncFuncAI/deepwiki-open#144.
_CONTEXT = re.compile(r"maximum context length|context window limit", re.I)
CONTEXT_LENGTH_EXCEEDED: tuple[int, str] = (400, "context_length_exceeded")

# When there is no (known) numeric code, the words decide. Order matters.
_PATTERNS: tuple[tuple[re.Pattern[str], tuple[int, str]], ...] = (
    (re.compile(r"no such model|model not found|invalid model|unknown model", re.I), (404, "model_not_found")),
    (re.compile(r"free allocation|neurons|quota", re.I), (429, "insufficient_quota")),
    (re.compile(r"rate.?limit|too many requests", re.I), (429, "rate_limit_exceeded")),
    (re.compile(r"capacity|overloaded|no more data centers", re.I), (503, "upstream_overloaded")),
    (re.compile(r"time(?:d)?\s?out|aborted", re.I), (504, "upstream_timeout")),
    (re.compile(r"too large|too long|payload", re.I), (413, "payload_too_large")),
    (
        re.compile(
            r"required propert|must (?:be|have|not|NOT)|oneOf|anyOf|invalid (?:input|data|value|type|argument)"
            r"|type mismatch|validation|does not support|additional properties|missing",
            re.I,
        ),
        (400, "invalid_request"),
    ),
)


def clean_message(message: str) -> str:
    """The upstream message without its ``AiError: `` / ``Error: `` wrappers."""
    return _PREFIX.sub("", message or "").strip()


def classify(message: str, status: int | None = None) -> tuple[int, str]:
    """Map a Workers AI error message (and the HTTP status it came with, if
    any, as from the REST API) to the (HTTP status, error code) we answer with."""
    text = clean_message(message)
    if _CONTEXT.search(text):
        return CONTEXT_LENGTH_EXCEEDED
    match = _CODE.search(text)
    if match and int(match.group(1)) in CODES:
        return CODES[int(match.group(1))]
    for pattern, result in _PATTERNS:
        if pattern.search(text):
            return result
    if status == 429:
        return 429, "rate_limit_exceeded"
    if status in (400, 422):
        return 400, "invalid_request"
    if status == 404:
        return 404, "model_not_found"
    if status == 413:
        return 413, "payload_too_large"
    if status in (408, 504):
        return 504, "upstream_timeout"
    if status == 503:
        return 503, "upstream_overloaded"
    return DEFAULT


def upstream_error(message: str, status: int | None = None) -> UpstreamError:
    """The :class:`UpstreamError` to raise for a Workers AI failure."""
    code_status, code = classify(message, status)
    text = clean_message(message) or "Workers AI failed without a message."
    return UpstreamError(f"Workers AI: {text}", status=code_status, code=code)
