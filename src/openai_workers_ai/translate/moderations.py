"""OpenAI moderations ⇄ Llama Guard 3 (``@cf/meta/llama-guard-3-8b``), pure.

Each input is classified as one user message. Llama Guard answers ``safe`` or
``unsafe`` with hazard codes S1–S14; they map onto OpenAI's categories as
below (a code may set several). ``flagged`` is Llama Guard's own verdict, so
an input flagged only for a code with no OpenAI counterpart (S6, S13) is
``flagged`` with every category false: the raw codes are in
``llama_guard_categories``. Llama Guard gives no probabilities, so a
category's score is 1.0 when set and 0.0 otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import UpstreamError

CATEGORIES: tuple[str, ...] = (
    "harassment", "harassment/threatening", "sexual", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm/intent", "self-harm/instructions", "self-harm", "sexual/minors", "violence", "violence/graphic",
)
"""OpenAI's categories in the order omni-moderation sends them, in ``categories``, ``category_scores`` and
``category_applied_input_types`` alike (openai/openai-dotnet tests/SessionRecords/ModerationsTests/
ClassifySingleInput.json, ClassifyMultipleInputs.json, ClassifyInputsWithTextAndImage.json)."""

# Llama Guard 3 hazard taxonomy (MLCommons) → OpenAI moderation categories.
HAZARDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "S1": ("Violent Crimes", ("violence", "illicit/violent")),
    "S2": ("Non-Violent Crimes", ("illicit",)),
    "S3": ("Sex-Related Crimes", ("sexual", "illicit/violent")),
    "S4": ("Child Sexual Exploitation", ("sexual", "sexual/minors")),
    "S5": ("Defamation", ("harassment",)),
    "S6": ("Specialized Advice", ()),
    "S7": ("Privacy", ("harassment",)),
    "S8": ("Intellectual Property", ("illicit",)),
    "S9": ("Indiscriminate Weapons", ("violence", "illicit/violent")),
    "S10": ("Hate", ("hate",)),
    "S11": ("Suicide & Self-Harm", ("self-harm", "self-harm/intent", "self-harm/instructions")),
    "S12": ("Sexual Content", ("sexual",)),
    "S13": ("Elections", ()),
    "S14": ("Code Interpreter Abuse", ("illicit",)),
}
# Threats: hate or harassment together with a violent hazard.
THREATENING = {"hate": "hate/threatening", "harassment": "harassment/threatening"}
VIOLENT = frozenset({"S1", "S9"})
_CODE = re.compile(r"\bS(1[0-4]|[1-9])\b")


def guard_inputs(text: str) -> dict[str, Any]:
    """The Llama Guard call for one input (JSON output: ``{safe, categories}``)."""
    return {"messages": [{"role": "user", "content": text}], "response_format": {"type": "json_object"}}


def verdict(output: Any) -> tuple[bool, list[str]]:
    """(unsafe, hazard codes) from ``{response: {safe, categories}}`` or ``{response: "unsafe\\nS1,S10"}``."""
    response = output.get("response") if isinstance(output, dict) else None
    if isinstance(response, dict):
        codes = [str(c).strip().upper() for c in response.get("categories") or []]
        return response.get("safe") is False or bool(codes), _known(codes)
    if isinstance(response, str):
        text = response.strip()
        if text.lower().startswith("unsafe"):
            return True, _known(f"S{m}" for m in _CODE.findall(text))
        if text.lower().startswith("safe"):
            return False, []
    raise UpstreamError("Llama Guard returned no safe/unsafe verdict.")


def _known(codes: Any) -> list[str]:
    out: list[str] = []
    for code in codes:
        if code in HAZARDS and code not in out:
            out.append(code)
    return out


def result(unsafe: bool, codes: list[str]) -> dict[str, Any]:
    """One entry of OpenAI's ``results``, plus ``llama_guard_categories``."""
    flagged_categories = {name for code in codes for name in HAZARDS[code][1]}
    if VIOLENT & set(codes):
        flagged_categories |= {THREATENING[c] for c in THREATENING if c in flagged_categories}
    return {
        "flagged": unsafe,
        "categories": {name: name in flagged_categories for name in CATEGORIES},
        "category_scores": {name: 1.0 if name in flagged_categories else 0.0 for name in CATEGORIES},
        # Every category is scored on the text (the only input type Llama Guard 3 8B reads).
        "category_applied_input_types": {name: ["text"] for name in CATEGORIES},
        "llama_guard_categories": codes,
    }
