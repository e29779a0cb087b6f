"""Catalog data: Workers AI models (from @cloudflare/workers-types and Cloudflare's model pages)."""

from __future__ import annotations

from .catalog import JSON_MODE, REASONING, STREAMING, TOOLS, VISION, ModelInfo

_chat = frozenset({STREAMING})

MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("@cf/meta/llama-3.1-8b-instruct", "text-generation", "meta", 7968, _chat | {TOOLS, JSON_MODE}, "llama"),
    ModelInfo("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "text-generation", "meta", 24000, _chat | {TOOLS, JSON_MODE}, "llama"),
    ModelInfo("@cf/meta/llama-3.2-11b-vision-instruct", "text-generation", "meta", 128000, _chat | {VISION}, "llama"),
    ModelInfo("@cf/qwen/qwq-32b", "text-generation", "qwen", 24000, _chat | {REASONING}, "qwen"),
    ModelInfo("@cf/openai/gpt-oss-20b", "text-generation", "openai", 128000, _chat | {REASONING}, "gpt-oss"),
    ModelInfo("@cf/baai/bge-base-en-v1.5", "text-embeddings", "baai", 512, frozenset(), dimensions=768, max_batch=100),
)

ALIASES: dict[str, str] = {
    "gpt-4o-mini": "@cf/meta/llama-3.1-8b-instruct",
    "gpt-3.5-turbo": "@cf/meta/llama-3.1-8b-instruct",
    "gpt-4o": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
}
