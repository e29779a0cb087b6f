"""The libraries people build on, at their current releases and with their defaults, against the real local
server (simulator backend) on ``gpt-4.1`` (llama-3.3-70b: no tool_choice upstream, so their forced tool calls
are constrained output): instructor, pydantic-ai, LangChain's structured output and embeddings, and the
OpenAI Agents SDK (in ``test_openai_responses.py``).

Each runs in an environment of its own (:func:`run_isolated`: ``uv run --isolated`` with pinned releases), as
a user's application would: these releases need a newer pydantic and openai than the project's environment,
which keeps the Worker's pins. The scripts (``tests/e2e/libraries/``) print what the library returned and what
it sent; the assertions are here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..vocab import tiktoken_cache
from .conftest import E2E_KEY

LIBRARIES = Path(__file__).parent / "libraries"
INSTRUCTOR = ("instructor==1.17.0", "openai")
PYDANTIC_AI = ("pydantic-ai-slim[openai]==2.68.0",)
LANGCHAIN = ("langchain-openai==1.7.4",)


def run_isolated(script: str, args: list[str], packages: tuple[str, ...], env: dict[str, str] | None = None) -> Any:
    """Run ``tests/e2e/libraries/<script>`` with ``packages`` in a fresh environment; its JSON line."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    command = [uv, "run", "--isolated", "--no-project", "--quiet"]
    for package in packages:
        command += ["--with", package]
    proc = subprocess.run([*command, "python", str(LIBRARIES / script), *args], capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def structured(scenario: str, server: str, packages: tuple[str, ...], env: dict[str, str] | None = None) -> Any:
    return run_isolated("structured.py", [scenario, f"{server}/v1", E2E_KEY], packages, env)


def test_instructor_default_mode(server: str) -> None:
    got = structured("instructor_default_mode", server, INSTRUCTOR)
    assert got["mode"] == "tool_call"  # instructor.Mode.TOOLS, its default
    assert 0 <= got["user"]["age"] <= 150 and got["user"]["emails"]
    assert got["tool_choice"] == {"type": "function", "function": {"name": "UserInfo"}}


def test_pydantic_ai_agent_with_an_output_type(server: str) -> None:
    got = structured("pydantic_ai_output_type", server, PYDANTIC_AI)
    assert set(got["output"]) == {"city", "country", "population"} and got["output_tokens"] > 0
    assert got["tool_choice"] == "required"  # its output tool, forced


def test_langchain_structured_output_by_function_calling(server: str) -> None:
    got = structured("langchain_function_calling", server, LANGCHAIN)
    assert set(got["user"]) == {"name", "age", "emails"} and got["parsing_error"] == ""
    assert got["raw_tool"] == "UserInfo" and got["tool_choice"]["function"]["name"] == "UserInfo"


def test_langchain_openai_embeddings_with_its_defaults(server: str, tmp_path: Path) -> None:
    """Token ids sent (LangChain's default), decoded by the server to the same text: the same vectors."""
    cache = tiktoken_cache(tmp_path / "tiktoken")  # tiktoken's download cache, filled offline
    got = structured("langchain_embeddings", server, LANGCHAIN, {"TIKTOKEN_CACHE_DIR": str(cache)})
    assert got["sent_token_ids"] is True and got["dimensions"] == [768, 768, 768]
    assert min(got["similarity_to_text"]) > 0.9999 and got["query_to_document"] > 0.9999
