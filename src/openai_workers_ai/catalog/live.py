"""The static catalog with Workers AI's live catalog merged in, for ``GET /v1/models``.

The live list (``env.AI.models()`` in the Worker, ``GET …/ai/models/search`` over REST) is
fetched on first use and kept for ``LIVE_CATALOG_TTL`` seconds (0: never fetched). Models the
static catalog knows keep their static entry (:func:`with_live`). A failing
live call never fails a request: it is logged, and the static catalog is served (and the call
is not retried for :data:`RETRY_AFTER` seconds, so a broken upstream does not slow every listing).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..ports import AI
from .catalog import Catalog
from .model_info import REASONING, STREAMING, TOOLS, VISION, ModelInfo, owner

log = logging.getLogger(__name__)

RETRY_AFTER = 60.0
"""Seconds before a failed live call is tried again (at most the TTL)."""
PER_PAGE = 100
"""Models asked for per page of the live catalog (the binding's ``models()`` and the REST search API page):
both adapters (``adapters/workers.py``, ``adapters/local.py``) page by these."""
MAX_PAGES = 10
"""Pages read at most (1,000 models: far more than Workers AI lists)."""

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


_SEPARATORS = re.compile(r"[\s_]+")


def task_key(name: object) -> str | None:
    """``"Text Generation"`` → ``text-generation``; None for a missing or blank name."""
    if not isinstance(name, str) or not name.strip():
        return None
    return _SEPARATORS.sub("-", name.strip().lower())


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
        owned_by=owner(model_id),
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



@dataclass
class LiveCatalog:
    """Holds the merged catalog for the app's life (one per :class:`~openai_workers_ai.context.AppContext`).

    No lock: two requests that find it stale at once both fetch (harmless), and in the Worker
    one request may not await I/O another request started.
    """

    clock: Callable[[], float] = field(default=time.monotonic)
    _catalog: Catalog | None = None
    _expires: float = 0.0

    async def get(self, ai: AI, static: Catalog, ttl: float) -> Catalog:
        """``static`` plus the live models it lacks, fetched through ``ai.models()`` when the
        cached copy is older than ``ttl`` seconds; ``static`` alone when ``ai`` has no ``models``,
        ``ttl`` is 0 or the call fails."""
        models = getattr(ai, "models", None)
        if ttl <= 0 or not callable(models):
            return static
        now = self.clock()
        if self._catalog is not None and now < self._expires:
            return self._catalog
        try:
            entries = await models()
            merged = with_live(static, live_models(entries if isinstance(entries, list) else []))
        except Exception as exc:  # any failure: the listing still answers, from the static data
            log.warning("Workers AI's live model catalog is unavailable, serving the static one: %s", exc)
            self._catalog, self._expires = static, now + min(ttl, RETRY_AFTER)
            return static
        self._catalog, self._expires = merged, now + ttl
        return merged
