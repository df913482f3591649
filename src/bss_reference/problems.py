"""RFC 7807 problem details: the one error shape of the reference server.

Handlers raise :class:`ApiError` (or its helpers); the exception handlers in ``app.py`` turn it
into ``application/problem+json``. A 404 for a GET by id is the documented exception: an empty
body (``ApiError(404, empty=True)``). ``traceId`` is the trace id of the request's server span
(``bss_reference.tracing``), so a problem can be found in the access log and in the traces.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

PROBLEM_TYPE_BASE = "https://bss.example/problems/"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error answer. ``errors`` is a list of ``{"field", "message"}`` for validation failures."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        code: str | None = None,
        errors: list[dict[str, str]] | None = None,
        empty: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = errors
        self.empty = empty
        self.headers = headers


def bad_request(field: str, message: str) -> ApiError:
    return ApiError(400, f"{field}: {message}", code="validation.failed",
                    errors=[{"field": field, "message": message}])


def not_found(what: str, ident: Any, *, empty: bool = False) -> ApiError:
    return ApiError(404, f"{what} not found: {ident}", code="resource.not_found", empty=empty)


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail, code="state.conflict")


def problem_body(status: int, detail: str, instance: str, *, trace_id: str, code: str | None = None,
                 errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    title = TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code or f"http.{status}",
        "traceId": trace_id,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def problem_response(status: int, detail: str, instance: str, *, trace_id: str,
                     code: str | None = None, errors: list[dict[str, str]] | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(problem_body(status, detail, instance, trace_id=trace_id, code=code,
                                      errors=errors))
    return Response(content, status_code=status, media_type="application/problem+json",
                    headers=headers)


def error_response(exc: ApiError, instance: str, *, trace_id: str) -> Response:
    if exc.empty:
        return Response(status_code=exc.status, headers=exc.headers)
    return problem_response(exc.status, exc.detail, instance, trace_id=trace_id, code=exc.code,
                            errors=exc.errors, headers=exc.headers)
