"""The official ``openai`` client's vector stores against the real local server: create, upload and
poll, batches, search; and a Response and an Assistant run answering from an uploaded file with the
``file_search`` tool, citing it."""

from __future__ import annotations

import io

import openai
import pytest
from openai import OpenAI
from openai.types.beta.threads import FileCitationAnnotation
from openai.types.beta.threads.runs import FileSearchToolCall
from openai.types.responses import ResponseFileSearchToolCall

from .conftest import E2E_KEY


@pytest.fixture
def client(server: str) -> OpenAI:
    return OpenAI(base_url=f"{server}/v1", api_key=E2E_KEY, max_retries=0)


def test_create_upload_and_poll_search(client: OpenAI) -> None:
    store = client.vector_stores.create(name="handbook", metadata={"team": "support"},
                                        expires_after={"anchor": "last_active_at", "days": 7})
    assert store.id.startswith("vs_") and store.status == "completed" and store.file_counts.total == 0
    passwords = io.BytesIO(b"To reset a forgotten password, open Settings, choose Security and press Reset.")
    attached = client.vector_stores.files.upload_and_poll(
        vector_store_id=store.id, file=("passwords.md", passwords), poll_interval_ms=50,
        attributes={"topic": "account"})
    assert attached.status == "completed" and attached.last_error is None and attached.attributes == {"topic": "account"}
    batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=store.id, poll_interval_ms=50,
        files=[("billing.txt", io.BytesIO(b"Invoices are emailed on the first day of each month.")),
               ("holidays.txt", io.BytesIO(b"The office is closed on public holidays."))])
    assert batch.status == "completed" and batch.file_counts.completed == 2
    assert {f.id for f in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)} == \
        {f.id for f in client.vector_stores.files.list(store.id) if f.id != attached.id}

    page = client.vector_stores.search(store.id, query="How do I reset my password?", max_num_results=2)
    results = list(page)
    assert len(results) == 2
    assert results[0].filename == "passwords.md" and results[0].file_id == attached.id
    assert results[0].content[0].type == "text" and "Reset" in results[0].content[0].text
    assert 0 <= results[1].score <= results[0].score <= 1
    filtered = list(client.vector_stores.search(store.id, query="invoices",
                                                filters={"type": "eq", "key": "topic", "value": "account"}))
    assert [r.filename for r in filtered] == ["passwords.md"]

    content = client.vector_stores.files.content(attached.id, vector_store_id=store.id)
    assert "Reset" in "".join(part.text or "" for part in content)
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3
    deleted = client.vector_stores.delete(store.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_errors(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.create(chunking_strategy={"type": "static", "static": {
            "max_chunk_size_tokens": 800, "chunk_overlap_tokens": 500}})
    assert caught.value.body["param"] == "chunking_strategy.static.chunk_overlap_tokens"  # type: ignore[index]
    # a file batch's per-file strategy is named by its place in files
    with pytest.raises(openai.BadRequestError) as caught:
        client.vector_stores.file_batches.create(vector_store_id=client.vector_stores.create().id, files=[
            {"file_id": "file-missing", "chunking_strategy": {"type": "static", "static": {
                "max_chunk_size_tokens": 800, "chunk_overlap_tokens": 500}}}])
    assert caught.value.body["param"] == "files[0].chunking_strategy.static.chunk_overlap_tokens"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=client.vector_stores.create().id, file_id="file-missing")


MANUAL = (b"# The espresso machine\n\nTo descale the machine, fill the tank with one part citric acid to ten parts "
          b"water and run the cleaning cycle twice. Descale every month.")
SCOUT = "@cf/meta/llama-4-scout-17b-16e-instruct"


@pytest.fixture
def manual(client: OpenAI) -> tuple[str, str]:
    """A store holding the machine's manual, ingested: (store id, file id)."""
    store = client.vector_stores.create(name="manuals")
    attached = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, poll_interval_ms=50,
                                                          file=("espresso.md", io.BytesIO(MANUAL)))
    assert attached.status == "completed"
    return store.id, attached.id


def test_a_response_answers_from_the_file_and_cites_it(client: OpenAI, manual: tuple[str, str]) -> None:
    store_id, file_id = manual
    response = client.responses.create(model=SCOUT, input="How do I descale the machine?",
                                       tools=[{"type": "file_search", "vector_store_ids": [store_id]}],
                                       include=["file_search_call.results"])
    call = response.output[0]
    assert isinstance(call, ResponseFileSearchToolCall) and call.status == "completed"
    assert call.queries == ["How do I descale the machine?"] and call.results
    assert call.results[0].file_id == file_id and call.results[0].filename == "espresso.md"
    assert response.output_text.startswith("To descale the machine, fill the tank")
    (citation,) = response.output[1].content[0].annotations  # type: ignore[union-attr]
    assert citation.type == "file_citation" and citation.file_id == file_id and citation.filename == "espresso.md"
    assert citation.index == len(response.output_text)
    with client.responses.stream(model=SCOUT, input="How do I descale the machine?",
                                 tools=[{"type": "file_search", "vector_store_ids": [store_id]}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.file_search_call.searching" in kinds and "response.output_text.annotation.added" in kinds
    assert final.output_text == response.output_text


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the client marks the Assistants API deprecated
def test_an_assistant_run_answers_from_the_file_and_cites_it(client: OpenAI, manual: tuple[str, str]) -> None:
    store_id, file_id = manual
    assistant = client.beta.assistants.create(model=SCOUT, instructions="Answer from the manuals.",
                                              tools=[{"type": "file_search"}],
                                              tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "How do I descale the machine?"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50,
        include=["step_details.tool_calls[*].file_search.results[*].content"])
    assert run.status == "completed"
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc",
                                                include=["step_details.tool_calls[*].file_search.results[*].content"])
    search = steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert isinstance(search, FileSearchToolCall) and search.file_search.results
    assert search.file_search.results[0].file_id == file_id
    assert search.file_search.results[0].content and "citric acid" in (search.file_search.results[0].content[0].text or "")
    text = client.beta.threads.messages.list(thread.id).data[0].content[0].text  # type: ignore[union-attr]
    assert text.value.startswith("To descale the machine")
    (citation,) = text.annotations
    assert isinstance(citation, FileCitationAnnotation) and citation.file_citation.file_id == file_id
    assert text.value[citation.start_index:citation.end_index] == citation.text
