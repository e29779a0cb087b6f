"""Ollama model names and model listings over the Workers AI catalog (pure).

A name (:func:`resolve`) may be a configured or built-in alias, a Workers AI id,
a short id (``llama-3.1-8b-instruct``, optionally ``:latest`` — how ``/api/tags``
lists models), or an Ollama library name where Workers AI hosts that model
(``llama3.1:8b``, table :data:`OLLAMA_NAMES`), or the name of one of Ollama's cloud models
(``gpt-oss:120b-cloud``, ``glm-5.2:cloud``) where Workers AI hosts the same model (table
:data:`OLLAMA_CLOUD_NAMES`).

Listings report only what is known: family, parameter size and quantization as
the model's name states them, context length and embedding size from the
catalog; ``digest`` is the SHA-256 of the Workers AI id (stable, not a hash of
any weights).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from ..catalog import REASONING, TOOLS, VISION, Catalog, ModelInfo, short_name
from ..errors import InvalidRequest, ModelNotFound

# Ollama library names → Workers AI ids, where the same model (or its closest hosted build) exists.
OLLAMA_NAMES: dict[str, str] = {
    "llama2:7b": "@cf/meta/llama-2-7b-chat-fp16",
    "llama3:8b": "@cf/meta/llama-3-8b-instruct",
    "llama3.1:8b": "@cf/meta/llama-3.1-8b-instruct",
    "llama3.1:70b": "@cf/meta/llama-3.1-70b-instruct",
    "llama3.2:1b": "@cf/meta/llama-3.2-1b-instruct",
    "llama3.2:3b": "@cf/meta/llama-3.2-3b-instruct",
    "llama3.2-vision:11b": "@cf/meta/llama-3.2-11b-vision-instruct",
    "llama3.3:70b": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "llama4:scout": "@cf/meta/llama-4-scout-17b-16e-instruct",
    "llama-guard3:8b": "@cf/meta/llama-guard-3-8b",
    "gemma3:12b": "@cf/google/gemma-3-12b-it",
    "mistral:7b": "@cf/mistral/mistral-7b-instruct-v0.1",
    "mistral-small3.1:24b": "@cf/mistralai/mistral-small-3.1-24b-instruct",
    "qwq:32b": "@cf/qwen/qwq-32b",
    "qwen2.5-coder:32b": "@cf/qwen/qwen2.5-coder-32b-instruct",
    "qwen3:30b": "@cf/qwen/qwen3-30b-a3b-fp8",
    "deepseek-r1:32b": "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
    "gpt-oss:20b": "@cf/openai/gpt-oss-20b",
    "gpt-oss:120b": "@cf/openai/gpt-oss-120b",
    "granite4:micro-h": "@cf/ibm-granite/granite-4.0-h-micro",
    "embeddinggemma:300m": "@cf/google/embeddinggemma-300m",
    "bge-large:335m": "@cf/baai/bge-large-en-v1.5",
    "qwen3-embedding:0.6b": "@cf/qwen/qwen3-embedding-0.6b",
}
# A bare library name means its default tag (Ollama's ``:latest``).
OLLAMA_DEFAULT_TAGS = {
    "llama2": "llama2:7b", "llama3": "llama3:8b", "llama3.1": "llama3.1:8b", "llama3.2": "llama3.2:3b",
    "llama3.2-vision": "llama3.2-vision:11b", "llama3.3": "llama3.3:70b", "llama4": "llama4:scout",
    "llama-guard3": "llama-guard3:8b", "gemma3": "gemma3:12b", "mistral": "mistral:7b",
    "mistral-small3.1": "mistral-small3.1:24b", "qwq": "qwq:32b", "qwen2.5-coder": "qwen2.5-coder:32b",
    "qwen3": "qwen3:30b", "deepseek-r1": "deepseek-r1:32b", "gpt-oss": "gpt-oss:20b",
    "embeddinggemma": "embeddinggemma:300m", "qwen3-embedding": "qwen3-embedding:0.6b",
    "bge-large": "bge-large:335m",
}

# Ollama's cloud models, by the name ollama.com serves them under (the request's name without its ``-cloud`` or
# ``:cloud`` suffix) → the same model on Workers AI. Only where it is the same model: ``kimi-k2:1t`` (K2-0905),
# ``deepseek-v3.1:671b``, ``qwen3-coder:480b``, ``glm-4.6``, ``minimax-m2``, ``qwen3-vl:235b`` and ``gemma4:31b``
# have none, and stay Ollama's 404.
OLLAMA_CLOUD_NAMES: dict[str, str] = {
    "gpt-oss:20b": "@cf/openai/gpt-oss-20b",
    "gpt-oss:120b": "@cf/openai/gpt-oss-120b",
    "kimi-k2.5": "@cf/moonshotai/kimi-k2.5",
    "kimi-k2.6": "@cf/moonshotai/kimi-k2.6",
    "glm-5.2": "@cf/zai-org/glm-5.2",
    "glm-5.3": "@cf/zai-org/glm-5.3",
    "deepseek-v4-flash": "@cf/deepseek-ai/deepseek-v4-flash-0731",
    "deepseek-v4-pro": "@cf/deepseek-ai/deepseek-v4-pro-0813",
    "nemotron-3-super": "@cf/nvidia/nemotron-3-120b-a12b",  # Nemotron 3 Super: 120B, 12B active
}

# How Ollama words what a model of each task is for ("x" does not support <action>).
ACTIONS = {"text-generation": "chat", "text-embeddings": "embeddings"}


def resolve(catalog: Catalog, name: str | None, task: str | None = None, action: str = "") -> ModelInfo:
    """The model an Ollama request names; 404 ``model 'x' not found`` if none matches,
    400 ``"x" does not support <action>`` if it is a model for another task."""
    info = _lookup(catalog, name)
    if task is not None and info.task != task:
        raise InvalidRequest(f'"{name}" does not support {action or ACTIONS.get(task, task)}')
    return info


def _lookup(catalog: Catalog, name: str | None) -> ModelInfo:
    if not name:
        return catalog.resolve(name)
    base, _, tag = name.partition(":")
    # Workers AI ids carry no tag: "@cf/…:latest" must not pass for an uncatalogued id.
    info = _known(catalog, name, guess=not (tag and name.startswith(("@cf/", "@hf/"))))
    if info is not None:
        return info
    lowered, untagged = name.lower(), tag.lower() in ("", "latest")
    library = OLLAMA_NAMES.get(lowered) or (
        OLLAMA_NAMES.get(OLLAMA_DEFAULT_TAGS.get(base.lower(), "")) if untagged else None
    )
    candidates = [library] if library else []
    candidates += [base] if untagged else [f"{base}-{tag}"]
    for candidate in candidates:
        info = catalog.by_short_name(candidate) or _known(catalog, candidate, guess=True)
        if info is not None:
            return info
    info = _cloud(catalog, name)
    if info is not None:
        return info
    raise ModelNotFound(name)


def _cloud(catalog: Catalog, name: str) -> ModelInfo | None:
    """The Workers AI model a cloud model's name stands for, or None. The name is read as Ollama's
    ``modelref.ParseRef`` (``internal/modelref/modelref.go``) reads it: a last tag ``cloud``
    (``glm-5.2:cloud``, ``gpt-oss:120b:cloud``) or ending in ``-cloud`` (``gpt-oss:120b-cloud``), in any case,
    names the model ollama.com serves as what precedes it."""
    base, colon, tag = name.rpartition(":")
    tag = tag.strip().lower()
    if tag != "cloud":
        if not colon or "/" in tag or not tag.endswith("-cloud"):
            return None
        base = f"{base}:{tag.removesuffix('-cloud')}"
    model_id = OLLAMA_CLOUD_NAMES.get(base.lower().removesuffix(":latest"))
    return catalog.models.get(model_id) if model_id else None


def _known(catalog: Catalog, name: str, *, guess: bool) -> ModelInfo | None:
    """What :meth:`Catalog.resolve` makes of ``name`` (an alias or id), or None."""
    try:
        info = catalog.resolve(name)
    except ModelNotFound:
        return None
    return info if guess or info.id in catalog.models else None


# ---- model listing (/api/tags, /api/show, /api/ps) --------------------------------------------

_SIZE = re.compile(r"(?:^|-)(\d+(?:\.\d+)?)([bm])(?=-|$)", re.IGNORECASE)
_QUANT = re.compile(r"(?:^|-)(fp8|fp16|bf16|int8|awq)(?=-|$)", re.IGNORECASE)
_LETTERS = re.compile(r"[a-z]+")


def listed_name(info: ModelInfo) -> str:
    """How ``/api/tags`` names a model: its short id with Ollama's default tag."""
    return f"{short_name(info.id)}:latest"


def digest(model_id: str) -> str:
    """A stable identifier: SHA-256 of the Workers AI model id (not of any weights)."""
    return hashlib.sha256(model_id.encode()).hexdigest()


def model_family(info: ModelInfo) -> str | None:
    """Ollama's ``details.family`` for a model (``llama``, ``gpt-oss`` …)."""
    short = short_name(info.id).lower()
    if short.startswith("gpt-oss"):
        return "gpt-oss"
    match = _LETTERS.match(short)
    return match.group(0) if match else None


def details(info: ModelInfo) -> dict[str, Any]:
    """Ollama's ``details``: what the model's name states; ``""`` where it states nothing (Go's zero value,
    as Ollama writes an unknown string; ``families`` null when empty, as Go writes a nil list)."""
    short = short_name(info.id)
    family = model_family(info)
    size = _SIZE.search(short)
    quant = _QUANT.search(short)
    return {
        "parent_model": "",
        "format": "",
        "family": family or "",
        "families": [family] if family else None,
        "parameter_size": f"{size.group(1)}{size.group(2).upper()}" if size else "",
        "quantization_level": quant.group(1).upper() if quant else "",
    }


def capabilities(info: ModelInfo) -> list[str]:
    """Ollama's capability names for a model."""
    if info.task == "text-embeddings":
        return ["embedding"]
    caps = ["completion"]
    caps += ["tools"] if info.supports(TOOLS) else []
    caps += ["vision"] if info.supports(VISION) else []
    caps += ["thinking"] if info.supports(REASONING) else []
    return caps


def model_info(info: ModelInfo) -> dict[str, Any]:
    """Ollama's ``model_info`` keys, only for facts the catalog has."""
    arch = model_family(info) or "unknown"
    out: dict[str, Any] = {"general.architecture": arch, "general.basename": short_name(info.id)}
    if info.context_window:
        out[f"{arch}.context_length"] = info.context_window
    if info.dimensions:
        out[f"{arch}.embedding_length"] = info.dimensions
    return out


def iso(ts: float) -> str:
    """RFC 3339 in UTC as Ollama's Go encoder writes a time (``golang/go`` ``src/time/format_rfc3339.go``): the
    fraction (microseconds here) without its trailing zeros, and without the dot when nothing is left."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"
