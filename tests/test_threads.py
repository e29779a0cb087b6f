"""``/v1/threads`` and ``/v1/threads/{thread_id}/messages``: threads with their first messages, messages as
strings and parts (text, image_file, image_url) with attachments, the run_id filter, paging, the delete
cascade, ownership."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openai_workers_ai.adapters.local import SQLiteD1

from .assistants import MESSAGE_MEMBERS, THREAD_MEMBERS, assistant, error_of, listed, ok, run, thread
from .conftest import ADMIN_KEY, OTHER_KEY
from .images_util import rgba_png

PNG = rgba_png(8, 8, bytes([255] * 64))


async def upload(client: httpx.AsyncClient, name: str, data: bytes, purpose: str = "assistants",
                 headers: dict[str, str] | None = None) -> str:
    r = await client.post("/v1/files", files={"file": (name, data)}, data={"purpose": purpose}, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


async def test_create_with_messages_metadata_and_tool_resources(client: httpx.AsyncClient) -> None:
    created = await thread(client, "first", "second", metadata={"user": "u1"},
                           tool_resources={"code_interpreter": {"file_ids": []}})
    assert created["id"].startswith("thread_") and created["object"] == "thread"
    assert created["metadata"] == {"user": "u1"}
    assert created["tool_resources"] == {"code_interpreter": {"file_ids": []}}
    assert await ok(client.get(f"/v1/threads/{created['id']}"), "ThreadObject") == created
    messages = await listed(client, f"/v1/threads/{created['id']}/messages?order=asc", "ListMessagesResponse")
    assert [m["content"][0]["text"]["value"] for m in messages] == ["first", "second"]
    for m in messages:
        assert m["role"] == "user" and m["thread_id"] == created["id"] and m["run_id"] is None
        assert m["content"][0] == {"type": "text", "text": {"value": m["content"][0]["text"]["value"],
                                                            "annotations": []}}


async def test_threads_and_messages_list_their_members_in_openais_order(client: httpx.AsyncClient) -> None:
    """A thread's ``metadata`` before its ``tool_resources``; a message's ``assistant_id``, ``thread_id`` and
    ``run_id`` after ``created_at``, ``incomplete_at`` before ``completed_at`` (openai/openai-dotnet
    tests/SessionRecords/AssistantsTests/BasicThreadOperationsWork.json, BasicMessageOperationsWork.json and the
    thread.message events of StreamingRunWorks.json)."""
    created = await thread(client, "Hello, world!")
    assert list(created) == THREAD_MEMBERS
    assert list(await ok(client.get(f"/v1/threads/{created['id']}"))) == THREAD_MEMBERS
    changed = await ok(client.post(f"/v1/threads/{created['id']}", json={"metadata": {"k": "v"}}))
    assert list(changed) == THREAD_MEMBERS
    message = await ok(client.post(f"/v1/threads/{created['id']}/messages", json={"role": "user", "content": "hi"}))
    assert list(message) == MESSAGE_MEMBERS
    listed_messages = await listed(client, f"/v1/threads/{created['id']}/messages", "ListMessagesResponse")
    assert [list(m) for m in listed_messages] == [MESSAGE_MEMBERS, MESSAGE_MEMBERS]


async def test_an_empty_thread(client: httpx.AsyncClient) -> None:
    created = await ok(client.post("/v1/threads", json={}), "ThreadObject")
    assert created["metadata"] == {} and created["tool_resources"] == {}
    assert await listed(client, f"/v1/threads/{created['id']}/messages", "ListMessagesResponse") == []


async def test_a_thread_created_without_a_body(client: httpx.AsyncClient) -> None:
    """``POST /v1/threads`` with no body at all (``Content-Length: 0``, no content type), as the .NET client sends
    it, is a new empty thread, as at OpenAI (openai/openai-dotnet tests/SessionRecords/AssistantsTests/
    BasicThreadOperationsWork.json: 200, ``metadata: {}``, ``tool_resources: {}``); a body that is not JSON is
    still a 400."""
    created = await ok(client.post("/v1/threads"), "ThreadObject")
    assert created["id"].startswith("thread_") and created["metadata"] == {} and created["tool_resources"] == {}
    assert await listed(client, f"/v1/threads/{created['id']}/messages", "ListMessagesResponse") == []
    error_of(await client.post("/v1/threads", content=b" ", headers={"content-type": "application/json"}), 400)


async def test_modify_the_thread(client: httpx.AsyncClient) -> None:
    created = await thread(client, metadata={"a": "1"})
    changed = await ok(client.post(f"/v1/threads/{created['id']}", json={"metadata": {"b": "2"}}), "ThreadObject")
    assert changed["metadata"] == {"b": "2"}
    assert (await ok(client.get(f"/v1/threads/{created['id']}")))["metadata"] == {"b": "2"}
    error = error_of(await client.post(f"/v1/threads/{created['id']}",
                                       json={"tool_resources": {"file_search": {"vector_store_ids": ["vs_1"]}}}), 404)
    assert error["param"] == "tool_resources.file_search.vector_store_ids"


async def test_message_parts_attachments_and_metadata(client: httpx.AsyncClient) -> None:
    image = await upload(client, "cat.png", PNG, "vision")
    notes = await upload(client, "notes.txt", b"The cat is called Tom.")
    created = await thread(client)
    body = {"role": "user", "metadata": {"k": "v"}, "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_file", "image_file": {"file_id": image}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
    ], "attachments": [{"file_id": notes, "tools": [{"type": "file_search"}]}]}
    message = await ok(client.post(f"/v1/threads/{created['id']}/messages", json=body), "MessageObject")
    assert message["id"].startswith("msg_") and message["object"] == "thread.message"
    assert message["content"] == [
        {"type": "text", "text": {"value": "What is this?", "annotations": []}},
        {"type": "image_file", "image_file": {"file_id": image, "detail": "auto"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
    ]
    assert message["attachments"] == [{"file_id": notes, "tools": [{"type": "file_search"}]}]
    assert message["metadata"] == {"k": "v"} and message["assistant_id"] is None
    url = f"/v1/threads/{created['id']}/messages/{message['id']}"
    assert await ok(client.get(url), "MessageObject") == message
    changed = await ok(client.post(url, json={"metadata": {"k": "w"}}), "MessageObject")
    assert changed["metadata"] == {"k": "w"} and changed["content"] == message["content"]
    assert (await ok(client.get(url)))["metadata"] == {"k": "w"}
    deleted = await ok(client.delete(url), "DeleteMessageResponse")
    assert deleted == {"id": message["id"], "object": "thread.message.deleted", "deleted": True}
    assert error_of(await client.get(url), 404)["message"] == f"No message found with id '{message['id']}'."


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"role": "user", "content": ""}, "content", "empty"),
    ({"role": "user", "content": []}, "content", ""),
    ({"role": "system", "content": "hi"}, "role", ""),
    ({"role": "user"}, "content", "Missing"),
    ({"role": "user", "content": [{"type": "image_file", "image_file": {"file_id": "file-nope"}}]},
     "content[0].image_file.file_id", "no file"),
    ({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]},
     "content[0].image_url.url", "https://"),
    ({"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
     "content[0]", "role 'user'"),
    ({"role": "user", "content": [{"type": "audio", "audio": {}}]}, "content[0].type", "Supported values"),
    ({"role": "user", "content": "hi", "attachments": [{"file_id": "file-nope", "tools": []}]},
     "attachments[0].file_id", "no file"),
    ({"role": "user", "content": "hi", "attachments": [{"file_id": "file-x", "tools": [{"type": "code_interpreter"}]}]},
     "attachments[0].tools[0].type", "not offered"),
    ({"role": "user", "content": "hi", "metadata": {"k": 1}}, "metadata.k", ""),
])
async def test_bad_messages_are_400s_naming_the_param(client: httpx.AsyncClient, body: dict[str, Any], param: str,
                                                      words: str) -> None:
    created = await thread(client)
    error = error_of(await client.post(f"/v1/threads/{created['id']}/messages", json=body), 400)
    assert error["param"] == param and words in error["message"]
    # inside a new thread, the same message is named by its place
    error = error_of(await client.post("/v1/threads", json={"messages": [{"role": "user", "content": "ok"}, body]}),
                     400)
    assert error["param"] == f"messages[1].{param}"


async def test_another_keys_file_cannot_be_attached(client: httpx.AsyncClient) -> None:
    theirs = await upload(client, "x.txt", b"secret", headers={"authorization": f"Bearer {OTHER_KEY}"})
    created = await thread(client)
    r = await client.post(f"/v1/threads/{created['id']}/messages",
                          json={"role": "user", "content": "hi", "attachments": [{"file_id": theirs}]})
    assert error_of(r, 400)["param"] == "attachments[0].file_id"


async def test_messages_page_across_three_pages_and_filter_by_run(client: httpx.AsyncClient, jobs: Any,
                                                                   app: Any) -> None:
    created = await thread(client, *[f"echo: m{i}" for i in range(5)])
    url = f"/v1/threads/{created['id']}/messages"
    pages = []
    after = ""
    for _ in range(3):
        body = await ok(client.get(f"{url}?limit=2&order=asc{after}"), "ListMessagesResponse")
        pages.append([m["content"][0]["text"]["value"] for m in body["data"]])
        after = f"&after={body['last_id']}"
    assert pages == [["echo: m0", "echo: m1"], ["echo: m2", "echo: m3"], ["echo: m4"]]
    assert body["has_more"] is False
    newest = await listed(client, f"{url}?limit=1", "ListMessagesResponse")
    assert newest[0]["content"][0]["text"]["value"] == "echo: m4"  # desc by default
    started = await run(client, created["id"], (await assistant(client))["id"])
    await jobs.drain(app.state.ctx)
    replies = await listed(client, f"{url}?run_id={started['id']}", "ListMessagesResponse")
    assert [m["role"] for m in replies] == ["assistant"] and replies[0]["run_id"] == started["id"]
    assert replies[0]["content"][0]["text"]["value"] == "m4"
    assert await listed(client, f"{url}?run_id=run_nope", "ListMessagesResponse") == []


async def test_delete_takes_messages_runs_and_steps_with_it(client: httpx.AsyncClient, db: SQLiteD1, jobs: Any,
                                                            app: Any) -> None:
    kept = await thread(client, "echo: keep me")
    created = await thread(client, "echo: hello")
    started = await run(client, created["id"], (await assistant(client))["id"])
    await jobs.drain(app.state.ctx)

    def counts() -> dict[str, int]:
        return {t: db.conn.execute(f"SELECT COUNT(*) FROM {t} WHERE thread_id = ?", (created["id"],)).fetchone()[0]
                for t in ("messages", "runs", "run_steps")}

    assert counts() == {"messages": 2, "runs": 1, "run_steps": 1}
    deleted = await ok(client.delete(f"/v1/threads/{created['id']}"), "DeleteThreadResponse")
    assert deleted == {"id": created["id"], "object": "thread.deleted", "deleted": True}
    assert counts() == {"messages": 0, "runs": 0, "run_steps": 0}
    for url in (f"/v1/threads/{created['id']}", f"/v1/threads/{created['id']}/messages",
                f"/v1/threads/{created['id']}/runs/{started['id']}"):
        assert error_of(await client.get(url), 404)["message"] == f"No thread found with id '{created['id']}'."
    assert len(await listed(client, f"/v1/threads/{kept['id']}/messages", "ListMessagesResponse")) == 1


async def test_another_keys_thread_is_a_404_everywhere(client: httpx.AsyncClient) -> None:
    created = await thread(client, "hello")
    message = (await listed(client, f"/v1/threads/{created['id']}/messages", "ListMessagesResponse"))[0]
    other = {"authorization": f"Bearer {OTHER_KEY}"}
    base = f"/v1/threads/{created['id']}"
    for method, url, body in (
        ("GET", base, None), ("POST", base, {"metadata": {}}), ("DELETE", base, None),
        ("GET", f"{base}/messages", None), ("POST", f"{base}/messages", {"role": "user", "content": "x"}),
        ("GET", f"{base}/messages/{message['id']}", None), ("DELETE", f"{base}/messages/{message['id']}", None),
        ("GET", f"{base}/runs", None), ("POST", f"{base}/runs", {"assistant_id": "asst_x"}),
    ):
        r = await client.request(method, url, json=body, headers=other)
        assert error_of(r, 404)["message"] == f"No thread found with id '{created['id']}'.", (method, url)
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    assert (await ok(client.get(f"{base}/messages", headers=admin)))["data"][0]["id"] == message["id"]
