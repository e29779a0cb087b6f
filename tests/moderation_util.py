"""What the tests of the two moderating doors (chat completions, responses) share: the moderation model, a
``moderation`` parameter, and the ``moderation`` values each door refuses with a 400."""

from __future__ import annotations

from typing import Any

GUARD = "@cf/meta/llama-guard-3-8b"
MODERATED = {"model": "omni-moderation-latest"}

# (moderation, the 400's param, its code)
UNMODERATABLE: list[tuple[dict[str, Any], str, str]] = [
    ({}, "moderation.model", "missing_required_parameter"),  # ModerationParam requires its model
    ({"policy": None}, "moderation.model", "missing_required_parameter"),
    ({**MODERATED, "policy": {"input": {}}}, "moderation.policy.input.mode", "missing_required_parameter"),
    ({"model": "gpt-4o-mini"}, "moderation.model", "model_not_supported"),
    ({**MODERATED, "policy": {"input": {"mode": "block"}}}, "moderation.policy.input.mode", "unsupported_value"),
    ({**MODERATED, "policy": {"output": {"mode": "block"}}}, "moderation.policy.output.mode", "unsupported_value"),
]
