"""The model catalog: Workers AI models, their task and capabilities, and aliases.

A request's ``model`` may be a catalog id (``@cf/meta/llama-3.1-8b-instruct``),
any other ``@cf/`` or ``@hf/`` id (passed through to Workers AI with the
capabilities of its task guessed conservatively), or an alias
(``gpt-4o-mini``) from the built-in table or the ``MODEL_ALIASES`` setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ..errors import InvalidRequest, ModelNotFound
from . import models as data
from .model_info import ModelInfo, guess, owner, short_name


def _by_id(models: Iterable[ModelInfo]) -> dict[str, ModelInfo]:
    return {m.id: m for m in models}


def _by_short_name(ids: Iterable[str]) -> dict[str, str]:
    return {short_name(k).lower(): k for k in sorted(ids, reverse=True)}


def _by_lower(names: Iterable[str]) -> dict[str, str]:
    return {k.lower(): k for k in names}


# The built-in catalog's lookup tables, worked out once, at import (in the Worker, inside the
# deploy-time snapshot): ``create_app`` builds a Catalog per app, and copies these.
_MODELS = _by_id(data.MODELS)
_SHORT = _by_short_name(_MODELS)
_LOWER = _by_lower((*_MODELS, *data.ALIASES))


SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4})$")
"""A dated snapshot's suffix (``gpt-4o-2024-08-06``, ``gpt-4-0613``): a name with one that is no alias itself
resolves as the name without it, as OpenAI's snapshots are versions of the model their name names."""


class Catalog:
    """Resolves request model names to :class:`ModelInfo`."""

    def __init__(
        self,
        models: Iterable[ModelInfo] | None = None,
        aliases: Mapping[str, str] | None = None,
        default_model: str | None = None,
    ) -> None:
        if models is None:
            self.models: dict[str, ModelInfo] = dict(_MODELS)
            self._short = dict(_SHORT)
            self._lower = dict(_LOWER)
        else:
            self.models = _by_id(models)
            self._short = _by_short_name(self.models)
            self._lower = _by_lower((*self.models, *data.ALIASES))
        self.aliases: dict[str, str] = {**data.ALIASES, **(aliases or {})}
        self._lower.update(_by_lower(aliases or ()))
        self.default_model = default_model

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
        if key not in self.aliases and key not in self.models and (undated := SNAPSHOT.sub("", key)) != key:
            key = self._lower.get(undated.lower(), key)  # (a snapshot of no known name stays as asked: a 404)
        target = self.aliases.get(key, key)
        info = self.models.get(target)
        if info is None:
            if not target.startswith(("@cf/", "@hf/")):
                raise ModelNotFound(name)
            info = guess(target)
            if task is not None and info.task != task:
                info = ModelInfo(id=target, task=task, owned_by=owner(target))
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
