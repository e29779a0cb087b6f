"""OpenAI's request rules, table-driven: each row breaks one rule — a keyword of OpenAI's spec, a
rule its field descriptions state (``tests/spec/rules.py`` ``DOCUMENTED``) or a cross-field rule
(``spec_rules.CROSS_FIELD``) — and says where the rule comes from. The rules module must be what the
spec derives, unknown models are a 404 before any field is looked at, and fields OpenAI ignores are
ignored."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from openai_workers_ai import spec_rules

from .spec import rules as derivation

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
BASES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/completions": {"model": LLAMA, "prompt": "hi"},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "hi"},
    "/v1/audio/speech": {"model": "tts-1", "input": "hi", "voice": "alloy"},
    "/v1/images/generations": {"model": "dall-e-2", "prompt": "a cat"},
    "/v1/moderations": {"input": "hi"},
}
CHAT, COMPLETIONS, EMBEDDINGS, SPEECH, IMAGES, MODERATIONS = BASES
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}
USER = {"role": "user", "content": "hi"}

# (endpoint, fields over the base body, the param at fault, OpenAI's code, where the rule comes from)
ROWS: list[tuple[str, dict[str, Any], str, str | None, str]] = [
    # -- ranges (spec: minimum / maximum)
    (CHAT, {"temperature": 2.5}, "temperature", "decimal_above_max_value", "ModelResponseProperties.temperature maximum 2"),
    (CHAT, {"top_p": -0.1}, "top_p", "decimal_below_min_value", "ModelResponseProperties.top_p minimum 0"),
    (CHAT, {"n": 0}, "n", "integer_below_min_value", "CreateChatCompletionRequest.n minimum 1"),
    (CHAT, {"n": 129}, "n", "integer_above_max_value", "CreateChatCompletionRequest.n maximum 128"),
    (CHAT, {"frequency_penalty": 2.5}, "frequency_penalty", "decimal_above_max_value",
     "CreateChatCompletionRequest.frequency_penalty maximum 2"),
    (CHAT, {"presence_penalty": -3}, "presence_penalty", "integer_below_min_value",
     "CreateChatCompletionRequest.presence_penalty minimum -2"),
    (CHAT, {"logprobs": True, "top_logprobs": 21}, "top_logprobs", "integer_above_max_value",
     "CreateChatCompletionRequest.top_logprobs maximum 20"),
    (COMPLETIONS, {"logprobs": 6}, "logprobs", "integer_above_max_value", "CreateCompletionRequest.logprobs maximum 5"),
    (COMPLETIONS, {"best_of": 21}, "best_of", "integer_above_max_value", "CreateCompletionRequest.best_of maximum 20"),
    (COMPLETIONS, {"max_tokens": -1}, "max_tokens", "integer_below_min_value",
     "CreateCompletionRequest.max_tokens minimum 0"),
    (EMBEDDINGS, {"dimensions": 0}, "dimensions", "integer_below_min_value",
     "CreateEmbeddingRequest.dimensions minimum 1"),
    (SPEECH, {"speed": 4.5}, "speed", "decimal_above_max_value", "CreateSpeechRequest.speed maximum 4"),
    (SPEECH, {"speed": 0.1}, "speed", "decimal_below_min_value", "CreateSpeechRequest.speed minimum 0.25"),
    (IMAGES, {"n": 11}, "n", "integer_above_max_value", "CreateImageRequest.n maximum 10"),
    # -- documented ranges (field descriptions)
    (CHAT, {"logit_bias": {"50256": 101}}, "logit_bias.50256", "integer_above_max_value",
     "logit_bias: 'an associated bias value from -100 to 100'"),
    (COMPLETIONS, {"logit_bias": {"50256": -101}}, "logit_bias.50256", "integer_below_min_value",
     "logit_bias: 'an associated bias value from -100 to 100'"),
    # -- types (spec: type)
    (CHAT, {"logit_bias": {"50256": 1.5}}, "logit_bias.50256", "invalid_type",
     "CreateChatCompletionRequest.logit_bias additionalProperties integer"),
    (CHAT, {"temperature": "1"}, "temperature", "invalid_type", "ModelResponseProperties.temperature type number"),
    (CHAT, {"stop": 5}, "stop", "invalid_type", "StopConfiguration: a string or an array of strings"),
    # -- enums (spec: enum)
    (CHAT, {"messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role", "invalid_value",
     "ChatCompletionRequestMessage: one of the six roles (discriminator role)"),
    (CHAT, {"messages": [{"role": "user", "content": [{"type": "video"}]}]}, "messages[0].content[0].type",
     "invalid_value", "ChatCompletionRequestUserMessageContentPart: text, image_url, input_audio, file"),
    (CHAT, {"reasoning_effort": "extreme"}, "reasoning_effort", "invalid_value", "ReasoningEffort enum"),
    (CHAT, {"verbosity": "loud"}, "verbosity", "invalid_value", "Verbosity enum"),
    (CHAT, {"service_tier": "gold"}, "service_tier", "invalid_value", "ServiceTier enum"),
    (CHAT, {"prompt_cache_retention": "forever"}, "prompt_cache_retention", "invalid_value",
     "ModelResponseProperties.prompt_cache_retention enum"),
    (CHAT, {"modalities": ["video"]}, "modalities[0]", "invalid_value", "ResponseModalities items enum"),
    (CHAT, {"audio": {"voice": "alloy", "format": "ogg"}}, "audio.format", "invalid_value",
     "CreateChatCompletionRequest.audio.format enum"),
    (CHAT, {"tools": [TOOL], "tool_choice": "sometimes"}, "tool_choice", "invalid_value",
     "ChatCompletionToolChoiceOption: none, auto, required or an object"),
    (CHAT, {"response_format": {"type": "xml"}}, "response_format.type", "invalid_value",
     "CreateChatCompletionRequest.response_format: text, json_schema, json_object"),
    (EMBEDDINGS, {"encoding_format": "int8"}, "encoding_format", "invalid_value",
     "CreateEmbeddingRequest.encoding_format enum"),
    (SPEECH, {"response_format": "ogg"}, "response_format", "invalid_value", "CreateSpeechRequest.response_format enum"),
    (IMAGES, {"quality": "ultra"}, "quality", "invalid_value", "CreateImageRequest.quality enum"),
    (IMAGES, {"response_format": "png"}, "response_format", "invalid_value", "CreateImageRequest.response_format enum"),
    (MODERATIONS, {"input": [{"type": "video"}]}, "input[0].type", "invalid_value",
     "CreateModerationRequest.input: image_url or text parts"),
    # -- lengths and patterns (spec: minLength / maxLength / pattern, and documented ones)
    (CHAT, {"safety_identifier": "x" * 65}, "safety_identifier", "string_above_max_length",
     "ModelResponseProperties.safety_identifier maxLength 64"),
    (SPEECH, {"input": "x" * 4097}, "input", "string_above_max_length", "CreateSpeechRequest.input maxLength 4096"),
    (SPEECH, {"instructions": "x" * 4097}, "instructions", "string_above_max_length",
     "CreateSpeechRequest.instructions maxLength 4096"),
    (CHAT, {"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name",
     "invalid_value", "FunctionObject.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes'"),
    (CHAT, {"tools": [{"type": "function", "function": {"name": "f" * 65}}]}, "tools[0].function.name",
     "string_above_max_length", "FunctionObject.name: 'with a maximum length of 64'"),
    (CHAT, {"response_format": {"type": "json_schema", "json_schema": {"name": "x" * 65}}},
     "response_format.json_schema.name", "string_above_max_length", "JSONSchema.name: 'a maximum length of 64'"),
    # -- item counts and properties (spec: minItems / maxItems; documented maxProperties)
    (CHAT, {"messages": []}, "messages", "empty_array", "CreateChatCompletionRequest.messages minItems 1"),
    (CHAT, {"messages": [{"role": "user", "content": []}]}, "messages[0].content", "empty_array",
     "ChatCompletionRequestUserMessage.content array minItems 1"),
    (CHAT, {"stop": ["a", "b", "c", "d", "e"]}, "stop", "array_above_max_length", "StopConfiguration maxItems 4"),
    (CHAT, {"stop": []}, "stop", "empty_array", "StopConfiguration minItems 1"),
    (CHAT, {"tools": [TOOL] * 129}, "tools", "array_above_max_length", "tools: 'A max of 128 functions'"),
    (CHAT, {"functions": []}, "functions", "empty_array", "CreateChatCompletionRequest.functions minItems 1"),
    (EMBEDDINGS, {"input": ["x"] * 2049}, "input", "array_above_max_length",
     "CreateEmbeddingRequest.input maxItems 2048"),
    (EMBEDDINGS, {"input": [[1], []]}, "input[1]", "empty_array", "CreateEmbeddingRequest.input token arrays minItems 1"),
    (CHAT, {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties",
     "Metadata: 'Set of 16 key-value pairs'"),
    (CHAT, {"metadata": {"k" * 65: "v"}}, "metadata", "invalid_value", "Metadata: 'Keys … a maximum length of 64'"),
    (CHAT, {"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length",
     "Metadata: 'Values … a maximum length of 512'"),
    # -- required (spec: required)
    (CHAT, {"messages": [USER, {"role": "tool", "content": "x"}]}, "messages[1].tool_call_id",
     "missing_required_parameter", "ChatCompletionRequestToolMessage required tool_call_id"),
    (CHAT, {"messages": [{"role": "system"}]}, "messages[0].content", "missing_required_parameter",
     "ChatCompletionRequestSystemMessage required content"),
    (CHAT, {"response_format": {"type": "json_schema"}}, "response_format.json_schema",
     "missing_required_parameter", "ResponseFormatJsonSchema required json_schema"),
    # -- cross-field rules from field descriptions (spec_rules.CROSS_FIELD)
    (CHAT, {"top_logprobs": 2}, "top_logprobs", "invalid_value",
     "top_logprobs: 'logprobs must be set to true if this parameter is used.'"),
    (CHAT, {"stream_options": {"include_usage": True}}, "stream_options", "invalid_value",
     "stream_options: 'Only set this when you set stream: true.'"),
    (COMPLETIONS, {"stream_options": {"include_usage": True}}, "stream_options", "invalid_value",
     "stream_options: 'Only set this when you set stream: true.'"),
    (CHAT, {"modalities": ["text", "audio"]}, "audio", "missing_required_parameter",
     "audio: 'Required when audio output is requested with modalities: [\"audio\"]'"),
    (CHAT, {"tool_choice": "required"}, "tool_choice", "invalid_value",
     "tool_choice: '`none` is the default when no tools are present'"),
    (CHAT, {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}, USER]},
     "messages[0]", None, "image parts belong to user messages only"),
    (COMPLETIONS, {"best_of": 1, "n": 2}, "best_of", "invalid_value", "best_of: 'best_of must be greater than n'"),
    (EMBEDDINGS, {"model": "text-embedding-ada-002", "dimensions": 768}, "dimensions", None,
     "dimensions: 'Only supported in text-embedding-3 and later models.'"),
    (IMAGES, {"model": "dall-e-3", "n": 2}, "n", "invalid_value", "n: 'For dall-e-3, only n=1 is supported.'"),
    (IMAGES, {"prompt": "x" * 1001}, "prompt", "string_above_max_length",
     "prompt: '1000 characters for dall-e-2'"),
]


@pytest.mark.parametrize(("endpoint", "fields", "param", "code", "source"), ROWS,
                         ids=[f"{e.rsplit('/', 1)[-1]}:{p}:{c}" for e, _, p, c, _ in ROWS])
async def test_rule(client: httpx.AsyncClient, endpoint: str, fields: dict[str, Any], param: str, code: str | None,
                    source: str) -> None:
    r = await client.post(endpoint, json={**BASES[endpoint], **fields})
    assert r.status_code == 400, f"{source}: {r.text[:300]}"
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code), f"{source}: {error}"
    assert error["type"] == "invalid_request_error" and error["message"]


def test_every_cross_field_rule_has_a_row() -> None:
    names = {"CreateChatCompletionRequest": CHAT, "CreateCompletionRequest": COMPLETIONS,
             "CreateEmbeddingRequest": EMBEDDINGS, "CreateImageRequest": IMAGES}
    covered = {(endpoint, param) for endpoint, _, param, _, _ in ROWS}
    for rule in spec_rules.CROSS_FIELD:
        assert (names[rule.schema], rule.param) in covered, rule.says


def test_the_rules_module_is_what_the_spec_derives() -> None:
    assert derivation.TARGET.read_text() == derivation.render(), "run: uv run python -m tests.spec.rules"


def test_documented_rules_are_in_the_derived_rules() -> None:
    text = derivation.TARGET.read_text()
    for schema, _path, rule, why in derivation.DOCUMENTED:
        assert schema in derivation.SCHEMAS and why
        for key, value in rule.items():
            assert f"'{key}': {value!r}" in text, (schema, key)


@pytest.mark.parametrize("endpoint", list(BASES)[:-1])
async def test_an_unknown_model_is_a_404_before_any_field(client: httpx.AsyncClient, endpoint: str) -> None:
    body = {"model": "no-such-model", "temperature": 99, "n": -1, "speed": 99, "input": [], "messages": []}
    r = await client.post(endpoint, json=body)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "model_not_found"


async def test_a_model_of_another_task_is_answered_before_the_fields(client: httpx.AsyncClient) -> None:
    r = await client.post(CHAT, json={"model": "text-embedding-3-small", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


@pytest.mark.parametrize("fields", [
    {"audio": {"voice": "alloy", "format": "wav"}},  # audio without the audio modality: ignored
    {"prediction": {"type": "content", "content": "hi"}},
    {"logit_bias": {"50256": -100}, "top_logprobs": 3, "logprobs": True, "metadata": {"k": "v"}},
    {"stop": "x", "service_tier": "auto", "verbosity": "low", "store": False},
])
async def test_what_openai_takes_is_taken(client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    r = await client.post(CHAT, json={**BASES[CHAT], **fields})
    assert r.status_code == 200, r.text


def test_unions_name_the_deepest_place_that_went_wrong() -> None:
    with pytest.raises(Exception) as info:
        spec_rules.check("CreateCompletionRequest", {"prompt": [[1, 2], []]})
    assert getattr(info.value, "param", None) == "prompt[1]"
    spec_rules.check("NotAnOpenAISchema", {"anything": 1})  # only the derived schemas are checked


SCHEMA_OF = {CHAT: "CreateChatCompletionRequest", COMPLETIONS: "CreateCompletionRequest",
             EMBEDDINGS: "CreateEmbeddingRequest", SPEECH: "CreateSpeechRequest", IMAGES: "CreateImageRequest",
             MODERATIONS: "CreateModerationRequest"}


def test_the_compiled_rules_agree_with_the_rules_walked() -> None:
    """``check`` asks the compiled test whether a body is valid and walks the rules only when it is not:
    the two must agree on every body (one the test takes must break no rule). Bodies: each row's, then
    thousands made by grafting the rows' values (valid and not) at random places of the bases."""
    rng = random.Random(13)
    grafts: list[Any] = [None, True, 0, -1, 1.5, 1e300, "", "x", "x" * 70, [], [1], [""], {}, {"": 1},
                         USER, TOOL, {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "u"}}]
    for _endpoint, fields, _param, _code, _source in ROWS:
        grafts += [json.loads(json.dumps(value)) for value in fields.values()]

    def graft(value: Any, depth: int = 0) -> Any:
        if isinstance(value, dict) and depth < 4 and rng.random() < 0.8:
            key = rng.choice([*value, *rng.choice(ROWS)[1], "type", "role", "content"])
            return {**value, key: graft(value.get(key), depth + 1)}
        if isinstance(value, list) and value and depth < 4 and rng.random() < 0.8:
            i = rng.randrange(len(value))
            return [*value[:i], graft(value[i], depth + 1), *value[i + 1:]]
        return json.loads(json.dumps(rng.choice(grafts)))

    bodies = [(endpoint, {**BASES[endpoint], **fields}) for endpoint, fields, _, _, _ in ROWS]
    bodies += [(endpoint, graft(BASES[endpoint])) for endpoint in BASES for _ in range(3000)]
    invalid = 0
    for endpoint, body in bodies:
        node = spec_rules.SCHEMAS[SCHEMA_OF[endpoint]]
        walked = spec_rules._error(node, body, "")
        assert spec_rules._valid(node)(body) == (walked is None), (endpoint, body, walked)
        invalid += walked is not None
    assert invalid > len(bodies) // 4  # the bodies do break rules, often
