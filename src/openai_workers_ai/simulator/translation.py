"""Simulated translation models: M2M100 and IndicTrans2.

- ``@cf/meta/m2m100-1.2b``: ``{text, source_lang?, target_lang}`` →
  ``{translated_text}``. Convention: the translation is ``"[<target_lang>] <text>"``
  (``source_lang`` defaults to ``en``, as the model's schema says); text that
  starts with ``fail:<status>`` fails the call like Workers AI does.
- ``@cf/ai4bharat/indictrans2-en-indic-1B``: ``{text: str | str[], target_language}``
  → ``{translations: ["[<target_language>] <text>", …]}``.
"""

from __future__ import annotations

from typing import Any

from ..catalog import ModelInfo
from .failures import failure_for, invalid_input


def _maybe_fail(text: str) -> None:
    if text.startswith("fail:") and text[5:].strip().isdigit():
        raise failure_for(int(text[5:].strip()))


def run(model: ModelInfo, inputs: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(inputs, dict):
        raise invalid_input("Type mismatch of '/', 'object' not in 'object'")
    if model.family == "indictrans":
        texts = inputs.get("text")
        target = inputs.get("target_language")
        items = [texts] if isinstance(texts, str) else texts
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise invalid_input("required properties at '/' are 'text,target_language'")
        if not isinstance(target, str):
            raise invalid_input("required properties at '/' are 'text,target_language'")
        for t in items:
            _maybe_fail(t)
        return {"translations": [f"[{target}] {t}" for t in items]}
    text, target, source = inputs.get("text"), inputs.get("target_lang"), inputs.get("source_lang", "en")
    if not isinstance(text, str) or not isinstance(target, str):
        raise invalid_input("required properties at '/' are 'text,target_lang'")
    if not isinstance(source, str):
        raise invalid_input("Type mismatch of '/source_lang', 'string' not in 'string'")
    _maybe_fail(text)
    return {"translated_text": f"[{target}] {text}"}
