"""The JSON schema a conversation asks for in its text, for the simulator's ``json_object`` (and fenced) answers.

Programs that ask for ``response_format: {"type": "json_object"}`` usually say in a message what the
object must look like: instructor's JSON mode puts the schema, indented, in the system message;
LangChain's output parsers give an example schema, then the real one in a code block; pydantic-ai's
prompted output writes it in the instructions. The schema found is the last JSON object in the system,
developer and user messages (or the prompt) with ``properties`` that are all schemas and no ``type``
but ``object``, or a ``$ref`` into its own ``$defs``. Looked for only in JSON-object mode, and when the last
user message asks for the answer in a ```json code block (instructor's MD_JSON mode: ``chat_behaviour.FENCE``).
"""

from __future__ import annotations

from json import JSONDecoder
from typing import Any

ROLES = ("system", "developer", "user")
MAX_ATTEMPTS = 200
"""Most ``{`` a conversation's text is read from (each a JSON decode): a bound on the work a long or
malformed prompt can ask for."""
_DECODER = JSONDecoder()


def prompt_schema(inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The last JSON schema of an object in the conversation's text, or None."""
    attempts = [MAX_ATTEMPTS]
    for text in reversed(_texts(inputs)):
        if '"properties"' not in text and '"$ref"' not in text:  # most messages: nothing to decode
            continue
        found = _last_schema(text, attempts)
        if found is not None:
            return found
    return None


def _texts(inputs: dict[str, Any]) -> list[str]:
    messages = inputs.get("messages")
    if not isinstance(messages, list):
        prompt = inputs.get("prompt")
        return [prompt] if isinstance(prompt, str) else []
    texts: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            continue
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return texts


def _last_schema(text: str, attempts: list[int]) -> dict[str, Any] | None:
    found = None
    at = text.find("{")
    while at != -1 and attempts[0] > 0:
        attempts[0] -= 1
        try:
            value, end = _DECODER.raw_decode(text, at)
        except (ValueError, RecursionError):
            at = text.find("{", at + 1)
            continue
        if isinstance(value, dict) and _is_schema(value):
            found = value
        at = text.find("{", end)
    return found


def _is_schema(value: dict[str, Any]) -> bool:
    properties = value.get("properties")
    if isinstance(properties, dict) and properties:
        kind = value.get("type", "object")
        return all(isinstance(p, (dict, bool)) for p in properties.values()) and (
            kind == "object" or (isinstance(kind, list) and "object" in kind))
    ref, defs = value.get("$ref"), value.get("$defs", value.get("definitions"))
    return isinstance(ref, str) and ref.startswith("#/") and isinstance(defs, dict)
