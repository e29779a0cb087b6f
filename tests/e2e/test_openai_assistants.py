"""The official ``openai`` client's Assistants API (``client.beta``) against the real local server, unchanged:
polling helpers, tool outputs, the streaming helper's ``AssistantEventHandler``, pagination, ownership."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator

import openai
import pytest
from openai import AssistantEventHandler, OpenAI
from openai.types.beta.threads import Message, Text, TextDelta
from openai.types.beta.threads.runs import ToolCall

from .conftest import E2E_KEY, free_port, start, stop

OTHER = "sk-e2e-other"
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}}

# The client marks the Assistants API deprecated (OpenAI retired its own): that is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with two keys (``E2E_KEY`` and ``OTHER``)."""
    port = free_port()
    data = tmp_path_factory.mktemp("assistants-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.update(ACCESS_TOKEN=f"{E2E_KEY},{OTHER}")
    base = f"http://127.0.0.1:{port}"
    proc = start(["serve", "--port", str(port), "--data-dir", str(data), "--ai", "simulator"], env,
                 base + "/health", cwd=data)
    yield base
    stop(proc)


@pytest.fixture
def client(url: str) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=E2E_KEY, max_retries=0)


@pytest.fixture
def assistant_id(client: OpenAI) -> str:
    return client.beta.assistants.create(model="gpt-4o-mini", instructions="Be brief.", tools=[WEATHER]).id  # type: ignore[list-item]


def test_create_and_poll_then_the_reply_is_listed(client: OpenAI, assistant_id: str) -> None:
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="echo: Hello, Workers AI")
    began = time.monotonic()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    elapsed = time.monotonic() - began
    assert run.status == "completed" and run.usage is not None and run.usage.completion_tokens == 3
    assert elapsed < 1.0, f"a one-message run took {elapsed:.2f} s"
    messages = client.beta.threads.messages.list(thread.id)
    reply = messages.data[0]
    assert reply.role == "assistant" and reply.run_id == run.id and reply.assistant_id == assistant_id
    assert reply.content[0].type == "text" and reply.content[0].text.value == "Hello, Workers AI"
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert [s.type for s in steps.data] == ["message_creation"]


def test_a_function_tool_through_submit_tool_outputs_and_poll(client: OpenAI, assistant_id: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": 'call:get_weather {"city": "Lyon"}'}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "requires_action" and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.function.name, c.function.arguments) for c in calls] == [("get_weather", '{"city": "Lyon"}')]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "22 °C"}])
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread.id).data[0]
    assert reply.content[0].type == "text" and reply.content[0].text.value == "Tool results: 22 °C"


class Collector(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.deltas: list[str] = []
        self.texts: list[str] = []
        self.calls: list[ToolCall] = []

    def on_text_delta(self, delta: TextDelta, snapshot: Text) -> None:
        self.deltas.append(delta.value or "")

    def on_text_done(self, text: Text) -> None:
        self.texts.append(text.value)

    def on_tool_call_done(self, tool_call: ToolCall) -> None:
        self.calls.append(tool_call)


def test_the_streaming_helper_collects_text_deltas_and_a_tool_call(client: OpenAI, assistant_id: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "echo: one two three four"}])
    handler = Collector()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id,
                                         event_handler=handler) as stream:
        stream.until_done()
    assert len(handler.deltas) >= 2 and "".join(handler.deltas) == "one two three four"
    assert handler.texts == ["one two three four"]
    final: Message = stream.get_final_messages()[0]
    assert final.content[0].type == "text" and final.content[0].text.value == "one two three four"
    assert stream.get_final_run().status == "completed"

    client.beta.threads.messages.create(thread.id, role="user", content='call:get_weather {"city": "Nice"}')
    handler = Collector()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant_id,
                                         event_handler=handler) as stream:
        stream.until_done()
    run = stream.get_final_run()
    assert run.status == "requires_action" and len(handler.calls) == 1
    call = handler.calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.function.arguments == '{"city": "Nice"}'
    handler = Collector()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        event_handler=handler,
    ) as stream:
        stream.until_done()
    assert "".join(handler.deltas) == "Tool results: sunny"


def test_create_and_run_poll(client: OpenAI, assistant_id: str) -> None:
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant_id, thread={"messages": [{"role": "user", "content": "echo: made and run"}]})
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(run.thread_id).data[0]
    assert reply.content[0].type == "text" and reply.content[0].text.value == "made and run"


def test_pagination_across_three_pages(client: OpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"m{i}"} for i in range(5)])
    page = client.beta.threads.messages.list(thread.id, limit=2, order="asc")
    pages = [[m.content[0].text.value for m in page.data if m.content[0].type == "text"]]
    while page.has_next_page():
        page = page.get_next_page()
        pages.append([m.content[0].text.value for m in page.data if m.content[0].type == "text"])
    assert pages == [["m0", "m1"], ["m2", "m3"], ["m4"]]
    assert [m.id for m in client.beta.threads.messages.list(thread.id, limit=2)] == [
        m.id for m in client.beta.threads.messages.list(thread.id, limit=100)]  # auto-paging, newest first


def test_another_key_sees_404s(client: OpenAI, url: str, assistant_id: str) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "echo: mine"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    other = OpenAI(base_url=f"{url}/v1", api_key=OTHER, max_retries=0)
    for attempt in (
        lambda: other.beta.assistants.retrieve(assistant_id),
        lambda: other.beta.threads.retrieve(thread.id),
        lambda: other.beta.threads.messages.list(thread.id),
        lambda: other.beta.threads.runs.retrieve(run.id, thread_id=thread.id),
        lambda: other.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id),
        lambda: other.beta.threads.delete(thread.id),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert client.beta.threads.retrieve(thread.id).id == thread.id


def test_attached_file_text_reaches_the_model(client: OpenAI, assistant_id: str) -> None:
    notes = client.files.create(file=("notes.txt", io.BytesIO(b"The password is swordfish.")), purpose="assistants")
    thread = client.beta.threads.create(messages=[{
        "role": "user", "content": "echo: Read this.",
        "attachments": [{"file_id": notes.id, "tools": [{"type": "file_search"}]}]}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed"
    reply = client.beta.threads.messages.list(thread.id).data[0]
    assert reply.content[0].type == "text" and "swordfish" in reply.content[0].text.value
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.assistants.create(model="gpt-4o-mini", tools=[{"type": "code_interpreter"}])
    assert "not offered" in caught.value.message
