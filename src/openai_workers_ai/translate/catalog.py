"""The model catalog: Workers AI models, their task and capabilities, and aliases.

A request's ``model`` may be a catalog id (``@cf/meta/llama-3.1-8b-instruct``),
any other ``@cf/`` or ``@hf/`` id (passed through to Workers AI with the
capabilities of its task guessed conservatively), or an alias
(``gpt-4o-mini``) from the built-in table or the ``MODEL_ALIASES`` setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import InvalidRequest, ModelNotFound

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


def _owner(model_id: str) -> str:
    # "@cf/meta/llama-3.1-8b-instruct" → "meta"
    parts = model_id.split("/")
    return parts[1] if len(parts) > 2 else "cloudflare"


def short_name(model_id: str) -> str:
    """``@cf/meta/llama-3.1-8b-instruct`` → ``llama-3.1-8b-instruct``."""
    return model_id.rsplit("/", 1)[-1]


def _guess(model_id: str) -> ModelInfo:
    """An uncatalogued ``@cf/``/``@hf/`` id: assume a plain chat model, no extras."""
    return ModelInfo(
        id=model_id,
        task="text-generation",
        owned_by=_owner(model_id),
        capabilities=frozenset({STREAMING}),
    )


class Catalog:
    """Resolves request model names to :class:`ModelInfo`."""

    def __init__(
        self,
        models: Iterable[ModelInfo] | None = None,
        aliases: Mapping[str, str] | None = None,
        default_model: str | None = None,
    ) -> None:
        from . import models_data  # the data imports ModelInfo from here

        self.models: dict[str, ModelInfo] = {
            m.id: m for m in (models_data.MODELS if models is None else models)
        }
        self.aliases: dict[str, str] = {**models_data.ALIASES, **(aliases or {})}
        self.default_model = default_model
        self._lower = {k.lower(): k for k in (*self.models, *self.aliases)}
        self._short = {short_name(k).lower(): k for k in sorted(self.models, reverse=True)}

    def resolve(self, name: str | None, *, task: str | None = None, param: str = "model") -> ModelInfo:
        """The model a request names (an alias, a catalog id, or any ``@cf/``/``@hf/`` id).

        ``task`` restricts the answer: asking a chat endpoint for an embeddings
        model is a 400, an unknown name a 404 ``model_not_found``.
        """
        if not name:
            if self.default_model is None:
                raise InvalidRequest("you must provide a model parameter", param=param)
            name = self.default_model
        key = self._lower.get(name.lower(), name)
        target = self.aliases.get(key, key)
        info = self.models.get(target)
        if info is None:
            if not target.startswith(("@cf/", "@hf/")):
                raise ModelNotFound(name)
            info = _guess(target)
            if task is not None and info.task != task:
                info = ModelInfo(id=target, task=task, owned_by=_owner(target))
        if task is not None and info.task != task:
            raise InvalidRequest(
                f"The model `{name}` is a {info.task} model and cannot be used for {task}.",
                param=param,
                code="model_not_supported",
            )
        return info

    def by_short_name(self, name: str) -> ModelInfo | None:
        """The catalogued model whose id ends in ``name`` (``llama-3.1-8b-instruct`` →
        ``@cf/meta/llama-3.1-8b-instruct``; ``@cf/`` wins over ``@hf/``), or None."""
        model_id = self._short.get(name.lower())
        return None if model_id is None else self.models[model_id]

    def aliases_of(self, model_id: str) -> list[str]:
        """The configured aliases that name ``model_id``."""
        return [alias for alias, target in self.aliases.items() if target == model_id]
