"""The model catalog: what the gateway knows of each Workers AI model, and how names resolve.

- :mod:`.model_info`: :class:`ModelInfo` and the capability names (``TOOLS``, ``VISION`` …);
- :mod:`.models`: the static data (every model, its family and limits; the aliases);
- :mod:`.catalog`: :class:`Catalog`, which resolves a request's ``model`` to a :class:`ModelInfo`;
- :mod:`.live`: Workers AI's live catalog merged in for ``GET /v1/models``.
"""

from .catalog import Catalog
from .model_info import JSON_MODE, REASONING, STREAMING, TOOLS, VISION, ModelInfo, short_name

__all__ = ["JSON_MODE", "REASONING", "STREAMING", "TOOLS", "VISION", "Catalog", "ModelInfo", "short_name"]
