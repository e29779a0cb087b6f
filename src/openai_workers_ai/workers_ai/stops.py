"""Stop sequences, enforced by the gateway (Workers AI models don't take them)."""

from __future__ import annotations


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """``text`` up to the stop sequence a model would hit first, and whether there was one.

    "First" is the one that is complete earliest (generation halts the moment a
    stop sequence has been produced), so streamed and whole answers agree.
    """
    best_end = best_start = -1
    for stop in stops:
        at = text.find(stop)
        if at == -1:
            continue
        end = at + len(stop)
        if best_end == -1 or end < best_end or (end == best_end and at < best_start):
            best_end, best_start = end, at
    return (text, False) if best_end == -1 else (text[:best_start], True)


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
        hold = self._partial_tail(buffer)
        self.held = buffer[len(buffer) - hold :] if hold else ""
        return buffer[: len(buffer) - hold], False

    def _partial_tail(self, buffer: str) -> int:
        """Length of the longest tail of ``buffer`` that starts some stop sequence."""
        size = len(buffer)
        hold = 0
        for stop in self.stops:
            # Only positions holding the stop's first character can start a match.
            at = buffer.find(stop[0], max(size - len(stop) + 1, 0))
            while at != -1 and size - at > hold:
                if stop.startswith(buffer[at:]):
                    hold = size - at
                    break
                at = buffer.find(stop[0], at + 1)
        return hold

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held
