"""One error hierarchy for the whole engine.

Every error carries a stable machine code, an HTTP-like status and a public message that says what is
valid. Front doors translate these once (REST JSON shape, MCP ``isError`` result); nothing else is caught.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class PicshaError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


class InvalidInput(PicshaError):
    status = 400
    code = "invalid_request"


class Unauthorized(PicshaError):
    status = 401
    code = "unauthorized"


class Forbidden(PicshaError):
    status = 403
    code = "forbidden"


class NotFound(PicshaError):
    status = 404
    code = "not_found"


class Conflict(PicshaError):
    status = 409
    code = "conflict"


class TooLarge(PicshaError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(PicshaError):
    status = 415
    code = "unsupported_media_type"


class Busy(PicshaError):
    """The bounded work queue is full: the caller should retry after ``retry_after`` seconds."""

    status = 503
    code = "busy"

    def __init__(self, message: str, *, retry_after: int = 1, **details: Any):
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class UpstreamError(PicshaError):
    """A remote resource (URL fetch, paid API) failed in a way the caller can act on."""

    status = 502
    code = "upstream_error"


_REQUEST_PARTS = ("body", "query", "path")


def invalid_fields(errors: Iterable[Mapping[str, Any]], *, codes: Mapping[str, str] | None = None) -> InvalidInput:
    """Pydantic's errors (``error.errors()``) as one ``InvalidInput`` naming each field and its problem.

    ``codes`` gives a field its own error code (the first such field decides); otherwise ``invalid_request``.
    """
    fields = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part not in _REQUEST_PARTS)
        fields.append({"field": location or "body", "problem": error.get("msg", "invalid")})
    message = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
    code = next((codes[f["field"]] for f in fields if codes and f["field"] in codes), "invalid_request")
    return InvalidInput(f"Invalid request: {message}", code=code, fields=fields)
