"""The libraries people build on, at their current releases and with their defaults, against the real local
server (simulator backend) on ``gpt-4.1`` (llama-3.3-70b: no tool_choice upstream, so their forced tool calls
are constrained output): instructor, pydantic-ai, LangChain's structured output and embeddings, and the
OpenAI Agents SDK (in ``test_openai_responses.py``).

Each runs in an environment of its own (:func:`run_isolated`: ``uv run --isolated`` with pinned releases), as
a user's application would: these releases need a newer pydantic and openai than the project's environment,
which keeps the Worker's pins. Installing them needs PyPI or uv's cache holding them: where neither can be
had (the network unreachable and the cache cold) the test is skipped, saying so; once installed, a library
that does not get what it should fails the test. The scripts (``tests/e2e/libraries/``) print what the
library returned and what it sent; the assertions are here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..vocab import tiktoken_cache
from .conftest import E2E_KEY

LIBRARIES = Path(__file__).parent / "libraries"
INSTRUCTOR = ("instructor==1.17.0", "openai")
PYDANTIC_AI = ("pydantic-ai-slim[openai]==2.68.0",)
LANGCHAIN = ("langchain-openai==1.7.4",)


# What uv says when it cannot reach the index (or may not: UV_OFFLINE) and its cache lacks a package.
UNREACHABLE = re.compile(r"Failed to fetch|error sending request|network was disabled|dns error|tcp connect error|"
                         r"Network is unreachable|Connection refused|timed out", re.IGNORECASE)


def uv_run(packages: tuple[str, ...]) -> list[str]:
    """``uv run`` in a fresh environment holding ``packages``; the calling test is skipped when they cannot be
    installed for want of the network (:func:`installable`)."""
    # uv sets UV for what it runs (uv run pytest)
    uv = os.environ.get("UV") or shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).is_file():
        pytest.skip(f"cannot install {' '.join(packages)}: no uv to run uv run --isolated --with (not on PATH)")
    command = [uv, "run", "--isolated", "--no-project", "--quiet"]
    for package in packages:
        command += ["--with", package]
    reason = installable(tuple(command))
    if reason:
        pytest.skip(reason)
    return command


@cache
def installable(command: tuple[str, ...]) -> str:
    """Empty when ``command`` can set up its environment; else why not, when it is the network (PyPI unreachable
    and uv's cache cold). Any other failure to install (a pin that does not exist) fails the test."""
    proc = subprocess.run([*command, "python", "-c", "pass"], capture_output=True, text=True, timeout=900)
    if proc.returncode == 0:
        return ""
    packages = " ".join(command[i + 1] for i, word in enumerate(command) if word == "--with")
    # Offline, uv may only say a release is not to be found (with an extra): ask whether the index can be reached.
    cause = ([line.strip() for line in proc.stderr.splitlines() if line.strip()][-1]
             if UNREACHABLE.search(proc.stderr) else index_unreachable())
    assert cause, f"cannot install {packages}:\n{proc.stderr[-4000:]}"
    return f"cannot install {packages} (needs PyPI, or uv's cache holding them, for uv run --isolated --with): {cause}"


def index_unreachable() -> str:
    """Why the package index cannot be reached, or empty: uv told to stay offline, or no answer to a HEAD."""
    if os.environ.get("UV_OFFLINE", "").lower() in ("1", "true", "yes"):
        return "the network was disabled (UV_OFFLINE)"
    url = os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL") or "https://pypi.org/simple/"
    try:
        httpx.head(url, timeout=10)
    except httpx.HTTPError as exc:
        return f"{url} is unreachable ({type(exc).__name__}: {exc})"
    return ""


def run_isolated(script: str, args: list[str], packages: tuple[str, ...], env: dict[str, str] | None = None) -> Any:
    """Run ``tests/e2e/libraries/<script>`` with ``packages`` in a fresh environment; its JSON line."""
    proc = subprocess.run([*uv_run(packages), "python", str(LIBRARIES / script), *args], capture_output=True,
                          text=True, timeout=900, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def structured(scenario: str, server: str, packages: tuple[str, ...], env: dict[str, str] | None = None) -> Any:
    return run_isolated("structured.py", [scenario, f"{server}/v1", E2E_KEY], packages, env)


def test_instructor_default_mode(server: str) -> None:
    got = structured("instructor_default_mode", server, INSTRUCTOR)
    assert got["mode"] == "tool_call"  # instructor.Mode.TOOLS, its default
    assert 0 <= got["user"]["age"] <= 150 and got["user"]["emails"]
    assert got["tool_choice"] == {"type": "function", "function": {"name": "UserInfo"}}


def test_instructor_md_json_mode(server: str) -> None:
    """No response_format: the simulator answers the ```json code block the prompt asks for, fitting its schema."""
    got = structured("instructor_md_json", server, INSTRUCTOR)
    assert got["response_format"] is None and "```json codeblock" in got["asked"]
    assert set(got["user"]) == {"name", "age", "emails"} and 0 <= got["user"]["age"] <= 150


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


def test_a_library_that_cannot_be_installed_for_want_of_the_network_is_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UV_OFFLINE", "1")  # as with PyPI unreachable, and a cold cache
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path))
    with pytest.raises(pytest.skip.Exception) as info:
        uv_run(("openai-workers-ai-nowhere==0.0.1",))
    assert "cannot install openai-workers-ai-nowhere==0.0.1" in str(info.value) and "network" in str(info.value)
