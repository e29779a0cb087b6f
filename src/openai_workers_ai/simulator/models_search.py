"""The simulator's live catalog: its models as Workers AI lists them (``env.AI.models()``,
``GET /accounts/{id}/ai/models/search``), in the binding's ``AiModelsSearchObject`` shape.

``{id, source, name, description, task: {id, name, description}, tags, properties: [{property_id, value}]}``
with values as strings, as Workers AI writes them. Conventions:

- ``id`` (and ``task.id``) are UUIDs derived from the model (task) name, so they are stable.
- ``source`` is 1 for ``@cf/`` models, 2 for ``@hf/`` ones; ``tags`` is empty.
- properties where the catalog knows them: ``context_window`` (``max_input_tokens`` for
  embedding models, as Workers AI lists those), ``output_dimensions``, ``function_calling``,
  ``vision``, ``reasoning``, ``beta``, ``lora`` (``"true"``), and ``planned_deprecation_date``
  for deprecated models. The catalog knows which models are deprecated, not when: the simulator
  says :data:`DEPRECATION_DATE` for all of them.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..catalog import REASONING, TOOLS, VISION, Catalog, ModelInfo
from ..catalog.live import TASK_NAMES

DEPRECATION_DATE = "2025-10-01"
"""A stand-in date (the static catalog marks models deprecated without one)."""

_NAMESPACE = uuid.UUID("8f7d4c2e-4b1a-4c3d-9e5f-0a1b2c3d4e5f")
_FLAGS = ((TOOLS, "function_calling"), (VISION, "vision"), (REASONING, "reasoning"))


def _uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def search_object(info: ModelInfo) -> dict[str, Any]:
    """``info`` as one ``AiModelsSearchObject``."""
    properties: list[dict[str, Any]] = []

    def add(property_id: str, value: object) -> None:
        properties.append({"property_id": property_id, "value": str(value)})

    if info.context_window:
        add("max_input_tokens" if info.task == "text-embeddings" else "context_window", info.context_window)
    if info.dimensions:
        add("output_dimensions", info.dimensions)
    for capability, property_id in _FLAGS:
        if info.supports(capability):
            add(property_id, "true")
    for flag in ("beta", "lora"):
        if info.extra.get(flag):
            add(flag, "true")
    if info.extra.get("deprecated"):
        add("planned_deprecation_date", DEPRECATION_DATE)
    task_name = TASK_NAMES.get(info.task, info.task.replace("-", " ").title())
    return {
        "id": _uuid(info.id),
        "source": 2 if info.id.startswith("@hf/") else 1,
        "name": info.id,
        "description": info.description,
        "task": {"id": _uuid(task_name), "name": task_name, "description": ""},
        "tags": [],
        "properties": properties,
    }


def search_objects(catalog: Catalog) -> list[dict[str, Any]]:
    """Every model of ``catalog``, in catalog order."""
    return [search_object(info) for info in catalog.models.values()]
