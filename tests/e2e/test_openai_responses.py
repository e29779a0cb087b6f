"""The official ``openai`` client's Responses and Conversations APIs, and the OpenAI Agents SDK, against the
real local server, unchanged."""

from __future__ import annotations

import base64
import json
import time

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel

from ..images_util import rgba_png
from .conftest import E2E_KEY
from .test_libraries import run_isolated

SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"
WEATHER = {"type": "function", "name": "get_weather", "description": "The weather in a city.", "strict": True,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}}


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def test_create_plain_and_output_text(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o-mini", input="echo: Hello from Responses")
    assert response.output_text == "Hello from Responses" and response.status == "completed"
    assert client.responses.retrieve(response.id).output_text == "Hello from Responses"


def test_client_3_63_request_options(client: OpenAI) -> None:
    """access_programs, image, background_options and prompt_cache_options as the client sends them: taken where
    this server does it anyway, a 400 naming the field where it cannot."""
    response = client.responses.create(model="gpt-4o-mini", input="echo: options", access_programs={"cyber": "standard"},
                                       image={"context_compression": "auto"}, prompt_cache_options={"ttl": "12h"},
                                       background_options={"completion_window": "soonest"})
    assert response.output_text == "options"
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-4o-mini", input="hi", access_programs={"cyber": "daybreak_red"})
    assert caught.value.param == "access_programs.cyber"
    compacted = client.responses.compact(model="gpt-4o-mini", input="echo: hi", image={"context_compression": "disabled"})
    assert compacted.output


def test_what_libraries_send_to_openai_as_the_client_sends_it(client: OpenAI) -> None:
    """llama-index's OpenAIResponses passes its unset user on (``user=None``: the client sends "user": null), and
    the Vercel AI SDK sends earlier assistant turns without ``type: "message"``: OpenAI takes both."""
    response = client.responses.create(
        model="gpt-4o-mini", user=None,  # type: ignore[arg-type]
        input=[{"role": "user", "content": "hi"},
               {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},  # type: ignore[list-item]
               {"role": "user", "content": "echo: again"}])
    assert response.output_text == "again"
    chat = client.chat.completions.create(model="gpt-4o-mini", user=None,  # type: ignore[arg-type]
                                          messages=[{"role": "user", "content": "echo: chat"}])
    assert chat.choices[0].message.content == "chat"


def test_penalties_as_the_client_sends_them(client: OpenAI) -> None:
    """The client has no penalty arguments for Responses: they go as ``extra_body``, as OpenAI takes them; a
    reasoning model's 400 names the field."""
    response = client.responses.create(model="gpt-4o-mini", input="echo: penalised",
                                       extra_body={"frequency_penalty": 0.5, "presence_penalty": 0.25})
    assert response.output_text == "penalised"
    assert response.model_extra is not None
    assert (response.model_extra["frequency_penalty"], response.model_extra["presence_penalty"]) == (0.5, 0.25)
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="gpt-5.6-terra", input="hi", extra_body={"presence_penalty": 0.5})
    assert caught.value.param == "presence_penalty"


def test_tools_round_trip_with_function_call_output(client: OpenAI) -> None:
    first = client.responses.create(model=SCOUT, input='call:get_weather {"city": "Paris"}',
                                    tools=[WEATHER])  # type: ignore[list-item]
    [call] = [item for item in first.output if item.type == "function_call"]
    assert json.loads(call.arguments) == {"city": "Paris"}
    second = client.responses.create(model=SCOUT, previous_response_id=first.id, tools=[WEATHER],  # type: ignore[list-item]
                                     input=[{"type": "function_call_output", "call_id": call.call_id,
                                             "output": "18°C and clear"}])
    assert second.output_text == "Tool results: 18°C and clear"


def test_parse_with_json_schema(client: OpenAI) -> None:
    class Person(BaseModel):
        name: str
        age: int

    parsed = client.responses.parse(model="gpt-4o-mini", input="Describe a person.", text_format=Person)
    assert isinstance(parsed.output_parsed, Person)


def test_image_input(client: OpenAI) -> None:
    url = "data:image/png;base64," + base64.b64encode(rgba_png(3, 3, b"\xff" * 9)).decode()
    response = client.responses.create(model=SCOUT, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "What is in this image?"},
        {"type": "input_image", "image_url": url, "detail": "auto"}]}])
    assert response.output_text == "I received 1 image: image/png."


def test_previous_response_id_three_turns_and_input_items(client: OpenAI) -> None:
    previous = None
    for word in ("alpha", "beta", "gamma"):
        response = client.responses.create(model="gpt-4o-mini", input=f"echo: {word}",
                                           previous_response_id=previous)
        assert response.output_text == word
        previous = response.id
    items = client.responses.input_items.list(response.id)
    assert [i.content[0].text for i in items.data] == ["echo: gamma"]  # type: ignore[union-attr]
    deleted = client.responses.delete(response.id)
    assert deleted is None
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_stream(client: OpenAI) -> None:
    deltas = []
    with client.responses.stream(model="gpt-4o-mini", input="echo: streamed through the helper") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "streamed through the helper"


def test_a_reasoning_summary_on_gpt_4_1_is_openais_400(client: OpenAI) -> None:
    """``gpt-4.1`` (a Llama here, as at OpenAI a model that does not reason) refuses ``reasoning.summary`` as OpenAI's
    does, naming the model it resolved to."""
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="gpt-4.1", input="hi", reasoning={"summary": "auto"})
    assert raised.value.param == "reasoning.summary" and raised.value.code == "unsupported_parameter"
    assert raised.value.body == {  # type: ignore[comparison-overlap]
        "type": "invalid_request_error", "param": "reasoning.summary", "code": "unsupported_parameter",
        "message": ("Unsupported parameter: 'reasoning.summary' is not supported with the "
                    "'@cf/meta/llama-3.3-70b-instruct-fp8-fast' model.")}


def test_stream_with_a_reasoning_summary(client: OpenAI) -> None:
    """``reasoning.summary`` as the client's stream helper reads it (Codex-style handlers): the summary events, typed,
    the final response's reasoning item with its summary; sent back as input, as the Agents SDK sends it."""
    summary, kinds = [], []
    with client.responses.stream(model="@cf/openai/gpt-oss-120b", input="echo: the answer",
                                 reasoning={"effort": "low", "summary": "auto"}) as stream:
        for event in stream:
            kinds.append(event.type)
            if event.type == "response.reasoning_summary_text.delta":
                summary.append(event.delta)
        final = stream.get_final_response()
    reasoning = final.output[0]
    assert reasoning.type == "reasoning" and [p.text for p in reasoning.summary] == ["".join(summary)]
    assert reasoning.content is None and final.output_text == "the answer"
    assert kinds.index("response.reasoning_summary_part.added") < kinds.index("response.reasoning_summary_text.delta")
    assert "response.reasoning_summary_part.done" in kinds and "response.reasoning_text.delta" not in kinds
    again = client.responses.create(model="@cf/openai/gpt-oss-120b", reasoning={"summary": "auto"}, input=[
        {"role": "user", "content": "echo: the answer"}, *[item.model_dump(exclude_none=True) for item in final.output],
        {"role": "user", "content": "echo: more"}])  # type: ignore[misc]
    assert again.output_text == "more"


def test_background_polling_and_cancel(client: OpenAI) -> None:
    response = client.responses.create(model="gpt-4o-mini", input="echo: in the background", background=True)
    assert response.status in ("queued", "in_progress", "completed")
    deadline = time.monotonic() + 20
    while response.status in ("queued", "in_progress") and time.monotonic() < deadline:
        time.sleep(0.05)
        response = client.responses.retrieve(response.id)
    assert response.status == "completed" and response.output_text == "in the background"
    assert client.responses.cancel(response.id).status == "completed"  # already done: nothing changes
    # a model slow to answer (the simulator's `wait:`): cancelled while it is still being generated
    slow = client.responses.create(model="gpt-4o-mini", input="wait:2 echo: never stored", background=True)
    assert slow.status == "queued"
    assert client.responses.retrieve(slow.id).status in ("queued", "in_progress")
    cancelled = client.responses.cancel(slow.id)
    assert cancelled.status == "cancelled" and cancelled.output == []
    time.sleep(2.5)  # past the model's answer: its job's finish found the response cancelled
    after = client.responses.retrieve(slow.id)
    assert after.status == "cancelled" and after.output == [] and after.completed_at is None


def test_conversations_crud_and_responses_in_them(client: OpenAI) -> None:
    conversation = client.conversations.create(metadata={"topic": "e2e"}, safety_identifier="user-42",
                                               items=[{"type": "message", "role": "user", "content": "echo: hi"}])
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "e2e"}
    client.conversations.update(conversation.id, metadata={"topic": "changed"})
    response = client.responses.create(model="gpt-4o-mini", input="echo: inside", conversation=conversation.id)
    assert response.output_text == "inside"
    items = client.conversations.items.list(conversation.id, order="asc")
    assert [i.type for i in items.data] == ["message", "message", "message"]
    added = client.conversations.items.create(conversation.id, items=[
        {"type": "message", "role": "user", "content": "later"}])
    item = client.conversations.items.retrieve(added.data[0].id, conversation_id=conversation.id)
    assert item.id == added.data[0].id
    client.conversations.items.delete(item.id, conversation_id=conversation.id)
    assert client.conversations.delete(conversation.id).deleted is True


def test_websocket_mode(client: OpenAI) -> None:
    with client.responses.connect() as connection:
        connection.response.create(model="gpt-4o-mini", input="echo: over a socket")
        for event in connection:
            if event.type == "response.completed":
                assert event.response.output_text == "over a socket"
                break


AGENTS_SDK = ("openai-agents==0.24.0",)
"""The Agents SDK release the test runs (current; it needs pydantic >= 2.12, so it gets its own environment)."""


def test_agents_sdk_runs_an_agent_with_a_function_tool(server: str) -> None:
    result = run_isolated("agents_sdk.py", [f"{server}/v1", E2E_KEY], AGENTS_SDK)
    # on the SDK's default model: a name of the newest family (a 404 until every name the client lists was served)
    assert result == {"calls": ["Lisbon"], "final_output": "Tool results: sunny in Lisbon", "model": "gpt-5.6-luna"}
