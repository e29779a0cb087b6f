"""The static catalog with Workers AI's live catalog merged in, for ``GET /v1/models``.

The live list (``env.AI.models()`` in the Worker, ``GET …/ai/models/search`` over REST) is
fetched on first use and kept for ``LIVE_CATALOG_TTL`` seconds (0: never fetched). Models the
static catalog knows keep their static entry (:func:`translate.catalog.with_live`). A failing
live call never fails a request: it is logged, and the static catalog is served (and the call
is not retried for :data:`RETRY_AFTER` seconds, so a broken upstream does not slow every listing).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .ports import AI
from .translate.catalog import Catalog, live_models, with_live

log = logging.getLogger(__name__)

RETRY_AFTER = 60.0
"""Seconds before a failed live call is tried again (at most the TTL)."""


@dataclass
class LiveCatalog:
    """Holds the merged catalog for the app's life (one per :class:`http.AppContext`).

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
