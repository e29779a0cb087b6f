"""How the simulator fails: Workers AI's error codes and messages, per HTTP status."""

from __future__ import annotations

from ..errors import UpstreamError
from ..workers_ai.errors import upstream_error

# HTTP status → (Workers AI internal code, message) for ``fail:<status>``; codes from
# Cloudflare's Workers AI errors page (see adapters/upstream.py). 429 is a rate-limit
# error (its code is the simulator's own); 503 is Workers AI's "out of capacity" (3040).
KNOWN: dict[int, tuple[int, str]] = {
    400: (5006, "Error: required properties at '/' are 'prompt' or 'messages'"),
    403: (5016, "Model agreement required"),
    404: (5007, "No such model"),
    408: (3007, "Request timeout"),
    413: (3006, "Request is too large"),
    429: (4029, "Rate limited: too many requests, please slow down"),
    500: (3043, "Internal server error"),
    503: (3040, "Capacity temporarily exceeded, please try again."),
}


class SimulatedFailure(Exception):
    """A Workers AI failure: HTTP status on the REST API, code + message in both forms."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def as_upstream_error(self) -> UpstreamError:
        """The error the gateway would raise for this failure."""
        return upstream_error(f"{self.code}: {self.message}", self.status)


def failure_for(status: int) -> SimulatedFailure:
    """The failure Workers AI answers with ``status`` (its known code and wording, if any)."""
    code, message = KNOWN.get(status, (3000 + status % 1000, f"Simulated failure with status {status}"))
    return SimulatedFailure(status, code, message)


def no_such_model(model: str) -> SimulatedFailure:
    """Workers AI's 5007 for an unknown model."""
    return SimulatedFailure(400, 5007, f"No such model {model} or task")


def invalid_input(detail: str) -> SimulatedFailure:
    """Workers AI's 5006 for inputs its schema refuses."""
    return SimulatedFailure(400, 5006, f"Error: {detail}")
