"""Every failure the API reports, and the one place it becomes JSON.

::

    APIError                      status  type                   code
     ├── InvalidRequest             400   invalid_request_error  (varies)
     ├── AuthenticationError        401   invalid_request_error  invalid_api_key
     ├── PermissionDenied           403   invalid_request_error  (varies)
     ├── NotFound                   404   invalid_request_error  (varies)
     │    └── ModelNotFound         404   invalid_request_error  model_not_found
     ├── MethodNotAllowed           405   invalid_request_error  method_not_allowed
     ├── PayloadTooLarge            413   invalid_request_error  payload_too_large
     ├── RateLimited                429   requests               rate_limit_exceeded
     └── UpstreamError        502/503/…   server_error           (Workers AI's code)

Handlers raise; :func:`render` turns an error into the OpenAI shape
(``{"error": {"message", "type", "param", "code"}}``) or the Ollama shape
(``{"error": "..."}``) depending on which API the request addressed.
Errors after a stream has started are sent as events instead
(:mod:`openai_workers_ai.streaming`).
"""

from __future__ import annotations

from json import dumps
from typing import Any, Literal

from starlette.responses import Response

Flavor = Literal["openai", "ollama"]


class APIError(Exception):
    """A failure reported to the client: ``status``, OpenAI's ``type`` and ``code``, and the ``param`` at fault."""

    status: int = 500
    type: str = "server_error"
    code: str | None = None
    retry_after: int | None = None
    """Seconds the client should wait before retrying (``Retry-After``), when the failure says."""

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_openai(self) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def to_ollama(self) -> dict[str, Any]:
        """``{"error": "<message>"}``."""
        return {"error": self.message}


class InvalidRequest(APIError):
    status = 400
    type = "invalid_request_error"

    @classmethod
    def array_too_long(cls, param: str, limit: int, length: int) -> InvalidRequest:
        """OpenAI's 400 for a list longer than its ``limit`` (its words and code)."""
        return cls(f"Invalid '{param}': array too long. Expected an array with maximum length {limit}, but got "
                   f"an array with length {length} instead.", param=param, code="array_above_max_length")


class AuthenticationError(APIError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class PermissionDenied(APIError):
    status = 403
    type = "invalid_request_error"


class NotFound(APIError):
    status = 404
    type = "invalid_request_error"


class ModelNotFound(NotFound):
    code = "model_not_found"

    def __init__(self, model: str) -> None:
        # OpenAI sends `param: null` with model_not_found.
        super().__init__(f"The model `{model}` does not exist or you do not have access to it.")
        self.model = model

    def to_ollama(self) -> dict[str, Any]:
        """Worded as Ollama words it: ``model '<name>' not found``."""
        return {"error": f"model '{self.model}' not found"}


class MethodNotAllowed(APIError):
    status = 405
    type = "invalid_request_error"
    code = "method_not_allowed"


class PayloadTooLarge(APIError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class RateLimited(APIError):
    status = 429
    type = "requests"
    code = "rate_limit_exceeded"


class UpstreamError(APIError):
    """Workers AI (or another Cloudflare binding) failed.

    Adapters raise it with the status the failure maps to: 400 when the model
    rejected the input, 429 when rate limited, 503 when out of capacity, 502
    for anything else the upstream got wrong.
    """

    status = 502
    type = "server_error"

    def __init__(self, message: str, *, status: int = 502, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after
        if status == 429:
            self.type, self.code = "requests", code or "rate_limit_exceeded"
        elif 400 <= status < 500:
            self.type = "invalid_request_error"


def flavor_of(path: str) -> Flavor:
    """Which API a request path belongs to (and so which error shape it gets)."""
    if path.startswith("/api/") or path.startswith("/llm/ollama"):
        return "ollama"
    return "openai"


def render(error: APIError, flavor: Flavor = "openai") -> Response:
    """The one place an error becomes an HTTP response."""
    body = error.to_ollama() if flavor == "ollama" else error.to_openai()
    retry_after = error.retry_after if error.retry_after is not None else (1 if error.status == 429 else None)
    headers = {"retry-after": str(retry_after)} if retry_after is not None else None
    return Response(
        dumps(body, ensure_ascii=False),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )
