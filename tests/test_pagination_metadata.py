"""The shared list paging (``pagination.py`` + ``repositories/pages.py``) and ``metadata`` rule (``types/common.py``)."""

from __future__ import annotations

import time

import pytest
from pydantic import BaseModel

from openai_workers_ai import ids as id_maker
from openai_workers_ai.adapters.local import SQLiteD1
from openai_workers_ai.errors import InvalidRequest
from openai_workers_ai.pagination import Page, list_object, page
from openai_workers_ai.repositories import items
from openai_workers_ai.repositories.pages import page_of
from openai_workers_ai.types.common import Metadata, Request

IDS = [f"obj_{i:02d}" for i in range(10)]


@pytest.fixture
async def table() -> SQLiteD1:
    db = SQLiteD1(":memory:")
    await db.prepare("CREATE TABLE things (id TEXT PRIMARY KEY, owner TEXT)").run()
    for i, thing in enumerate(IDS):
        await db.prepare("INSERT INTO things VALUES (?, ?)").bind(thing, "me" if i % 5 else "other").run()
    return db


async def ids(db: SQLiteD1, p: Page) -> tuple[list[str], bool]:
    rows, more = await page_of(db, "SELECT id FROM things", "owner = ?", ["me"], p)
    return [r["id"] for r in rows], more


MINE = [t for i, t in enumerate(IDS) if i % 5]


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_after_and_before_walk_the_list_both_ways(table: SQLiteD1, order: str) -> None:
    listed = MINE if order == "asc" else MINE[::-1]
    seen: list[str] = []
    cursor = None
    while True:
        got, more = await ids(table, Page(limit=3, order=order, after=cursor))  # type: ignore[arg-type]
        seen += got
        if not more:
            break
        cursor = got[-1]
    assert seen == listed
    # Back from the end with ``before``: the pages nearest the cursor, each in the list's order.
    back: list[str] = []
    cursor = listed[-1]
    while True:
        got, more = await ids(table, Page(limit=3, order=order, before=cursor))  # type: ignore[arg-type]
        back = got + back
        if not more:
            break
        cursor = got[0]
    assert back == listed[:-1]


async def test_after_and_before_together_bound_a_window(table: SQLiteD1) -> None:
    got, more = await ids(table, Page(limit=10, order="asc", after=MINE[1], before=MINE[5]))
    assert got == MINE[2:5] and more is False


def test_page_params_as_openai_checks_them() -> None:
    assert page({}) == Page(limit=20, order="desc")
    assert page({"limit": "100", "order": "asc", "after": "a", "before": "b"}) == Page(100, "asc", "a", "b")
    for bad, param in (({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"),
                       ({"order": "up"}, "order")):
        with pytest.raises(InvalidRequest) as caught:
            page(bad)
        assert caught.value.param == param


def test_list_object() -> None:
    assert list_object([{"id": "a"}, {"id": "b"}], True) == {
        "object": "list", "data": [{"id": "a"}, {"id": "b"}], "first_id": "a", "last_id": "b", "has_more": True}
    assert list_object([], False)["first_id"] is None


class Tagged(Request):
    metadata: Metadata | None = None


class Bag(BaseModel):
    metadata: Metadata


@pytest.mark.parametrize(
    ("metadata", "param", "words"),
    [
        ({f"k{i}": "v" for i in range(17)}, "metadata", "at most 16 properties"),
        ({"k" * 65: "v"}, "metadata", "maximum length 64"),
        ({"key": "v" * 513}, "metadata.key", "maximum length 512"),
    ],
)
def test_metadata_limits_are_openais(metadata: dict[str, str], param: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        Tagged.model_validate({"metadata": metadata})
    assert caught.value.param == param and words in caught.value.message


def test_metadata_at_the_limits_is_fine() -> None:
    full = {f"{i:02d}" + "k" * 62: "v" * 512 for i in range(16)}
    assert Tagged.model_validate({"metadata": full}).metadata == full
    assert Tagged.model_validate({"metadata": None}).metadata is None
    with pytest.raises(ValueError):  # values are strings, as OpenAI's are
        Bag.model_validate({"metadata": {"a": 1}})


# ---- ids that sort by creation time, across processes ------------------------------------------


def test_sortable_ids_keep_the_clocks_millisecond_and_sort_in_creation_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(id_maker, "_last_ms", 0)
    monkeypatch.setattr(id_maker, "_count", 0)
    made = [id_maker.new_sortable_id("msg_", 1_700_000_000_000) for _ in range(32)]  # a thread's 32 messages at once
    assert made == sorted(made) and len(set(made)) == 32
    assert len({m[4:12] for m in made}) == 1 and all(len(m) == 4 + 24 for m in made)  # one millisecond, not 32
    # another process (or isolate) adds a message a millisecond later: it is listed after all 32
    monkeypatch.setattr(id_maker, "_last_ms", 0)
    monkeypatch.setattr(id_maker, "_count", 0)
    assert id_maker.new_sortable_id("msg_", 1_700_000_000_001) > made[-1]
    # a clock that goes back does not reorder this process's ids; past 62² ids in one millisecond, the next one
    burst = [id_maker.new_sortable_id("msg_", 1_700_000_000_000) for _ in range(62 ** 2 + 2)]
    assert burst == sorted(burst) and burst[0] > made[-1]
    assert burst[-1][4:12] > burst[0][4:12]


def test_item_row_keys_of_two_processes_sort_in_the_order_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # Process A adds four items to a conversation; process B (its own last key) adds one a moment later,
    # in the same second of the app's clock: B's sorts after A's (it sorted between them).
    now = int(time.time())
    monkeypatch.setattr(id_maker, "_last_us", 0)  # as a fresh process (tests before this one wrote keys at the tests' clock, years on)
    first = [items.row_key(now, "aaaaaaaaaa") for _ in range(4)]
    monkeypatch.setattr(id_maker, "_last_us", 0)
    time.sleep(0.002)
    later = items.row_key(now, "0000000000")
    assert first == sorted(first) and later > first[-1]
