"""Validate response bodies against OpenAI's official OpenAPI schemas.

``tests/spec/openai-openapi.json.gz`` is OpenAI's spec (MIT; ``tests/spec/README.md``),
kept in the repository so that every clone runs these tests.
"""

from __future__ import annotations

import copy
import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parent / "spec" / "openai-openapi.json.gz"


RECORDED_NULLS = {
    "VectorStoreObject": ("expires_after", "name"),
    "CreateChatCompletionResponse": ("system_fingerprint",),
    "CreateChatCompletionStreamResponse": ("system_fingerprint",),
    "ChatCompletionResponseMessage": ("tool_calls", "function_call"),
    "TextResponseFormatJsonSchema": ("description",),
    "RunObject": ("instructions",),
}
"""Fields OpenAI answers with null where its spec has no null, as recordings of its answers show (each
test that relies on one quotes its recording): the spec is widened to take them. A chat completion's and
its chunks' ``system_fingerprint`` (deprecated in the spec) is null in recorded gpt-5 (2026-07) and gpt-5.6
(2026-10) traffic (pydantic/pydantic-ai, tests/models/cassettes/test_openai/test_openai_moderation_stream.yaml,
test_openai_text_verbosity_chat_completions.yaml). A stored chat completion's messages carry ``tool_calls`` and
``function_call`` null when it made no call (openai/openai-dotnet,
tests/SessionRecords/ChatStoreTests/StoredChatCompletionsWork.json: ``GET /v1/chat/completions/{id}``). A vector
store created without a name has ``name`` null (openai/openai-dotnet,
tests/SessionRecords/VectorStoresTests/CanCreateGetAndDeleteVectorStores.json: ``POST /v1/vector_stores`` with
``{}``, 2025-09). A Response's ``text.format`` of type ``json_schema`` sent without a ``description`` echoes it
null (openai/openai-dotnet, tests/SessionRecords/ResponsesTests/StructuredOutputs(%gpt-4o-mini%).json, 2025-09). A
run of an assistant without instructions has ``instructions`` null (openai/openai-dotnet,
tests/SessionRecords/AssistantsTests/BasicRunOperationsWork.json, 2025-10)."""


@cache
def _spec() -> dict[str, Any]:
    spec: dict[str, Any] = _nullable(json.loads(gzip.decompress(SPEC.read_bytes())))
    return spec


@cache
def _as_recorded() -> dict[str, Any]:
    """The spec that replies are checked against: where OpenAI's own traffic contradicts its spec, made to say
    what the traffic shows (a copy: the request rules, ``tests/spec/rules.py``, derive from the spec as it is):
    :data:`RECORDED_NULLS`, and the Response's and the file batch's below.

    A Response's ``user`` and ``usage`` are null when not given / not yet generated: e.g. a ``response.created``
    event recorded 2026-09-17 (gpt-4o-mini, ``"usage":null,"user":null``) and pydantic/pydantic-ai's
    ``tests/models/cassettes/test_openai_responses/test_background_mode_vcr.yaml`` (2026-02, a queued
    response: ``usage: null``, ``user: null``); the spec has neither null."""
    spec = copy.deepcopy(_spec())
    schemas = spec["components"]["schemas"]
    for schema, fields in RECORDED_NULLS.items():
        for field in fields:
            recorded = schemas[schema]["properties"]
            recorded[field] = {"anyOf": [recorded[field], {"type": "null"}]}
    user = schemas["ModelResponseProperties"]["properties"]["user"]
    schemas["ModelResponseProperties"]["properties"]["user"] = {"anyOf": [user, {"type": "null"}]}
    properties = schemas["Response"]["allOf"][2]["properties"]
    properties["usage"] = {"anyOf": [properties["usage"], {"type": "null"}]}
    # a vector store file batch is ``vector_store.file_batch`` in OpenAI's answers (openai/openai-dotnet,
    # tests/SessionRecords/VectorStoresTests/CanUseBatchIngestion.json, 2025-09, and
    # CanTestGetVectorStoreFilesInBatchCollectionOptions.json, 2025-10), as the spec's own description says; its
    # enum says ``vector_store.files_batch``
    schemas["VectorStoreFileBatchObject"]["properties"]["object"]["enum"] = ["vector_store.file_batch"]
    # a run step has ``expires_at`` (its run's; null once the run ended) where the spec has ``expired_at``, and no
    # ``metadata`` (openai/openai-dotnet tests/SessionRecords/AssistantsTests/StreamingRunWorks.json,
    # StreamingToolCall().json, BasicRunStepFunctionalityWorks.json: every step streamed or listed, 2025-09/10)
    step = schemas["RunStepObject"]
    step["properties"]["expires_at"] = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    step["required"] = [name for name in step["required"] if name not in ("expired_at", "metadata")]
    # ``response.function_call_arguments.done`` has no ``name`` in OpenAI's streams (2026-05, gpt-5.4) nor in the
    # official client 3.63's type
    done = schemas["ResponseFunctionCallArgumentsDoneEvent"]
    done["required"] = [name for name in done["required"] if name != "name"]
    return spec


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` (still used in the spec) → JSON Schema's null type."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _validator(schema_name: str):  # noqa: ANN202
    from jsonschema import Draft202012Validator

    spec = _as_recorded()
    schemas = spec["components"]["schemas"]
    if schema_name not in schemas:
        raise KeyError(f"no schema {schema_name!r} in the OpenAPI spec")
    # Resolve "#/components/schemas/X" references against the whole spec document.
    root = {**spec, "$ref": f"#/components/schemas/{schema_name}"}
    return Draft202012Validator(root)


def assert_matches(body: Any, schema_name: str) -> None:
    """Assert ``body`` validates against ``components.schemas[schema_name]``."""
    errors = sorted(_validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, f"{schema_name}: " + "; ".join(
        f"{'/'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:5]
    )
