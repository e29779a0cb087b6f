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

from .openapi import _spec
from .spec import rules as derivation

LLAMA = "@cf/meta/llama-3.1-8b-instruct"
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
# The endpoint → a valid body; "{vs}", "{file}" and "{conv}" stand for a vector store, a file in it and a
# conversation made for the test (the door finds them before it reads the body); other ids are made up (the
# body is read first).
BASES: dict[str, dict[str, Any]] = {
    "/v1/chat/completions": {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]},
    "/v1/completions": {"model": LLAMA, "prompt": "hi"},
    "/v1/embeddings": {"model": "text-embedding-3-small", "input": "hi"},
    "/v1/audio/speech": {"model": "tts-1", "input": "hi", "voice": "alloy"},
    "/v1/images/generations": {"model": "dall-e-2", "prompt": "a cat"},
    "/v1/moderations": {"input": "hi"},
    "/v1/responses": {"model": LLAMA, "input": "hi", "store": False},
    "/v1/responses/input_tokens": {"model": LLAMA, "input": "hi"},
    "/v1/responses/compact": {"model": LLAMA, "input": "hi"},
    "/v1/assistants": {"model": SCOUT},
    "/v1/assistants/asst_x": {},
    "/v1/threads": {},
    "/v1/threads/thread_x": {},
    "/v1/threads/thread_x/messages": {"role": "user", "content": "hi"},
    "/v1/threads/thread_x/messages/msg_x": {},
    "/v1/threads/thread_x/runs": {"assistant_id": "asst_x"},
    "/v1/threads/runs": {"assistant_id": "asst_x"},
    "/v1/threads/thread_x/runs/run_x": {},
    "/v1/threads/thread_x/runs/run_x/submit_tool_outputs": {"tool_outputs": [{"tool_call_id": "call_x", "output": "1"}]},
    "/v1/vector_stores": {},
    "/v1/vector_stores/{vs}": {},
    "/v1/vector_stores/{vs}/search": {"query": "x"},
    "/v1/vector_stores/{vs}/files": {"file_id": "file-x"},
    "/v1/vector_stores/{vs}/files/{file}": {"attributes": {}},
    "/v1/vector_stores/{vs}/file_batches": {"file_ids": ["file-x"]},
    "/v1/conversations": {},
    "/v1/conversations/{conv}": {"metadata": {}},
    "/v1/conversations/{conv}/items": {"items": [{"role": "user", "content": "hi"}]},
}
(CHAT, COMPLETIONS, EMBEDDINGS, SPEECH, IMAGES, MODERATIONS, RESPONSES, INPUT_TOKENS, COMPACT, ASSISTANTS,
 ASSISTANT, THREADS, THREAD, MESSAGES, MESSAGE, RUNS, THREAD_RUNS, RUN, TOOL_OUTPUTS, STORES, STORE, SEARCH,
 STORE_FILES, STORE_FILE, FILE_BATCHES, CONVERSATIONS, CONVERSATION, ITEMS) = BASES
SCHEMA_OF = {CHAT: "CreateChatCompletionRequest", COMPLETIONS: "CreateCompletionRequest",
             EMBEDDINGS: "CreateEmbeddingRequest", SPEECH: "CreateSpeechRequest", IMAGES: "CreateImageRequest",
             MODERATIONS: "CreateModerationRequest", RESPONSES: "CreateResponse", INPUT_TOKENS: "TokenCountsBody",
             COMPACT: "CompactBody", ASSISTANTS: "CreateAssistantRequest", ASSISTANT: "ModifyAssistantRequest",
             THREADS: "CreateThreadRequest", THREAD: "ModifyThreadRequest", MESSAGES: "CreateMessageRequest",
             MESSAGE: "ModifyMessageRequest", RUNS: "CreateRunRequest", THREAD_RUNS: "CreateThreadAndRunRequest",
             RUN: "ModifyRunRequest", TOOL_OUTPUTS: "SubmitToolOutputsRunRequest", STORES: "CreateVectorStoreRequest",
             STORE: "UpdateVectorStoreRequest", SEARCH: "VectorStoreSearchRequest",
             STORE_FILES: "CreateVectorStoreFileRequest", STORE_FILE: "UpdateVectorStoreFileAttributesRequest",
             FILE_BATCHES: "CreateVectorStoreFileBatchRequest", CONVERSATIONS: "CreateConversationBody",
             CONVERSATION: "UpdateConversationBody", ITEMS: "CreateItemsBody"}
"""The pydantic request model each endpoint validates with (the name its rules are looked up by)."""
MODEL_FIRST = [CHAT, COMPLETIONS, EMBEDDINGS, SPEECH, IMAGES, RESPONSES, INPUT_TOKENS, COMPACT, ASSISTANTS,
               ASSISTANT, RUNS, THREAD_RUNS]
"""The endpoints whose body names a model: answered before the fields."""
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
    (CHAT, {"presence_penalty": -3}, "presence_penalty", "decimal_below_min_value",
     "CreateChatCompletionRequest.presence_penalty minimum -2 (a number: OpenAI says 'decimal' whatever was sent)"),
    (CHAT, {"logprobs": True, "top_logprobs": 21}, "top_logprobs", "integer_above_max_value",
     "CreateChatCompletionRequest.top_logprobs maximum 20"),
    (COMPLETIONS, {"logprobs": 6}, "logprobs", "integer_above_max_value", "CreateCompletionRequest.logprobs maximum 5"),
    (COMPLETIONS, {"best_of": 21}, "best_of", "integer_above_max_value", "CreateCompletionRequest.best_of maximum 20"),
    (COMPLETIONS, {"max_tokens": -1}, "max_tokens", "integer_below_min_value",
     "CreateCompletionRequest.max_tokens minimum 0"),
    (EMBEDDINGS, {"dimensions": 0}, None, None,
     "CreateEmbeddingRequest.dimensions minimum 1, in OpenAI's recorded words (param and code null: "
     "openai/openai-dotnet tests/SessionRecords/EmbeddingsTests/BadOptions.json)"),
    (SPEECH, {"speed": 4.5}, "speed", "decimal_above_max_value", "CreateSpeechRequest.speed maximum 4"),
    (SPEECH, {"speed": 0.1}, "speed", "decimal_below_min_value", "CreateSpeechRequest.speed minimum 0.25"),
    (IMAGES, {"n": 11}, "n", "integer_above_max_value", "CreateImageRequest.n maximum 10"),
    # -- documented ranges (field descriptions)
    (CHAT, {"logit_bias": {"50256": 101}}, "logit_bias.50256", "integer_above_max_value",
     "logit_bias: 'an associated bias value from -100 to 100'"),
    (COMPLETIONS, {"logit_bias": {"50256": -101}}, "logit_bias.50256", "integer_below_min_value",
     "logit_bias: 'an associated bias value from -100 to 100'"),
    (CHAT, {"max_tokens": 0}, "max_tokens", "integer_below_min_value",
     "max_tokens: OpenAI's \"Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 "
     "instead.\" (it-at-m/mucgpt#608)"),
    (CHAT, {"tools": []}, "tools", "empty_array",
     "tools: OpenAI refuses an empty list (\"[] is too short - 'tools'\", JetBrains/koog#786, QwenLM/qwen-code#2054)"),
    (CHAT, {"messages": [USER, {"role": "assistant", "content": "x", "tool_calls": []}, USER]},
     "messages[1].tool_calls", "empty_array",
     "ChatCompletionMessageToolCalls: \"Invalid 'messages[1].tool_calls': empty array. …\" (openai/openai-node#1341)"),
    (CHAT, {"max_completion_tokens": 0}, "max_completion_tokens", "integer_below_min_value",
     "max_completion_tokens: the upper bound max_tokens was, at least 1 as max_tokens is"),
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
    (CHAT, {"parallel_tool_calls": False}, "parallel_tool_calls", "invalid_value",
     "parallel_tool_calls: a setting of tool use, only allowed when 'tools' are specified"),
    (CHAT, {"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}, USER]},
     "messages[0]", None, "image parts belong to user messages only"),
    (COMPLETIONS, {"best_of": 1, "n": 2}, "best_of", "invalid_value", "best_of: 'best_of must be greater than n'"),
    (CHAT, {"messages": [USER, {"role": "assistant", "content": None}, USER]}, "messages[1].content", None,
     "ChatCompletionRequestAssistantMessage.content: 'Required unless tool_calls or function_call is specified.'"),
    (CHAT, {"metadata": {"k": "v"}}, "metadata", "invalid_value",
     "metadata without store: OpenAI's \"The 'metadata' parameter is only allowed when 'store' is enabled.\" "
     "(tmc/langchaingo#1484, QwenLM/qwen-code#243)"),
    (CHAT, {"max_tokens": 5, "max_completion_tokens": 5}, "max_tokens", "invalid_parameter_combination",
     "max_tokens: 'deprecated in favor of max_completion_tokens'; OpenAI refuses both (langchain-ai/langgraph#5943)"),
    (CHAT, {"logit_bias": {"AI": 5}}, "logit_bias", None,
     "logit_bias: 'maps tokens (specified by their token ID in the tokenizer)' (OkGoDoIt/OpenAI-API-dotnet#163)"),
    (COMPLETIONS, {"logit_bias": {" You": 6}}, "logit_bias", None,
     "logit_bias: 'maps tokens (specified by their token ID in the GPT tokenizer)' (sashabaranov/go-openai#129)"),
    (EMBEDDINGS, {"model": "text-embedding-ada-002", "dimensions": 768}, "dimensions", None,
     "dimensions: 'Only supported in text-embedding-3 and later models.'"),
    (IMAGES, {"model": "dall-e-3", "n": 2}, "n", "invalid_value", "n: 'For dall-e-3, only n=1 is supported.'"),
    (IMAGES, {"prompt": "x" * 1001}, "prompt", "string_above_max_length",
     "prompt: '1000 characters for dall-e-2'"),
    # -- Responses (CreateResponse, TokenCountsBody, CompactResponseMethodPublicBody)
    (RESPONSES, {"max_output_tokens": 1}, "max_output_tokens", "integer_below_min_value",
     "CreateResponse.max_output_tokens minimum 16"),
    (RESPONSES, {"temperature": 5}, "temperature", "decimal_above_max_value",
     "ModelResponseProperties.temperature maximum 2"),
    (RESPONSES, {"top_p": 1.5}, "top_p", "decimal_above_max_value", "ModelResponseProperties.top_p maximum 1"),
    (RESPONSES, {"presence_penalty": 2.5}, "presence_penalty", "decimal_above_max_value",
     "TAKEN CreateResponse.presence_penalty maximum 2"),
    (RESPONSES, {"frequency_penalty": "x"}, "frequency_penalty", "invalid_type",
     "TAKEN CreateResponse.frequency_penalty type number"),
    (RESPONSES, {"top_logprobs": 21}, "top_logprobs", "integer_above_max_value",
     "CreateModelResponseProperties.top_logprobs maximum 20"),
    (RESPONSES, {"safety_identifier": "x" * 65}, "safety_identifier", "string_above_max_length",
     "ModelResponseProperties.safety_identifier maxLength 64"),
    (RESPONSES, {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties",
     "Metadata: 'Set of 16 key-value pairs'"),
    (RESPONSES, {"tools": [{"type": "function", "name": "bad name!", "parameters": {}}]}, "tools[0].name",
     "invalid_value", "FunctionTool.name: a function name of a-z, A-Z, 0-9, underscores and dashes"),
    (RESPONSES, {"tools": [{"type": "hologram"}]}, "tools[0].type", "invalid_value",
     "Tool: one of the tool types (discriminator type)"),
    (RESPONSES, {"text": {"format": {"type": "json_schema", "name": "bad name", "schema": {}}}}, "text.format.name",
     "invalid_value", "TextResponseFormatJsonSchema.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes'"),
    (RESPONSES, {"input": [{"role": "robot", "content": "hi"}]}, "input[0].role", "invalid_value",
     "EasyInputMessage.role enum"),
    (RESPONSES, {"input": [{"type": "web_search_call", "id": "ws_1"}]}, "input[0].status",
     "missing_required_parameter", "WebSearchToolCall required status (the item its type names)"),
    (RESPONSES, {"truncation": "sometimes"}, "truncation", "invalid_value", "CreateResponse.truncation enum"),
    (RESPONSES, {"reasoning": {"effort": "extreme"}}, "reasoning.effort", "invalid_value", "ReasoningEffort enum"),
    (RESPONSES, {"include": ["everything"]}, "include[0]", "invalid_value", "IncludeEnum"),
    (INPUT_TOKENS, {"truncation": "sometimes"}, "truncation", "invalid_value", "TokenCountsBody.truncation enum"),
    (COMPACT, {"prompt_cache_key": "k" * 65}, "prompt_cache_key", "string_above_max_length",
     "CompactResponseMethodPublicBody.prompt_cache_key maxLength 64"),
    # -- Assistants
    (ASSISTANTS, {"name": "x" * 257}, "name", "string_above_max_length", "CreateAssistantRequest.name maxLength 256"),
    (ASSISTANTS, {"description": "x" * 513}, "description", "string_above_max_length",
     "CreateAssistantRequest.description maxLength 512"),
    (ASSISTANTS, {"instructions": "x" * 256_001}, "instructions", "string_above_max_length",
     "CreateAssistantRequest.instructions maxLength 256000"),
    (ASSISTANTS, {"tools": [{"type": "file_search"}] * 129}, "tools", "array_above_max_length",
     "CreateAssistantRequest.tools maxItems 128"),
    (ASSISTANTS, {"temperature": 2.5}, "temperature", "decimal_above_max_value",
     "CreateAssistantRequest.temperature maximum 2"),
    (ASSISTANTS, {"top_p": -1}, "top_p", "decimal_below_min_value", "CreateAssistantRequest.top_p minimum 0"),
    (ASSISTANTS, {"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name",
     "invalid_value", "FunctionObject.name: 'Must be a-z, A-Z, 0-9, or contain underscores and dashes'"),
    (ASSISTANTS, {"tool_resources": {"file_search": {"vector_store_ids": ["vs_1", "vs_2"]}}},
     "tool_resources.file_search.vector_store_ids", "array_above_max_length",
     "CreateAssistantRequest.tool_resources.file_search.vector_store_ids maxItems 1"),
    (ASSISTANTS, {"tool_resources": {"code_interpreter": {"file_ids": ["file-x"] * 21}}},
     "tool_resources.code_interpreter.file_ids", "array_above_max_length",
     "CreateAssistantRequest.tool_resources.code_interpreter.file_ids maxItems 20"),
    (ASSISTANTS, {"response_format": {"type": "json_schema", "json_schema": {"name": "x" * 65}}},
     "response_format.json_schema.name", "string_above_max_length", "JSONSchema.name: 'a maximum length of 64'"),
    (ASSISTANTS, {"reasoning_effort": "extreme"}, "reasoning_effort", "invalid_value", "ReasoningEffort enum"),
    (ASSISTANTS, {"metadata": {"k": "v" * 513}}, "metadata.k", "string_above_max_length",
     "Metadata: 'Values … a maximum length of 512'"),
    (ASSISTANT, {"name": "x" * 257}, "name", "string_above_max_length", "ModifyAssistantRequest.name maxLength 256"),
    (ASSISTANT, {"tools": [{"type": "browser"}]}, "tools[0].type", "invalid_value",
     "ModifyAssistantRequest.tools: code_interpreter, file_search or function"),
    # -- threads and messages
    (THREADS, {"messages": [{"role": "system", "content": "hi"}]}, "messages[0].role", "invalid_value",
     "CreateMessageRequest.role: user or assistant"),
    (THREADS, {"tool_resources": {"file_search": {"vector_store_ids": ["vs_1", "vs_2"]}}},
     "tool_resources.file_search.vector_store_ids", "array_above_max_length",
     "CreateThreadRequest.tool_resources.file_search.vector_store_ids maxItems 1"),
    (THREADS, {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties",
     "Metadata: 'Set of 16 key-value pairs'"),
    (THREAD, {"metadata": {"k" * 65: "v"}}, "metadata", "invalid_value", "Metadata: 'Keys … a maximum length of 64'"),
    (MESSAGES, {"role": "system"}, "role", "invalid_value", "CreateMessageRequest.role: user or assistant"),
    (MESSAGES, {"content": []}, "content", "empty_array", "CreateMessageRequest.content array minItems 1"),
    (MESSAGES, {"content": [{"type": "audio"}]}, "content[0].type", "invalid_value",
     "CreateMessageRequest.content parts: image_file, image_url or text"),
    (MESSAGES, {"content": [{"type": "image_file", "image_file": {}}]}, "content[0].image_file.file_id",
     "missing_required_parameter", "MessageContentImageFileObject.image_file required file_id"),
    (MESSAGE, {"metadata": {"k": 1}}, "metadata.k", "invalid_type", "Metadata values are strings"),
    # -- runs
    (RUNS, {"max_prompt_tokens": 255}, "max_prompt_tokens", "integer_below_min_value",
     "CreateRunRequest.max_prompt_tokens minimum 256"),
    (RUNS, {"max_completion_tokens": 1}, "max_completion_tokens", "integer_below_min_value",
     "CreateRunRequest.max_completion_tokens minimum 256"),
    (RUNS, {"temperature": 3}, "temperature", "decimal_above_max_value", "CreateRunRequest.temperature maximum 2"),
    (RUNS, {"tools": [{"type": "file_search"}] * 21}, "tools", "array_above_max_length",
     "CreateRunRequest.tools maxItems 20"),
    (RUNS, {"truncation_strategy": {"type": "first_messages"}}, "truncation_strategy.type", "invalid_value",
     "TruncationObject.type: auto or last_messages"),
    (RUNS, {"truncation_strategy": {"type": "last_messages", "last_messages": 0}}, "truncation_strategy.last_messages",
     "integer_below_min_value", "TruncationObject.last_messages minimum 1"),
    (RUNS, {"additional_messages": [{"role": "system", "content": "x"}]}, "additional_messages[0].role",
     "invalid_value", "CreateMessageRequest.role: user or assistant"),
    (RUNS, {"tool_choice": "sometimes"}, "tool_choice", "invalid_value",
     "AssistantsApiToolChoiceOption: none, auto, required or a named tool"),
    (RUNS, {"assistant_id": 5}, "assistant_id", "invalid_type", "CreateRunRequest.assistant_id type string"),
    (THREAD_RUNS, {"thread": {"messages": [{"role": "tool", "content": "x"}]}}, "thread.messages[0].role",
     "invalid_value", "CreateThreadRequest.messages: CreateMessageRequest.role user or assistant"),
    (THREAD_RUNS, {"top_p": 2}, "top_p", "decimal_above_max_value", "CreateThreadAndRunRequest.top_p maximum 1"),
    (RUN, {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties",
     "Metadata: 'Set of 16 key-value pairs'"),
    (TOOL_OUTPUTS, {"tool_outputs": [{"tool_call_id": "call_x", "output": 1}]}, "tool_outputs[0].output",
     "invalid_type", "SubmitToolOutputsRunRequest.tool_outputs[].output type string"),
    # -- vector stores, their files and file batches
    (STORES, {"name": 5}, "name", "invalid_type", "CreateVectorStoreRequest.name type string"),
    (STORES, {"file_ids": ["file-x"] * 501}, "file_ids", "array_above_max_length",
     "CreateVectorStoreRequest.file_ids maxItems 500"),
    (STORES, {"expires_after": {"anchor": "created_at", "days": 1}}, "expires_after.anchor", "invalid_value",
     "VectorStoreExpirationAfter.anchor: last_active_at"),
    (STORES, {"expires_after": {"anchor": "last_active_at", "days": 366}}, "expires_after.days",
     "integer_above_max_value", "VectorStoreExpirationAfter.days maximum 365"),
    (STORES, {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 99,
                                                                 "chunk_overlap_tokens": 0}}},
     "chunking_strategy.static.max_chunk_size_tokens", "integer_below_min_value",
     "StaticChunkingStrategy.max_chunk_size_tokens minimum 100"),
    (STORE, {"expires_after": {"anchor": "last_active_at", "days": 0}}, "expires_after.days",
     "integer_below_min_value", "VectorStoreExpirationAfter.days minimum 1"),
    (SEARCH, {"max_num_results": 51}, "max_num_results", "integer_above_max_value",
     "VectorStoreSearchRequest.max_num_results maximum 50"),
    (SEARCH, {"ranking_options": {"score_threshold": 2}}, "ranking_options.score_threshold",
     "decimal_above_max_value", "VectorStoreSearchRequest.ranking_options.score_threshold maximum 1"),
    (SEARCH, {"filters": {"type": "like", "key": "k", "value": "v"}}, "filters.type", "invalid_value",
     "ComparisonFilter.type / CompoundFilter.type enums"),
    (STORE_FILES, {"attributes": {f"k{i}": "v" for i in range(17)}}, "attributes", "object_above_max_properties",
     "VectorStoreFileAttributes maxProperties 16"),
    (STORE_FILES, {"attributes": {"k": "v" * 513}}, "attributes.k", "string_above_max_length",
     "VectorStoreFileAttributes values maxLength 512"),
    (STORE_FILES, {"file_id": 5}, "file_id", "invalid_type", "CreateVectorStoreFileRequest.file_id type string"),
    (STORE_FILE, {"attributes": {"k": []}}, "attributes.k", "invalid_type",
     "VectorStoreFileAttributes values: a string, a number or a boolean"),
    (FILE_BATCHES, {"file_ids": []}, "file_ids", "empty_array", "CreateVectorStoreFileBatchRequest.file_ids minItems 1"),
    (FILE_BATCHES, {"files": [{"file_id": "file-x"}, {"file_id": "file-x", "attributes": {"k" * 65: "v"}}]},
     "files[1].attributes", "invalid_value", "VectorStoreFileAttributes propertyNames maxLength 64 (a file's own "
     "attributes in a batch: named by its place, not as the batch's 'attributes')"),
    (FILE_BATCHES, {"file_ids": ["file-x"] * 2001}, "file_ids", "array_above_max_length",
     "CreateVectorStoreFileBatchRequest.file_ids maxItems 2000"),
    # -- conversations
    (CONVERSATIONS, {"items": [USER] * 21}, "items", "array_above_max_length",
     "CreateConversationBody.items maxItems 20"),
    (CONVERSATIONS, {"items": [{"role": "robot", "content": "x"}]}, "items[0].role", "invalid_value",
     "EasyInputMessage.role enum"),
    (CONVERSATIONS, {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "object_above_max_properties",
     "Metadata: 'Set of 16 key-value pairs'"),
    (CONVERSATION, {"metadata": {"k": 1}}, "metadata.k", "invalid_type", "Metadata values are strings"),
    (ITEMS, {"items": [USER] * 21}, "items", "array_above_max_length",
     "POST /conversations/{id}/items: items maxItems 20 ('You may add up to 20 items at a time.')"),
    (ITEMS, {"items": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "items[0].call_id",
     "missing_required_parameter", "FunctionToolCall required call_id"),
    # -- what OpenAI's client 3.63.0 sends that the spec predates (tests/spec/rules.py NEWER)
    (IMAGES, {"quality": "ultra"}, "quality", "invalid_value", "image_generate_params.quality (adds xhigh, max)"),
    (IMAGES, {"output_format": "bmp"}, "output_format", "invalid_value",
     "image_generate_params.output_format (adds gif, svg)"),
    (IMAGES, {"complexity": "max"}, "complexity", "invalid_value", "image_generate_params.complexity low/medium/high"),
    (IMAGES, {"frame_count": 17}, "frame_count", "integer_above_max_value",
     "image_generate_params.frame_count: 'integers from 2 through 16'"),
    (IMAGES, {"frame_duration_ms": "200"}, "frame_duration_ms", "invalid_type",
     "image_generate_params.frame_duration_ms: Optional[int]"),
    (IMAGES, {"svg": {}}, "svg.model", "missing_required_parameter", "image_generate_params.Svg.model Required"),
    (RESPONSES, {"prompt_cache_options": {"ttl": "1d"}}, "prompt_cache_options.ttl", "invalid_value",
     "PromptCacheOptions.ttl: '30m' or '12h'"),
    (RESPONSES, {"access_programs": {"cyber": "red"}}, "access_programs.cyber", "invalid_value",
     "response_create_params.AccessPrograms.cyber enum"),
    (RESPONSES, {"background_options": {"completion_window": "1h"}}, "background_options.completion_window",
     "invalid_value", "response_create_params.BackgroundOptions.completion_window: soonest, 2h, 8h"),
    (RESPONSES, {"image": {"context_compression": "on"}}, "image.context_compression", "invalid_value",
     "response_create_params.Image.context_compression: auto, enabled, disabled"),
    (COMPACT, {"image": "auto"}, "image", "invalid_type", "response_compact_params.image: an object"),
]


@pytest.fixture
async def made(client: httpx.AsyncClient) -> dict[str, str]:
    """A vector store with a file, and a conversation, of the caller's: for the doors that find them first."""
    file = (await client.post("/v1/files", files={"file": ("a.txt", b"hello")}, data={"purpose": "assistants"})).json()
    store = (await client.post("/v1/vector_stores", json={"file_ids": [file["id"]]})).json()["id"]
    conversation = (await client.post("/v1/conversations", json={})).json()["id"]
    return {"vs": store, "file": file["id"], "conv": conversation}


@pytest.mark.parametrize(("endpoint", "fields", "param", "code", "source"), ROWS,
                         ids=[f"{e.rsplit('/', 1)[-1]}:{p}:{c}" for e, _, p, c, _ in ROWS])
async def test_rule(client: httpx.AsyncClient, made: dict[str, str], endpoint: str, fields: dict[str, Any], param: str,
                    code: str | None, source: str) -> None:
    assert (await client.post(endpoint.format(**made), json=BASES[endpoint])).status_code < 500
    r = await client.post(endpoint.format(**made), json={**BASES[endpoint], **fields})
    assert r.status_code == 400, f"{source}: {r.text[:300]}"
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (param, code), f"{source}: {error}"
    assert error["type"] == "invalid_request_error" and error["message"]


def test_every_cross_field_rule_has_a_row() -> None:
    names = {schema: endpoint for endpoint, schema in SCHEMA_OF.items()}
    covered = {(endpoint, param) for endpoint, _, param, _, _ in ROWS}
    for rule in spec_rules.CROSS_FIELD:
        assert (names[rule.schema], rule.param) in covered, rule.says


def test_the_rules_module_is_what_the_spec_derives() -> None:
    assert derivation.TARGET.read_text() == derivation.render(), "run: uv run python -m tests.spec.rules"


def test_documented_rules_are_in_the_derived_rules() -> None:
    text = derivation.TARGET.read_text()
    for schema, _path, rule, why in derivation.DOCUMENTED:
        assert (schema in derivation.SCHEMAS or schema in spec_rules.DEFS) and why
        for key, value in rule.items():
            if isinstance(value, dict):
                assert all(f"'{k}': {v!r}" in text for k, v in value.items()), (schema, key)
            else:
                assert f"'{key}': {value!r}" in text, (schema, key)


def _derived_node(schema: str, path: Any, why: str) -> Any:
    """The derived rules' node a NEWER or TAKEN row names (its schema served, its reason given)."""
    assert why and (schema in derivation.SCHEMAS or schema in spec_rules.DEFS), schema
    root = json.loads(json.dumps(spec_rules.SCHEMAS[schema] if schema in spec_rules.SCHEMAS
                                 else spec_rules.DEFS[schema]))
    return derivation._at(root, path, json.loads(json.dumps(spec_rules.DEFS)))


def test_newer_rules_are_in_the_derived_rules() -> None:
    """Each :data:`NEWER` row (what the client sends that the spec predates) is in the derived rules."""
    for schema, path, rule, why in derivation.NEWER:
        node = _derived_node(schema, path, why)
        if "+anyOf" in rule:  # members added to a union
            assert all(member in node["anyOf"] for member in rule["+anyOf"]), (schema, path)
            continue
        options = [o for o in node.get("anyOf", ()) if o.get("type") != ["null"]]
        for target in [node] if "anyOf" in rule else options or [node]:
            assert all(target.get(key) == value for key, value in rule.items()), (schema, path, target)


def test_taken_rules_are_in_the_derived_rules() -> None:
    """Each :data:`TAKEN` row (what OpenAI takes that the spec refuses) is in the derived rules."""
    for schema, path, rule, why in derivation.TAKEN:
        node = _derived_node(schema, path, why)
        assert all(node.get(key) == value for key, value in rule.items()), (schema, path, node)


def test_every_served_request_has_its_rules_and_model() -> None:
    assert set(derivation.SCHEMAS) == set(SCHEMA_OF.values()) == set(spec_rules.SCHEMAS)
    for name, source in derivation.SOURCES.items():
        assert name in derivation.SCHEMAS and source, name


def test_relaxed_requirements_are_the_spec_s() -> None:
    """Each requirement :data:`RELAXED` drops is one the spec states, and is dropped."""
    schemas = _spec()["components"]["schemas"]
    for schema, keys, why in derivation.RELAXED:
        assert set(keys) <= set(schemas[schema]["required"]) and why, schema
        assert not set(keys) & set(spec_rules.DEFS[schema].get("required", ())), schema


@pytest.mark.parametrize("endpoint", MODEL_FIRST)
async def test_an_unknown_model_is_a_404_before_any_field(client: httpx.AsyncClient, endpoint: str) -> None:
    body = {"model": "no-such-model", "temperature": 99, "n": -1, "speed": 99, "input": [], "messages": [],
            "name": 5, "max_output_tokens": 1}
    r = await client.post(endpoint, json=body)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "model_not_found"


async def test_a_model_of_another_task_is_answered_before_the_fields(client: httpx.AsyncClient) -> None:
    r = await client.post(CHAT, json={"model": "text-embedding-3-small", "messages": []})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"


@pytest.mark.parametrize("fields", [
    {"audio": {"voice": "alloy", "format": "wav"}},  # audio without the audio modality: ignored
    {"prediction": {"type": "content", "content": "hi"}},
    {"logit_bias": {"50256": -100}, "top_logprobs": 3, "logprobs": True, "metadata": {"k": "v"}, "store": True},
    {"stop": "x", "service_tier": "auto", "verbosity": "low", "store": False},
])
async def test_what_openai_takes_is_taken(client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    r = await client.post(CHAT, json={**BASES[CHAT], **fields})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("endpoint", "fields"), [
    # what the spec's SDK types require and OpenAI does not (tests/spec/rules.py RELAXED)
    (RESPONSES, {"tools": [{"type": "function", "name": "get_weather"}]}),
    (RESPONSES, {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]}),
    (RESPONSES, {"input": [USER, {"type": "message", "role": "assistant",
                                  "content": [{"type": "output_text", "text": "hello"}]}, USER]}),
    (RESPONSES, {"input": [USER, {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
                                  "content": [{"type": "output_text", "text": "hello", "annotations": []}]}]}),
    (RESPONSES, {"input": [USER, {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]}, USER]}),
    (ITEMS, {"items": [{"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]}]}),
    # what OpenAI's client 3.63.0 sends that the spec predates (tests/spec/rules.py NEWER)
    (IMAGES, {"quality": "xhigh", "output_format": "gif", "complexity": "high", "frame_count": 4,
              "frame_duration_ms": 100, "svg": {"model": "x", "reasoning": {"effort": "low"}}}),
    (RESPONSES, {"prompt_cache_options": {"ttl": "12h"}, "access_programs": {"cyber": "standard"},
                 "background_options": {"completion_window": "2h", "continuation_id": "c"},
                 "image": {"context_compression": "auto"}}),
    (COMPACT, {"prompt_cache_options": {"ttl": "12h"}, "image": {"context_compression": "disabled"}}),
    # what OpenAI takes that the spec refuses, as libraries send it (tests/spec/rules.py TAKEN)
    (RESPONSES, {"user": None}),
    (CHAT, {"user": None}),
    (RESPONSES, {"frequency_penalty": -2, "presence_penalty": 1.5}),
    # allOf: [{$ref}, {nullable: true}] takes null
    (STORE, {"expires_after": None}),
    (RUNS, {"truncation_strategy": None, "tool_choice": None, "response_format": None}),
])
def test_what_openai_takes_on_the_stateful_endpoints_is_taken(endpoint: str, fields: dict[str, Any]) -> None:
    spec_rules.check(SCHEMA_OF[endpoint], {**BASES[endpoint], **fields})


def test_unions_name_the_deepest_place_that_went_wrong() -> None:
    with pytest.raises(Exception) as info:
        spec_rules.check("CreateCompletionRequest", {"prompt": [[1, 2], []]})
    assert getattr(info.value, "param", None) == "prompt[1]"
    spec_rules.check("NotAnOpenAISchema", {"anything": 1})  # only the derived schemas are checked


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
