"""The fuzz corpus and its checker (for ``tests/test_fuzz.py``): what each route takes, garbage
to put in it, broken uploads, multipart builders, a seeded generator of requests valid for OpenAI's
request schemas, and :func:`problem`, which says what is wrong with an answer to a bad request.

Everything here is deterministic: the same corpus every run, so a failure replays.
"""

from __future__ import annotations

import json
import random
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx
from pydantic import BaseModel

from openai_workers_ai.routes.images import _Fields as ImageFormFields
from openai_workers_ai.types import (
    assistants,
    audio,
    batches,
    chat,
    completions,
    conversations,
    embeddings,
    images,
    moderations,
    ollama,
    runs,
    threads,
    uploads,
    vector_stores,
)
from openai_workers_ai.types import responses as responses_types

from .audio import make_wav
from .images_util import rgba_png
from .openapi import _spec

SERVER_ERROR = "The server had an error while processing your request."


def is_ollama(path: str) -> bool:
    return path.startswith(("/api/", "/llm/ollama"))


def suffix(template: str) -> str:
    """``/llm/openai/v1/chat/completions`` → ``/chat/completions``; ``/llm/ollama/api/chat`` → ``/api/chat``."""
    for prefix in ("/llm/openai/v1", "/v1", "/llm/ollama"):
        if template.startswith(prefix + "/"):
            return template[len(prefix):]
    return template



# ---- uploads: good and broken PNG / WAV files ------------------------------------------------

PNG = rgba_png(8, 8, bytes([255] * 64))


def png(width: int, height: int, *, depth: int = 8, color: int = 6, interlace: int = 0, idat: bytes | None = None,
        header: bytes | None = None) -> bytes:
    """A PNG built chunk by chunk, so each part can be wrong."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    if header is None:
        header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    if idat is None:
        idat = zlib.compress(bytes((1 + width * 4) * height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def wav(*chunks: tuple[bytes, bytes], riff_size: int | None = None) -> bytes:
    """A RIFF/WAVE file of the given chunks, each ``(id, body)``; a body may lie about its size by being cut."""
    body = b"WAVE" + b"".join(cid + struct.pack("<I", len(data)) + data for cid, data in chunks)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


FMT = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
BAD_WAVS = {
    "fmt cut short": wav((b"fmt ", FMT))[:30], "fmt of 12": wav((b"fmt ", FMT[:12]), (b"data", bytes(3200))),
    "zero rate": wav((b"fmt ", struct.pack("<HHIIHH", 1, 1, 0, 0, 2, 16)), (b"data", bytes(3200))),
    "zero channels": wav((b"fmt ", struct.pack("<HHIIHH", 1, 0, 16000, 32000, 0, 16)), (b"data", bytes(3200))),
    "no data": wav((b"fmt ", FMT)), "no fmt": wav((b"data", bytes(3200))),
    "data first": wav((b"data", bytes(3200)), (b"fmt ", FMT)),
    "data too short": wav((b"fmt ", FMT), (b"data", bytes(2))),
    "data lies": wav((b"fmt ", FMT), (b"data", bytes(3200)))[:-3000],
    "huge chunk": wav((b"fmt ", FMT), (b"junk", b""), (b"data", bytes(3200))).replace(
        b"junk\x00\x00\x00\x00", b"junk\xff\xff\xff\xff"),
    "LIST cut": wav((b"fmt ", FMT), (b"data", bytes(3200)), (b"LIST", b"INFOICMT\xff\xff\x00\x00la")),
    "header only": b"RIFF\x00\x00\x00\x00WAVE", "id3 huge": b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + bytes(10),
    "mp3 frame": b"\xff\xfb\x90\x00" + bytes(100), "ogg": b"OggS" + bytes(40), "ftyp": bytes(4) + b"ftypM4A " + bytes(8),
}


BAD_PNGS = {
    "other size": png(4, 4), "RGB": png(8, 8, color=2), "palette": png(8, 8, color=3), "16-bit": png(8, 8, depth=16),
    "interlaced": png(8, 8, interlace=1), "zero width": png(0, 8), "huge": png(100_000, 100_000, idat=b"x\x9c\x03\x00"),
    "4097 wide": png(4097, 1), "corrupt IDAT": png(8, 8, idat=b"garbage"), "short IDAT": png(8, 8, idat=zlib.compress(b"\0")),
    "short IHDR": png(8, 8, header=b"\0\0"), "filter 9": png(1, 1, idat=zlib.compress(b"\x09\0\0\0\0")),
    "no IEND": png(8, 8)[:-12], "length lies": png(8, 8).replace(b"\x00\x00\x00\x0dIHDR", b"\xff\xff\xff\xffIHDR"),
    "magic only": b"\x89PNG\r\n\x1a\n", "jpeg magic": b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x00\x00\x00" + bytes(20),
    "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(30),
}
WAV = make_wav(0.5)


# ---- what each route takes -------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """A route's request: valid bodies to mutate, the models and OpenAI schemas naming its fields."""

    kind: str  # "json" | "multipart"
    bases: tuple[dict[str, Any], ...]
    """Valid requests; every node of each (``messages[0].content[1].image_url.url`` …) gets garbage."""
    models: tuple[type[BaseModel], ...] = ()
    schemas: tuple[str, ...] = ()
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    extra: frozenset[str] = frozenset()
    """Params named by errors that are not body fields (``mask``, query params …)."""

    @property
    def base(self) -> dict[str, Any]:
        return self.bases[0]


LLAMA = "@cf/meta/llama-3.1-8b-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"  # tools and vision
TOOL = {"type": "function", "function": {"name": "f", "description": "d", "strict": False,
                                         "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}}
CHAT_MESSAGES = [{"role": "user", "content": "hi"}]
RICH_MESSAGES = [
    {"role": "system", "content": [{"type": "text", "text": "be brief"}]},
    {"role": "user", "content": [{"type": "text", "text": "what is this"},
                                 {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=",
                                                                     "detail": "low"}}]},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a": "x"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "42"},
]
RESPONSE_TOOL = {"type": "function", "name": "f", "description": "d", "strict": False,
                 "parameters": {"type": "object", "properties": {"a": {"type": "string"}}}}
RESPONSE_ITEMS = [
    {"role": "user", "content": [{"type": "input_text", "text": "what is this"},
                                 {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=",
                                  "detail": "low"}]},
    {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": '{"a": "x"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "42"},
]
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "s", "strict": True, "schema": {
    "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False}}}
THREAD_MESSAGE = {"role": "user", "metadata": {"k": "v"},
                  "content": [{"type": "text", "text": "hi"},
                              {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                              {"type": "image_file", "image_file": {"file_id": "file-abc123", "detail": "high"}}],
                  "attachments": [{"file_id": "file-abc123", "tools": [{"type": "file_search"}]}]}
RUN_SETTINGS = {"model": SCOUT, "instructions": "x", "tools": [TOOL], "metadata": {"k": "v"}, "temperature": 1,
                "top_p": 1, "max_prompt_tokens": 1000, "max_completion_tokens": 1000,
                "truncation_strategy": {"type": "last_messages", "last_messages": 3},
                "tool_choice": {"type": "function", "function": {"name": "f"}}, "parallel_tool_calls": False,
                "response_format": "auto", "reasoning_effort": None}
OLLAMA_OPTIONS = {"num_predict": 4, "temperature": 0.5, "top_k": 2, "top_p": 0.9, "seed": 1, "stop": ["\n\n"],
                  "num_ctx": 2048, "repeat_penalty": 1.1}
SPECS: dict[str, Spec] = {
    "/chat/completions": Spec("json", (
        {"model": LLAMA, "messages": CHAT_MESSAGES, "max_tokens": 4},
        {"model": LLAMA, "messages": CHAT_MESSAGES, "stream": True, "stream_options": {"include_usage": True},
         "stop": ["x", "y"], "temperature": 0.5, "n": 1, "logprobs": False, "max_completion_tokens": 4},
        {"model": SCOUT, "messages": RICH_MESSAGES, "tools": [TOOL],
         "tool_choice": {"type": "function", "function": {"name": "f"}}, "metadata": {"k": "v"}, "store": True,
         "logit_bias": {"50256": -100}},
        {"model": LLAMA, "messages": CHAT_MESSAGES, "response_format": {
            "type": "json_schema", "json_schema": {"name": "s", "strict": True, "schema": {
                "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                "additionalProperties": False}}}},
        {"model": LLAMA, "messages": CHAT_MESSAGES, "response_format": {"type": "json_schema", "json_schema": {
            "name": "t", "schema": {"type": "object", "properties": {
                "a": {"type": "array", "items": {"type": "string", "minLength": 2, "format": "date"}, "minItems": 1,
                      "maxItems": 3},
                "b": {"type": ["integer", "null"], "minimum": 0, "maximum": 9, "multipleOf": 3},
                "c": {"anyOf": [{"$ref": "#/$defs/d"}, {"type": "null"}]},
                "e": {"allOf": [{"properties": {"f": {"const": 1}}}], "prefixItems": [{"type": "boolean"}]}},
                "$defs": {"d": {"enum": ["x", "y"]}}}}}},
        {"model": SCOUT, "messages": CHAT_MESSAGES, "tools": [TOOL], "tool_choice": "required",
         "parallel_tool_calls": False},
    ), (chat.CreateChatCompletionRequest,), ("CreateChatCompletionRequest",)),
    "/completions": Spec("json", (
        {"model": LLAMA, "prompt": "hi", "max_tokens": 4},
        {"model": LLAMA, "prompt": ["a", "b"], "stream": True, "stream_options": {"include_usage": True},
         "stop": "x", "echo": True, "best_of": 1, "seed": 7, "presence_penalty": 0.5, "user": "u"},
    ), (completions.CreateCompletionRequest,), ("CreateCompletionRequest",)),
    "/embeddings": Spec("json", (
        {"model": "text-embedding-3-small", "input": "hi"},
        {"model": "@cf/google/embeddinggemma-300m", "input": ["a", "b"], "dimensions": 256,
         "encoding_format": "base64"},
        {"model": "text-embedding-3-small", "input": [[1, 2, 3]]},
    ), (embeddings.CreateEmbeddingRequest,), ("CreateEmbeddingRequest",)),
    "/moderations": Spec("json", (
        {"input": "hi"},
        {"model": "omni-moderation-latest", "input": [{"type": "text", "text": "hi"}]},
        {"model": "text-moderation-latest", "input": ["a", "b"]},
    ), (moderations.CreateModerationRequest,), ("CreateModerationRequest",)),
    "/audio/speech": Spec("json", (
        {"model": "tts-1", "input": "hi", "voice": "alloy", "speed": 1.5},
        {"model": "gpt-4o-mini-tts", "input": "hi", "voice": "nova", "instructions": "calm",
         "response_format": "wav", "stream_format": "sse"},
    ), (audio.CreateSpeechRequest,), ("CreateSpeechRequest",)),
    "/images/generations": Spec("json", (
        {"prompt": "a fox", "size": "256x256", "response_format": "b64_json"},
        {"prompt": "a fox", "model": "gpt-image-1", "quality": "low", "n": 1, "size": "1024x1024",
         "output_format": "jpeg", "background": "opaque", "moderation": "low", "output_compression": 50},
    ), (images.CreateImageRequest,), ("CreateImageRequest",)),
    "/audio/transcriptions": Spec(
        "multipart", ({"model": "whisper-1"},), (audio.CreateTranscriptionRequest,), ("CreateTranscriptionRequest",),
        files={"file": ("a.wav", WAV, "audio/wav")},
    ),
    "/audio/translations": Spec(
        "multipart", ({"model": "whisper-1"},), (audio.CreateTranslationRequest,), ("CreateTranslationRequest",),
        files={"file": ("a.wav", WAV, "audio/wav")},
    ),
    "/images/edits": Spec(
        "multipart", ({"prompt": "a fox", "size": "256x256", "response_format": "b64_json"},),
        (ImageFormFields,), ("CreateImageEditRequest",),
        files={"image": ("a.png", PNG, "image/png"), "mask": ("m.png", rgba_png(8, 8, bytes(64)), "image/png")},
        extra=frozenset({"input_fidelity"}),
    ),
    "/images/variations": Spec(
        "multipart", ({"size": "256x256", "response_format": "b64_json"},),
        (ImageFormFields,), ("CreateImageVariationRequest",), files={"image": ("a.png", PNG, "image/png")},
    ),
    "/files": Spec(
        "multipart", ({"purpose": "user_data"},), (), ("CreateFileRequest",),
        files={"file": ("a.jsonl", b'{"a": 1}\n', "application/jsonl")},
        extra=frozenset({"expires_after.anchor", "expires_after.seconds", "limit", "order", "after"}),
    ),
    "/uploads": Spec("json", (
        {"filename": "a.jsonl", "purpose": "fine-tune", "bytes": 10, "mime_type": "text/jsonl"},
        {"filename": "a.jsonl", "purpose": "batch", "bytes": 10, "mime_type": "text/jsonl",
         "expires_after": {"anchor": "created_at", "seconds": 3600}},
    ), (uploads.CreateUploadBody,), ("CreateUploadRequest",), extra=frozenset({"expires_after.seconds"})),
    "/uploads/{upload_id}/parts": Spec(
        "multipart", ({},), (), ("AddUploadPartRequest",), files={"data": ("blob", b"abc", "application/octet-stream")},
        extra=frozenset({"upload_id"}),
    ),
    "/uploads/{upload_id}/complete": Spec("json", ({"part_ids": ["part_abc123"], "md5": "0" * 32},),
                                          (uploads.CompleteUploadBody,), ("CompleteUploadRequest",),
                                          extra=frozenset({"upload_id"})),
    "/batches": Spec("json", (
        {"input_file_id": "file-abc123", "endpoint": "/v1/chat/completions", "completion_window": "24h"},
        {"input_file_id": "file-abc123", "endpoint": "/v1/embeddings", "completion_window": "24h",
         "metadata": {"k": "v"}, "output_expires_after": {"anchor": "created_at", "seconds": 3600}},
    ), (batches.CreateBatchBody,), ("CreateBatchRequest",)),
    "/responses": Spec("json", (
        {"model": LLAMA, "input": "hi", "max_output_tokens": 16},
        {"model": SCOUT, "instructions": "be brief", "metadata": {"k": "v"}, "stream": True, "input": RESPONSE_ITEMS,
         "tools": [RESPONSE_TOOL], "tool_choice": {"type": "function", "name": "f"}, "temperature": 0.5,
         "truncation": "auto", "include": ["message.input_image.image_url"]},
        {"model": LLAMA, "input": "answer in json", "store": False, "text": {"format": {
            "type": "json_schema", "name": "s", "strict": True, "schema": {
                "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"],
                "additionalProperties": False}}}},
        {"model": "@cf/openai/gpt-oss-20b", "input": "hi", "reasoning": {"effort": "low"}, "background": True},
    ), (responses_types.CreateResponse,), ("CreateResponse",)),
    "/responses/input_tokens": Spec("json", ({"model": LLAMA, "input": RESPONSE_ITEMS, "tools": [RESPONSE_TOOL]},),
                                    (responses_types.TokenCountsBody,), ("TokenCountsBody",)),
    "/responses/compact": Spec("json", ({"model": LLAMA, "input": RESPONSE_ITEMS},), (responses_types.CompactBody,),
                               ("CompactResponseMethodPublicBody",)),
    "/conversations": Spec("json", ({"metadata": {"k": "v"}, "items": RESPONSE_ITEMS[:1]},),
                           (conversations.CreateConversationBody,), ("CreateConversationBody",)),
    "/assistants": Spec("json", (
        {"model": SCOUT, "name": "n", "instructions": "i", "tools": [TOOL], "metadata": {"k": "v"},
         "temperature": 0.5, "top_p": 0.9, "response_format": {"type": "json_object"}},
        {"model": LLAMA, "description": "d", "response_format": JSON_SCHEMA_FORMAT,
         "tool_resources": {"code_interpreter": {"file_ids": []}, "file_search": {"vector_store_ids": []}}},
    ), (assistants.CreateAssistantRequest,), ("CreateAssistantRequest",)),
    "/assistants/{assistant_id}": Spec("json", (
        {"model": SCOUT, "name": "n", "tools": [TOOL], "metadata": {"k": "v"}, "response_format": "auto"},
    ), (assistants.ModifyAssistantRequest,), ("ModifyAssistantRequest",)),
    "/threads": Spec("json", (
        {"messages": [{"role": "user", "content": "hi"}, THREAD_MESSAGE], "metadata": {"k": "v"},
         "tool_resources": {"code_interpreter": {"file_ids": []}}},
    ), (threads.CreateThreadRequest,), ("CreateThreadRequest",)),
    "/threads/runs": Spec("json", (
        {"assistant_id": "asst_abc123", "thread": {"messages": [THREAD_MESSAGE], "metadata": {"k": "v"}},
         "tool_resources": {"file_search": {"vector_store_ids": []}}, "stream": True, **RUN_SETTINGS},
    ), (runs.CreateThreadAndRunRequest,), ("CreateThreadAndRunRequest",)),
    "/threads/{thread_id}": Spec("json", ({"metadata": {"k": "v"}, "tool_resources": {}},),
                                 (threads.ModifyThreadRequest,), ("ModifyThreadRequest",)),
    "/threads/{thread_id}/messages": Spec("json", (THREAD_MESSAGE,), (threads.CreateMessageRequest,),
                                          ("CreateMessageRequest",)),
    "/threads/{thread_id}/messages/{message_id}": Spec("json", ({"metadata": {"k": "v"}},),
                                                       (threads.ModifyMessageRequest,), ("ModifyMessageRequest",)),
    "/threads/{thread_id}/runs": Spec("json", (
        {"assistant_id": "asst_abc123", "additional_instructions": "y",
         "additional_messages": [{"role": "user", "content": "hi"}], **RUN_SETTINGS},
    ), (runs.CreateRunRequest,), ("CreateRunRequest",), extra=frozenset({"include"})),
    "/threads/{thread_id}/runs/{run_id}": Spec("json", ({"metadata": {"k": "v"}},), (runs.ModifyRunRequest,),
                                               ("ModifyRunRequest",)),
    "/threads/{thread_id}/runs/{run_id}/submit_tool_outputs": Spec("json", (
        {"tool_outputs": [{"tool_call_id": "call_1", "output": "x"}], "stream": False},
    ), (runs.SubmitToolOutputsRunRequest,), ("SubmitToolOutputsRunRequest",)),
    "/vector_stores": Spec("json", (
        {"name": "kb"},
        {"name": "kb", "description": "d", "metadata": {"k": "v"}, "expires_after": {"anchor": "last_active_at", "days": 7},
         "chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 400, "chunk_overlap_tokens": 100}}},
    ), (vector_stores.CreateVectorStoreRequest,), ("CreateVectorStoreRequest",)),
    "/api/chat": Spec("json", (
        {"model": "llama3.1", "messages": CHAT_MESSAGES, "stream": False, "options": OLLAMA_OPTIONS},
        {"model": "llama4", "stream": True, "format": "json", "think": False, "keep_alive": "5m",
         "messages": [{"role": "user", "content": "hi", "images": ["iVBORw0KGgo="]},
                      {"role": "assistant", "content": "",
                       "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]},
                      {"role": "tool", "content": "1", "tool_name": "f"}]},
        {"model": "qwen3", "messages": CHAT_MESSAGES, "stream": False, "tools": [TOOL], "think": True,
         "format": {"type": "object", "properties": {"a": {"type": "string"}}}},
    ), (ollama.ChatRequest,)),
    "/api/generate": Spec("json", (
        {"model": "llama3.1", "prompt": "hi", "stream": False, "options": OLLAMA_OPTIONS},
        {"model": "qwen3", "prompt": "hi", "system": "s", "raw": True,
         "context": [1, 2], "template": "{{ .Prompt }}", "think": True},
        {"model": "llama4", "prompt": "what is this", "images": ["iVBORw0KGgo="], "stream": False},
    ), (ollama.GenerateRequest,)),
    "/api/embed": Spec("json", (
        {"model": "embeddinggemma", "input": "hi"},
        {"model": "embeddinggemma", "input": ["a", "b"], "truncate": False, "dimensions": 128,
         "options": OLLAMA_OPTIONS, "keep_alive": 0},
    ), (ollama.EmbedRequest,)),
    "/api/embeddings": Spec("json", ({"model": "embeddinggemma", "prompt": "hi", "options": OLLAMA_OPTIONS},),
                            (ollama.EmbeddingRequest,)),
    "/api/show": Spec("json", ({"model": "llama3.1", "verbose": True}, {"name": "llama3.1"}), (ollama.ShowRequest,)),
    "/api/pull": Spec("json", ({"model": "llama3.1", "stream": False}, {"name": "llama3.1"}), (ollama.PullRequest,)),
    "/api/push": Spec("json", ({"model": "llama3.1"},), (ollama.PushRequest,)),
    "/api/create": Spec("json", ({"model": "x"},), (ollama.CreateRequest,)),
    "/api/copy": Spec("json", ({"source": "llama3.1", "destination": "y"},), (ollama.CopyRequest,)),
    "/api/delete": Spec("json", ({"model": "llama3.1"},), (ollama.DeleteRequest,)),
}


def _schema_properties(name: str) -> set[str]:
    schemas = _spec()["components"]["schemas"]

    def props(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            return props(schemas[node["$ref"].rsplit("/", 1)[1]])
        out = set(node.get("properties", {}))
        for part in node.get("allOf", []):
            out |= props(part)
        return out

    return props(schemas[name])


@cache
def fields(route: str) -> frozenset[str]:
    """Every top-level field the route's request may name: pydantic fields (and aliases) + OpenAI's."""
    spec = SPECS[route]
    names = set(spec.base) | set(spec.files) | set(spec.extra)
    for model in spec.models:
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
    for schema in spec.schemas:
        names |= _schema_properties(schema)
    return frozenset(names)



# ---- garbage for JSON bodies -----------------------------------------------------------------

DEEP = json.loads("[" * 60 + "]" * 60)
GARBAGE: list[Any] = [
    None, True, False, 0, -1, -(2**63), 2**64, 10**30, 1.5, -0.0, 1e308, -1e308,
    "", " ", "x", "\x00", "\u202etxt.exe", "null", "true", "1", "-1", "NaN", "1e400", "\U0001f600" * 3,
    "a" * 5000, [], [None], [1, "a", None], [[]], [{}], {}, {"": None}, {"a": {"b": [1, {"c": None}]}},
    DEEP, [""] * 3, ["x"] * 200,
    # Strings shaped like the values some fields parse further: sizes, model ids, data URLs, durations.
    "0x0", "-8x-8", "99999999x99999999", "1024x1024x3", "@cf/", "@cf/../../x", "@hf/x:latest", "x:y:z",
    "data:image/png;base64,!!!", "data:,", "-5m", "99999999999h", "file-" + "0" * 24,
    # The simulator's failure convention: the only way to a 5xx (Workers AI's failure, mapped).
    "fail:503", "fail:504", "fail:500",
]
# Written into the JSON text as is: a lone surrogate (not representable by json.dumps of a str).
RAW_VALUES = ['"\\ud800"', '"\\udfff\\ud800"', '"a\\u0000b"', '["\\ud83d"]', '{"\\ud800": 1}', "1e400", "-1e400",
              "NaN", "-Infinity", "[Infinity]", '{"a": NaN}', "[" * 3000 + "]" * 3000, '{"a":' * 150 + "1" + "}" * 150,
              "123456789012345678901234567890123456789", "0.0000000000000000000000001"]


# Nodes inside a field get one value of each kind (the whole list is for the fields themselves).
NESTED_GARBAGE = [None, True, -1, 2**64, 1.5, "", "\x00", "@cf/x", "data:image/png;base64,!!!",
                  [], [None], {}, {"": None}, DEEP]
SAMPLE_GARBAGE = [None, -1, 2**64, "", "x", [], [None], {}, {"": None}]
NESTED_RAW = ['"\\ud800"', "1e400", "NaN"]


def body_with(base: dict[str, Any], path: tuple[str | int, ...], raw: str | None, value: Any = None) -> str:
    """``base`` as JSON with the value at ``path`` replaced (``raw``: JSON text spliced in as is)."""
    marker = "\u2063MARK\u2063"
    doc = json.loads(json.dumps(base))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = marker if raw is not None else value
    text = json.dumps(doc)
    return text.replace(json.dumps(marker), raw) if raw is not None else text


def without(base: dict[str, Any], path: tuple[str | int, ...]) -> str:
    doc = json.loads(json.dumps(base))
    node = doc
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return json.dumps(doc)


def json_cases(route: str) -> Iterator[tuple[str, str, set[str]]]:
    """(label, JSON body, its top-level keys): for each base body, every top-level field the route knows and every
    node inside the base, × every garbage value; and each node left out."""
    spec = SPECS[route]
    top = sorted(fields(route) - set(spec.files) - spec.extra) + ["", "\x00", "\u202e", "a" * 300, "__class__"]
    for i, base in enumerate(spec.bases):
        # Every field the route knows gets all the garbage on the first base, a sample on the others
        # (streaming, tools …); the nodes inside each base get one value of each kind.
        for path in [(name,) for name in top] + [p for p in nodes(base) if len(p) > 1]:
            values = GARBAGE if len(path) == 1 and i == 0 else SAMPLE_GARBAGE if len(path) == 1 else NESTED_GARBAGE
            keys = {*base, str(path[0])}
            for value in values:
                yield f"{path}={_short(value)}", body_with(base, path, None, value), keys
            for raw in RAW_VALUES if len(path) == 1 and i == 0 else NESTED_RAW:
                yield f"{path}={raw[:40]}", body_with(base, path, raw), keys
        for path in nodes(base):
            yield f"{path} missing", without(base, path), set(base)


def nodes(doc: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """The path of every value inside ``doc`` (not ``doc`` itself)."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from nodes(value, (*prefix, key))


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."



# A pydantic location part that is no API name: a union member, a validator, a model class, nothing.
# ---- checking answers ------------------------------------------------------------------------

NOT_A_NAME = re.compile(r"^$|^(str|int|float|bool|none|dict|list|bytes)$|^(function-|tagged-union\[|union\[|list\[)|^[A-Z]")


def problem(r: httpx.Response, route: str | None, sent: set[str] | frozenset[str] = frozenset()) -> str | None:
    """What is wrong with the answer to a bad request, or None."""
    path = r.request.url.path
    upstream = r.status_code in (502, 503, 504) and b'"fail:' in r.request.content
    if r.status_code >= 500 and not upstream:
        return f"status {r.status_code}: {r.text[:300]}"
    if r.request.method == "HEAD":
        return None
    if r.status_code < 400:
        text = r.text
        if SERVER_ERROR in text or '"server_error"' in text:
            return f"status {r.status_code} with a server error in the stream: {text[:300]}"
        return not_strict_json(r)
    try:
        body = r.json()
    except ValueError:
        return f"status {r.status_code}, not JSON: {r.text[:200]!r}"
    if is_ollama(path):
        if not (isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], str)
                and body["error"].strip()):
            return f"status {r.status_code}, not Ollama's error shape: {body}"
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}):
        return f"status {r.status_code}, not OpenAI's error shape: {body}"
    if not (isinstance(error["message"], str) and error["message"].strip()):
        return f"status {r.status_code}, empty message: {body}"
    for key in ("type", "code"):
        if error[key] is not None and not isinstance(error[key], str):
            return f"status {r.status_code}, {key} is not a string or null: {body}"
    param = error["param"]
    if param is not None:
        if not isinstance(param, str) or not param:
            return f"status {r.status_code}, param is not a name: {body}"
        if param in sent:  # an unknown field, named as the client sent it
            return None
        if any(NOT_A_NAME.search(re.sub(r"(\[\d+\])+$", "", p)) for p in param.split(".")):
            return f"status {r.status_code}, odd param {param!r}: {body}"
        root = re.split(r"[.\[]", param, maxsplit=1)[0]
        path_params = set(re.findall(r"\{(\w+)", route or ""))  # a 404 may name the id in the path
        known = (fields(route) if route in SPECS else frozenset()) | sent | path_params | {"id", "model"}
        if root not in known:
            return f"status {r.status_code}, param {param!r} is no field of {route}: {body}"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


LINE_END = re.compile(r"\r\n|\r|\n")


def not_strict_json(r: httpx.Response) -> str | None:
    """A JSON / NDJSON / SSE answer holding ``NaN`` or ``Infinity`` (Python's json writes them; no client reads them)."""
    media_type = r.headers.get("content-type", "").partition(";")[0]
    # Lines end where NDJSON's and SSE's do, at CR / LF only: str.splitlines would also cut a JSON string at a
    # U+2028, U+0085 … written as is (as they may be: JSON escapes only control characters)
    lines = LINE_END.split(r.text)
    if media_type == "application/json":
        documents = [r.text]
    elif media_type == "application/x-ndjson":
        documents = [line for line in lines if line.strip()]
    elif media_type == "text/event-stream":
        documents = [line[5:] for line in lines if line.startswith("data:") and "[DONE]" not in line]
    else:
        return None
    for document in documents:
        try:
            json.loads(document, parse_constant=_no_constant)
        except ValueError as exc:
            return f"status {r.status_code}, not strict JSON ({exc}): {document[:300]}"
    return None


def concrete(template: str) -> str:
    samples = {"model": "@cf/meta/llama-3.1-8b-instruct", "file_id": "file-abc123", "name": "img-abc123.png",
               "digest": "sha256:" + "0" * 64,
               "response_id": "resp_abc123", "conversation_id": "conv_abc123", "item_id": "msg_abc123",
               "assistant_id": "asst_abc123", "thread_id": "thread_abc123", "message_id": "msg_abc123",
               "run_id": "run_abc123", "step_id": "step_abc123", "vector_store_id": "vs_abc123",
               "batch_id": "vsfb_abc123", "upload_id": "upload_abc123", "completion_id": "chatcmpl-abc123"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: samples[m.group(1)], template)


async def run_cases(client: httpx.AsyncClient, cases: Iterator[tuple[str, dict[str, Any]]], route: str | None) -> None:
    failures: list[str] = []
    for label, request in cases:
        sent = request.pop("sent", set())
        r = await client.request(**request)
        if (why := problem(r, route, sent)) is not None:
            failures.append(f"{request['method']} {request['url']} {label}: {why}")
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(failures[:40])



# ---- multipart bodies ------------------------------------------------------------------------

BOUNDARY = "fuzzfuzzfuzz"


def multipart(parts: list[tuple[str, str | None, bytes, str | None]]) -> bytes:
    """(name, filename, data, content type) parts as a multipart body."""
    out = b""
    for name, filename, data, content_type in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n".encode()
        if content_type is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


FORM_GARBAGE = ["", " ", "-1", "0", "1e400", "NaN", "inf", "99999999999999999999999", "true", "null", "[]", "{}",
                "\x00", "\u202e", "a" * 3000, "1.5", "\U0001f600"]


def form_parts(spec: Spec, fields_: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None
               ) -> list[tuple[str, str | None, bytes, str | None]]:
    parts: list[tuple[str, str | None, bytes, str | None]] = [
        (name, None, value.encode("utf-8", "surrogatepass"), None) for name, value in fields_.items()]
    for name, (filename, data, content_type) in (spec.files if files is None else files).items():
        parts.append((name, filename, data, content_type))
    return parts


def multipart_cases(route: str) -> Iterator[tuple[str, bytes, str]]:
    """(label, body, content type) for a multipart route."""
    spec = SPECS[route]
    ctype = f"multipart/form-data; boundary={BOUNDARY}"
    names = sorted(fields(route) - set(spec.files)) + ["timestamp_granularities[]", "include[]",
                                                       "expires_after[anchor]", "expires_after[seconds]",
                                                       "chunking_strategy[type]", "image[]", "a[b][c]", "[]", "x["]
    for name in names:
        for value in FORM_GARBAGE:
            yield f"{name}={value[:20]!r}", multipart(form_parts(spec, {**spec.base, name: value})), ctype
    # Missing fields and files, files sent as text, text sent as files, duplicates.
    for name in spec.base:
        rest = {k: v for k, v in spec.base.items() if k != name}
        yield f"{name} missing", multipart(form_parts(spec, rest)), ctype
        yield f"{name} as a file", multipart(
            form_parts(spec, rest) + [(name, "x.txt", spec.base[name].encode(), "text/plain")]), ctype
    for name, (filename, data, content_type) in spec.files.items():
        yield f"{name} missing", multipart(form_parts(spec, spec.base, {})), ctype
        yield f"{name} as text", multipart(form_parts(spec, {**spec.base, name: "hello"}, {})), ctype
        yield f"{name} twice", multipart(form_parts(spec, spec.base) + [(name, filename, data, content_type)]), ctype
        yield f"{name} empty", multipart(form_parts(spec, spec.base, {name: (filename, b"", content_type)})), ctype
        for odd in ("", "..", "../../etc/passwd", "a\x00b.png", "\u202egnp.exe", "x" * 1000, "é.wav"):
            yield f"{name} named {odd[:20]!r}", multipart(
                form_parts(spec, spec.base, {name: (odd, data, content_type)})), ctype
        for odd_type in ("", "garbage", "image/png; charset=\x7f", "audio/wav", "application/json"):
            yield f"{name} typed {odd_type!r}", multipart(
                form_parts(spec, spec.base, {name: (filename, data, odd_type)})), ctype
        junk = {"NUL": b"\x00", "GIF": b"GIF89a", "WAVE": b"RIFF\x00\x00\x00\x00WAVE", "half": data[: len(data) // 2]}
        if data.startswith(b"\x89PNG"):
            junk |= BAD_PNGS
        if data.startswith(b"RIFF"):
            junk |= BAD_WAVS
        for what, bad in junk.items():
            yield f"{name} holding {what}", multipart(
                form_parts(spec, spec.base, {**spec.files, name: (filename, bad, content_type)})), ctype
    for name, value in spec.base.items():
        yield f"{name} twice", multipart(form_parts(spec, spec.base) + [(name, None, value.encode(), None)]), ctype
    whole = multipart(form_parts(spec, spec.base))
    for cut in sorted({1, 10, len(BOUNDARY) + 4, 60, len(whole) // 3, len(whole) // 2, len(whole) - 40,
                       len(whole) - 8, len(whole) - 2}):
        yield f"cut at {cut}", whole[:cut], ctype
    yield "no closing boundary", whole[: whole.rindex(b"--" + BOUNDARY.encode())], ctype
    yield "other boundary", whole, "multipart/form-data; boundary=other"
    yield "no boundary", whole, "multipart/form-data"
    yield "empty boundary", whole, "multipart/form-data; boundary="
    yield "json instead", json.dumps(spec.base).encode(), "application/json"
    yield "no content type", whole, ""
    yield "header garbage", whole.replace(b"Content-Disposition: form-data;", b"Content-Disposition: \x00;;", 1), ctype
    yield "no disposition", whole.replace(b"Content-Disposition", b"X-Nothing"), ctype
    yield "empty form", f"--{BOUNDARY}--\r\n".encode(), ctype
    yield "bare CRs", whole.replace(b"\r\n", b"\n"), ctype


# ---- requests valid for OpenAI's own schemas -------------------------------------------------

STRINGS = ["hi", "", "x" * 40, "fail", "ok?", "{\"a\": 1}", "\u202e\u0000", "https://example.com/a.png",
           "data:image/png;base64,iVBORw0KGgo=", "file-abc", "auto", "a b"]


class SpecRequest:
    """A random request valid for an OpenAI request schema (``$ref``, ``allOf``, ``anyOf``/``oneOf``,
    ``enum``, bounds, optional properties), from a seeded generator: the same seed, the same request."""

    def __init__(self, seed: str) -> None:
        self.schemas = _spec()["components"]["schemas"]
        self.rng = random.Random(seed)
        self.optional = self.rng.choice([0.05, 0.15, 0.35])  # how often an optional property is sent

    def value(self, node: dict[str, Any], depth: int = 0) -> Any:
        rng = self.rng
        if "$ref" in node:
            return self.value({**self.schemas[node["$ref"].rsplit("/", 1)[1]],
                               **{k: v for k, v in node.items() if k != "$ref"}}, depth)
        if node.get("nullable") and rng.random() < 0.1:
            return None
        if "allOf" in node:
            merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
            for part in node["allOf"]:
                part = self._resolved(part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return self.value(merged, depth)
        for key in ("anyOf", "oneOf"):
            if key in node:
                return self.value(rng.choice(node[key]), depth)
        if "enum" in node:
            return rng.choice(node["enum"])
        kind = node.get("type", "object" if "properties" in node else "string")
        if isinstance(kind, list):
            kind = rng.choice(kind)
        if kind == "object":
            if depth > 5:
                return {}
            required = set(node.get("required", []))
            out = {name: self.value(sub, depth + 1) for name, sub in node.get("properties", {}).items()
                   if name in required or rng.random() < self.optional}
            extra = node.get("additionalProperties")
            if not node.get("properties") and extra not in (None, False):
                item = self.value(extra, depth + 1) if isinstance(extra, dict) else rng.choice(STRINGS)
                out = {rng.choice(["k", "50256", "a b"]): item}
            return out
        if kind == "array":
            low = node.get("minItems", 0)
            count = rng.randint(low, min(node.get("maxItems", 3), low + 3)) if depth <= 5 else low
            return [self.value(node.get("items", {}), depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            low, high = node.get("minimum", -5), node.get("maximum", 300)
            value = rng.uniform(low, high)
            return round(value) if kind == "integer" else round(value, 3)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        text = rng.choice(STRINGS)
        return text[: node["maxLength"]] if "maxLength" in node else text.ljust(node.get("minLength", 0), "x")

    def _resolved(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.schemas[node["$ref"].rsplit("/", 1)[1]]
        return node
