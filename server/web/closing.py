"""Domain errors -> what the viewer's page reads: WebSocket close codes, HTTP statuses and the error
message, in this one place (the gRPC transport's table is gateway/status.py).

Close codes: the WebSocket protocol's own where one fits (1007 a message that is not valid JSON,
1003 a message out of place, 1009 a message over the size limit, 1011 a bug), else 4000 + the HTTP
status that means the same (4400 bad config, 4401 no valid token, 4404, 4408 a timeout, 4429 a limit
or an overloaded server, 4503 unavailable, ...).
"""
from __future__ import annotations

import json

from signstream.errors import SignStreamError

__all__ = ["close_code", "close_reason", "error_json", "http_status"]

HTTP_BY_STATUS = {
    "INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
    "DEADLINE_EXCEEDED": 408, "FAILED_PRECONDITION": 412, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499,
    "DATA_LOSS": 500, "INTERNAL": 500, "UNAVAILABLE": 503,
}
CLOSE_BY_CODE = {"MALFORMED_MESSAGE": 1007, "UNEXPECTED_MESSAGE": 1003, "MESSAGE_TOO_LARGE": 1009}
HTTP_BY_CODE = {"MESSAGE_TOO_LARGE": 413}
INTERNAL_CLOSE = 1011
MAX_REASON_BYTES = 123            # a close frame's reason, by the WebSocket protocol


def http_status(error: SignStreamError) -> int:
    return HTTP_BY_CODE.get(error.code) or HTTP_BY_STATUS.get(error.status, 500)


def close_code(error: SignStreamError) -> int:
    if error.code in CLOSE_BY_CODE:
        return CLOSE_BY_CODE[error.code]
    if error.status == "INTERNAL":
        return INTERNAL_CLOSE
    return 4000 + HTTP_BY_STATUS.get(error.status, 500)


def error_json(error: SignStreamError) -> str:
    """The error message the page shows: code, gRPC-equivalent status, the field it names, what to do."""
    body = {"type": "error", "code": error.code, "status": error.status, "field": error.field or "",
            "message": error.message}
    retry = getattr(error, "retry_after_s", None)
    if retry is not None:
        body["retry_after_s"] = retry
    return json.dumps(body, ensure_ascii=False)


def close_reason(error: SignStreamError) -> bytes:
    """The message cut to what a close frame carries, at a character boundary."""
    return error.message.encode("utf-8")[:MAX_REASON_BYTES].decode("utf-8", errors="ignore").encode("utf-8")
