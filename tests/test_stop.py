"""Stop sequences: ``cut_at_stop`` and the streaming ``StopScanner`` agree on any chunking."""

from __future__ import annotations

import random

import pytest

from openai_workers_ai.workers_ai.stops import StopScanner, cut_at_stop


def scan(pieces: list[str], stops: list[str]) -> tuple[str, bool, list[str]]:
    scanner = StopScanner(stops)
    emitted: list[str] = []
    for piece in pieces:
        text, stopped = scanner.feed(piece)
        emitted.append(text)
        if stopped:
            return "".join(emitted), True, emitted
    emitted.append(scanner.flush())
    return "".join(emitted), False, emitted


def random_split(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(0, len(text) - 1))) if len(text) > 1 else []
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize(
    ("text", "stops", "expected"),
    [
        ("hello world", ["world"], ("hello ", True)),
        ("hello world", ["xyz"], ("hello world", False)),
        ("hello world", [], ("hello world", False)),
        ("abcabc", ["c", "b"], ("a", True)),
        ("abc", ["abc", "b"], ("a", True)),  # "b" is complete before "abc" is
        ("abc", ["bc", "abc"], ("", True)),  # same end: the longer (earlier) one
        ("aaa", ["aa"], ("", True)),
        ("日本語テキスト", ["テ"], ("日本語", True)),
    ],
)
def test_cut_at_stop(text: str, stops: list[str], expected: tuple[str, bool]) -> None:
    assert cut_at_stop(text, stops) == expected


def test_never_emits_a_prefix_of_a_stop() -> None:
    scanner = StopScanner(["STOP"])
    assert scanner.feed("abc S") == ("abc ", False)
    assert scanner.feed("T") == ("", False)
    assert scanner.feed("O") == ("", False)
    assert scanner.feed("P and more") == ("", True)


def test_held_text_is_released_when_it_cannot_be_a_stop() -> None:
    scanner = StopScanner(["STOP"])
    assert scanner.feed("ST") == ("", False)
    assert scanner.feed("ART") == ("START", False)
    assert scanner.feed("ST") == ("", False)
    assert scanner.flush() == "ST"


def test_no_stops_passes_through() -> None:
    scanner = StopScanner([])
    assert scanner.feed("anything") == ("anything", False)
    assert scanner.flush() == ""


ALPHABET = "ab c\n日🙂"


@pytest.mark.parametrize("seed", range(300))
def test_random_splits_agree_with_cut_at_stop(seed: int) -> None:
    rng = random.Random(seed)
    stops = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 4))]
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
    if rng.random() < 0.5:  # make a match likely
        at = rng.randint(0, len(text))
        text = text[:at] + rng.choice(stops) + text[at:]
    expected = cut_at_stop(text, stops)
    for _ in range(5):
        pieces = random_split(text, rng)
        out, stopped, emitted = scan(pieces, stops)
        assert (out, stopped) == expected, (text, stops, pieces)
        # every emitted prefix of the answer is final: no stop string ends inside it
        so_far = ""
        for part in emitted:
            so_far += part
            assert not cut_at_stop(so_far, stops)[1]
