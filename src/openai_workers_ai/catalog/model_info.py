"""What the gateway knows of one Workers AI model (:class:`ModelInfo`) and the capability names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Capability names used across the translators.
TOOLS = "tools"  # function calling
VISION = "vision"  # image inputs
JSON_MODE = "json_mode"  # response_format json_object / json_schema
REASONING = "reasoning"  # emits thinking separately from the answer
STREAMING = "streaming"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A Workers AI model as the gateway needs to know it."""

    id: str
    task: str
    """Workers AI task: text-generation, text-embeddings, automatic-speech-recognition,
    translation, text-to-image, text-to-speech, image-to-text, text-classification, …"""
    owned_by: str
    context_window: int | None = None
    capabilities: frozenset[str] = frozenset()
    family: str | None = None
    """Input format family for text generation (e.g. ``gpt-oss`` takes Responses-style input)."""
    dimensions: int | None = None
    """Embedding size, for text-embeddings models."""
    max_batch: int | None = None
    """Most inputs Workers AI takes in one call (embeddings)."""
    description: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    def supports(self, capability: str) -> bool:
        """Whether the model has ``capability`` (TOOLS, VISION, JSON_MODE, REASONING, STREAMING)."""
        return capability in self.capabilities

    def names(self, key: str) -> tuple[str, ...]:
        """A tuple-valued ``extra`` entry (``voices``, ``reasoning_effort``); empty when absent."""
        value = self.extra.get(key)
        return value if isinstance(value, tuple) else ()


def owner(model_id: str) -> str:
    # "@cf/meta/llama-3.1-8b-instruct" → "meta"
    parts = model_id.split("/")
    return parts[1] if len(parts) > 2 else "cloudflare"


def short_name(model_id: str) -> str:
    """``@cf/meta/llama-3.1-8b-instruct`` → ``llama-3.1-8b-instruct``."""
    return model_id.rsplit("/", 1)[-1]


def guess(model_id: str) -> ModelInfo:
    """An uncatalogued ``@cf/``/``@hf/`` id: assume a plain chat model, no extras."""
    return ModelInfo(
        id=model_id,
        task="text-generation",
        owned_by=owner(model_id),
        capabilities=frozenset({STREAMING}),
    )


