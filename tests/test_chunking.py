"""Chunking: windows of at most the size, the overlap OpenAI's static strategy asks for, no word cut."""

from __future__ import annotations

import random

import pytest

from openai_workers_ai.runner.chunking import CHARS_PER_TOKEN, chunk_text


def words(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]) + str(i) for i in range(n))


@pytest.mark.parametrize(("size", "overlap"), [(100, 0), (100, 50), (800, 400), (300, 10)])
def test_windows_overlap_as_asked_and_cover_the_text(size: int, overlap: int) -> None:
    text = words(5000)
    chunks = chunk_text(text, size, overlap)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(len(c.text) <= size * CHARS_PER_TOKEN for c in chunks)
    assert all(c.tokens <= size for c in chunks)
    vocabulary = text.split()
    for before, after in zip(chunks, chunks[1:], strict=False):
        shared = set(before.text.split()) & set(after.text.split())  # each word is unique in the text
        # the next window starts `overlap` tokens (± a word) before the previous one ended
        assert abs(len(" ".join(w for w in before.text.split() if w in shared)) - overlap * CHARS_PER_TOKEN) <= 16
        assert after.text.split()[0] in vocabulary  # starts on a whole word
        assert before.text.split()[-1] in vocabulary  # ends on a whole word
    # nothing is lost: every word is in some chunk, in order
    covered = [w for c in chunks for w in c.text.split()]
    assert sorted(set(covered)) == sorted(vocabulary)


def test_a_window_ends_at_the_best_boundary_in_its_second_half() -> None:
    paragraph = "The first paragraph is short. " * 10  # ~300 characters
    text = paragraph + "\n\n" + "Second part goes on and on. " * 40
    chunks = chunk_text(text, 100, 0)  # 400 characters a window
    assert chunks[0].text == paragraph.strip()  # cut at the blank line, not at 400 characters
    sentences = chunk_text("One sentence here. " * 100, 100, 0)
    assert all(c.text.endswith(".") for c in sentences)  # at sentence ends


def test_a_word_longer_than_a_window_is_cut_and_progress_is_made() -> None:
    text = "x" * 1000 + " tail"
    chunks = chunk_text(text, 100, 50)
    assert chunks[0].text == "x" * 400
    assert chunks[-1].text.endswith("tail")
    assert len(chunks) < 10


def test_small_empty_and_whitespace_texts() -> None:
    assert [c.text for c in chunk_text("  hello world \n")] == ["hello world"]
    assert chunk_text("") == []
    assert chunk_text(" \n\t  ") == []


def test_openais_default_of_800_and_400_on_a_long_text() -> None:
    text = words(40000)
    chunks = chunk_text(text)
    expected = len(text) / (400 * CHARS_PER_TOKEN)  # a new chunk every 400 tokens
    assert expected - 1 <= len(chunks) <= expected * 1.02 + 1
    assert max(c.tokens for c in chunks) <= 800
