"""The model catalog: Workers AI models, their task and capabilities, and aliases.

A request's ``model`` may be a catalog id (``@cf/meta/llama-3.1-8b-instruct``),
any other ``@cf/`` or ``@hf/`` id (passed through to Workers AI with the
capabilities of its task guessed conservatively), or an alias
(``gpt-4o-mini``) from the built-in table or the ``MODEL_ALIASES`` setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


# --- the live catalog ------------------------------------------------------------------------

# Workers AI's task names (``AiModelsSearchObject.task.name``) for the catalog's task keys.
# Names not listed here are turned into keys the same way ("Voice Activity Detection" → voice-activity-detection).
TASK_NAMES: dict[str, str] = {
    "text-generation": "Text Generation",
    "text-embeddings": "Text Embeddings",
    "automatic-speech-recognition": "Automatic Speech Recognition",
    "translation": "Translation",
    "text-to-image": "Text-to-Image",
    "text-to-speech": "Text-to-Speech",
    "image-to-text": "Image-to-Text",
    "text-classification": "Text Classification",
    "image-classification": "Image Classification",
    "summarization": "Summarization",
    "object-detection": "Object Detection",
    "voice-activity-detection": "Voice Activity Detection",
}

# Boolean properties of the live catalog → capabilities.
_FLAGS = {"function_calling": TOOLS, "vision": VISION, "reasoning": REASONING}


def task_key(name: object) -> str | None:
    """``"Text Generation"`` → ``text-generation``; None for a missing or blank name."""
    if not isinstance(name, str) or not name.strip():
        return None
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def _flag(value: object) -> bool:
    # The live catalog writes booleans as strings ("true"); the binding's type says string, but don't rely on it.
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if text.isdigit() and int(text) > 0:
            return int(text)
    return None


def live_model(entry: Mapping[str, Any]) -> ModelInfo | None:
    """One live catalog entry (the binding's ``AiModelsSearchObject``: ``{id, source, name, description,
    task: {name}, tags, properties: [{property_id, value}]}``) as a :class:`ModelInfo`; None when it names
    no model. Unknown task names are kept (as keys), odd property values ignored."""
    model_id = entry.get("name")
    if not isinstance(model_id, str) or not model_id.strip():
        return None
    model_id = model_id.strip()
    task = entry.get("task")
    properties: dict[str, object] = {}
    raw_properties = entry.get("properties")
    for prop in raw_properties if isinstance(raw_properties, list) else ():
        if isinstance(prop, Mapping) and isinstance(prop.get("property_id"), str):
            properties.setdefault(prop["property_id"], prop.get("value"))
    kind = task_key(task.get("name") if isinstance(task, Mapping) else None) or "unknown"
    capabilities = {cap for name, cap in _FLAGS.items() if _flag(properties.get(name))}
    if kind == "text-generation":
        capabilities.add(STREAMING)  # every Workers AI text-generation model streams
    extra: dict[str, object] = {}
    if isinstance(properties.get("planned_deprecation_date"), str):
        extra = {"deprecated": True, "planned_deprecation_date": properties["planned_deprecation_date"]}
    description = entry.get("description")
    return ModelInfo(
        id=model_id,
        task=kind,
        owned_by=_owner(model_id),
        context_window=_count(properties.get("context_window")) or _count(properties.get("max_input_tokens")),
        capabilities=frozenset(capabilities),
        dimensions=_count(properties.get("output_dimensions")),
        description=description if isinstance(description, str) else "",
        extra=extra,
    )


def live_models(entries: Iterable[object]) -> list[ModelInfo]:
    """The live catalog's entries as :class:`ModelInfo` (entries that name no model skipped; first of a name wins)."""
    out: dict[str, ModelInfo] = {}
    for entry in entries:
        info = live_model(entry) if isinstance(entry, Mapping) else None
        if info is not None:
            out.setdefault(info.id, info)
    return list(out.values())


def with_live(catalog: Catalog, live: Iterable[ModelInfo]) -> Catalog:
    """``catalog`` plus the ``live`` models it does not know (ids compared case-insensitively).

    The static data stays authoritative for the models it has: it knows each one's input format
    (``family``), limits and aliases, which the live catalog does not say.
    """
    known = {model_id.lower() for model_id in catalog.models}
    added: list[ModelInfo] = []
    for info in live:
        if info.id.lower() not in known:
            known.add(info.id.lower())
            added.append(info)
    if not added:
        return catalog
    return Catalog([*catalog.models.values(), *added], catalog.aliases, catalog.default_model)
