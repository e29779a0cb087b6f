"""An OpenAI Agents SDK agent with one function tool, on its default Responses model, against a server.

Run by ``tests/e2e/test_openai_responses.py`` in an environment of its own (``uv run --isolated --with
openai-agents``): the SDK's current releases need a newer pydantic than the Worker's pin, which the
project's own environment keeps. Prints one JSON line: the tool's calls and the final output.
"""

from __future__ import annotations

import asyncio
import json
import sys

from agents import Agent, Runner, function_tool, set_default_openai_api, set_default_openai_client, set_tracing_disabled
from agents.models import get_default_model
from openai import AsyncOpenAI

calls: list[str] = []


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    calls.append(city)
    return f"sunny in {city}"


def main(base_url: str, key: str) -> None:
    set_tracing_disabled(True)
    set_default_openai_api("responses")
    set_default_openai_client(AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0))
    # No model named: the SDK's default (0.24.0's: gpt-5.6-luna, served by gpt-oss-120b, Responses-native)
    agent = Agent(name="weather", instructions="Answer with the weather.", tools=[get_weather])
    result = asyncio.run(Runner.run(agent, 'call:get_weather {"city": "Lisbon"}'))
    print(json.dumps({"calls": calls, "final_output": result.final_output, "model": agent.model or get_default_model()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
