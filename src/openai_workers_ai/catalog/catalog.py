"""The model catalog: Workers AI models, their task and capabilities, and aliases.

A request's ``model`` may be a catalog id (``@cf/meta/llama-3.1-8b-instruct``),
any other ``@cf/`` or ``@hf/`` id (passed through to Workers AI with the
capabilities of its task guessed conservatively), or an alias
(``gpt-4o-mini``) from the built-in table or the ``MODEL_ALIASES`` setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..errors import InvalidRequest, ModelNotFound
from . import models as data
from .model_info import ModelInfo, guess, owner, short_name


class Catalog:
    """Resolves request model names to :class:`ModelInfo`."""

    def __init__(
        self,
        models: Iterable[ModelInfo] | None = None,
        aliases: Mapping[str, str] | None = None,
        default_model: str | None = None,
    ) -> None:
        self.models: dict[str, ModelInfo] = {
            m.id: m for m in (data.MODELS if models is None else models)
        }
        self.aliases: dict[str, str] = {**data.ALIASES, **(aliases or {})}
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
