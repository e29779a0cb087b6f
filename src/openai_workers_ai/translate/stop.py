"""Stop sequences, enforced by the gateway (Workers AI models don't take them)."""

from __future__ import annotations


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """``text`` up to the first stop sequence, and whether one was found."""
    first = -1
    for stop in stops:
        at = text.find(stop)
        if at != -1 and (first == -1 or at < first):
            first = at
    return (text, False) if first == -1 else (text[:first], True)


class StopScanner:
    """Streams text while holding back anything that could still become a stop sequence.

    ``feed`` returns the text that is safe to emit and whether a stop sequence
    was hit (after which nothing more must be emitted); ``flush`` releases the
    held-back tail once the stream ends without a match.
    """

    __slots__ = ("stops", "held")

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        if not self.stops:
            return text, False
        buffer = self.held + text
        safe, stopped = cut_at_stop(buffer, self.stops)
        if stopped:
            self.held = ""
            return safe, True
        hold = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(buffer)), hold, -1):
                if buffer.endswith(stop[:k]):
                    hold = k
                    break
        self.held = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold], False

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held
