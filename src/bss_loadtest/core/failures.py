"""Failure classes of a request, and the exceptions the client layer marks failed requests with.

A failed request is reported to Locust with an exception. The client layer raises (well, passes
to ``response.failure``) one of the :class:`RequestFailure` subclasses below, each carrying its
``failure_class``; anything else (a socket error, a timeout, a bad status raised by Locust's
FastHttp client) is classified by :func:`failure_class_of`.

This module is pure: it imports neither locust nor gevent (it recognises their exceptions by
class name), so the summary writer and the Prometheus exporter can use it anywhere.
"""

from __future__ import annotations

import errno
import socket

FAILURE_CLASSES = (
    "auth",
    "rate_limited",
    "client_error",
    "server_error",
    "timeout",
    "connection",
    "validation",
    "unexpected_status",
    "other",
)
"""Every failure class, in report order."""


class RequestFailure(Exception):
    """A request that did not do what the contract says. The message is one line."""

    failure_class = "other"


class AuthFailure(RequestFailure):
    """401 or 403: no token, a bad token, or a token the target refuses (also: token fetch failed)."""

    failure_class = "auth"


class RateLimited(RequestFailure):
    """429: the token subject or the client IP went over the target's rate limit."""

    failure_class = "rate_limited"


class ClientError(RequestFailure):
    """Another 4xx."""

    failure_class = "client_error"


class ServerError(RequestFailure):
    """5xx."""

    failure_class = "server_error"


class TimeoutFailure(RequestFailure):
    """No answer in time."""

    failure_class = "timeout"


class ConnectionFailure(RequestFailure):
    """Refused, reset or closed connection; no HTTP answer at all."""

    failure_class = "connection"


class ValidationFailure(RequestFailure):
    """A success status with a body that does not match its model."""

    failure_class = "validation"


class UnexpectedStatus(RequestFailure):
    """A 1xx-3xx status (or a 2xx) that is not the one the endpoint is expected to answer."""

    failure_class = "unexpected_status"


FAILURE_BY_CLASS: dict[str, type[RequestFailure]] = {
    "auth": AuthFailure,
    "rate_limited": RateLimited,
    "client_error": ClientError,
    "server_error": ServerError,
    "timeout": TimeoutFailure,
    "connection": ConnectionFailure,
    "validation": ValidationFailure,
    "unexpected_status": UnexpectedStatus,
    "other": RequestFailure,
}


def classify_status(status: int) -> str | None:
    """The failure class an HTTP status belongs to when it is not the expected one.

    ``None`` for status 0 (no HTTP answer: classify the exception instead).
    """
    if not status:
        return None
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "client_error"
    if status >= 500:
        return "server_error"
    return "unexpected_status"


_TIMEOUT_NAMES = frozenset({"Timeout", "TimeoutError", "timeout", "ConnectTimeout", "ReadTimeout"})
_CONNECTION_NAMES = frozenset(
    {
        "ConnectionError",  # builtin and geventhttpclient.useragent.ConnectionError
        "HTTPConnectionClosed",
        "HTTPParseError",
        "EmptyResponse",
        "RetriesExceeded",
        "SSLError",
        "RemoteDisconnected",
        "gaierror",
    }
)
_TIMEOUT_ERRNOS = frozenset({errno.ETIMEDOUT})


def _class_names(exception: BaseException) -> set[str]:
    return {klass.__name__ for klass in type(exception).__mro__}


def failure_class_of(exception: BaseException | None) -> str:
    """The failure class of the exception a failed request was reported with.

    Reads ``failure_class`` when the exception carries one; maps timeouts (gevent's ``Timeout``,
    ``socket.timeout``, ``TimeoutError``, ``ETIMEDOUT``) to ``timeout``, a bad status raised by
    FastHttp (an exception with a ``code``) to its status class, connection errors (refused, reset,
    closed, geventhttpclient's ``ConnectionError`` family, which wraps the real cause in
    ``original``) to ``connection``; everything else is ``other``.
    """
    if exception is None:
        return "other"
    declared = getattr(exception, "failure_class", None)
    if isinstance(declared, str) and declared in FAILURE_CLASSES:
        return declared
    original = getattr(exception, "original", None)
    if isinstance(original, BaseException) and original is not exception:
        inner = failure_class_of(original)
        if inner != "other":
            return inner
    code = getattr(exception, "code", None)
    if isinstance(code, int) and code > 0:
        return classify_status(code) or "other"
    names = _class_names(exception)
    if isinstance(exception, (socket.timeout, TimeoutError)) or names & _TIMEOUT_NAMES:
        return "timeout"
    if isinstance(exception, OSError) and exception.errno in _TIMEOUT_ERRNOS:
        return "timeout"
    if isinstance(exception, (ConnectionError, OSError)) or names & _CONNECTION_NAMES:
        return "connection"
    return "other"


def failure_for_status(status: int, expected: str, error: BaseException | None = None) -> RequestFailure:
    """The failure to mark a request with that answered ``status`` where ``expected`` (``"200"``,
    ``"200/201"``) was the contract: ``HTTP 503, expected 200`` of the status's class.

    Status 0 is no HTTP answer at all: the class comes from ``error`` (``timeout``, else
    ``connection``) and the message names the cause's type, e.g. ``timeout: ConnectTimeout``.
    """
    if status:
        return FAILURE_BY_CLASS[classify_status(status) or "other"](f"HTTP {status}, expected {expected}")
    cls = failure_class_of(error) if error is not None else "connection"
    if cls in ("other", "unexpected_status"):
        cls = "connection"
    cause = getattr(error, "original", None) or error
    return FAILURE_BY_CLASS[cls](f"{cls}: {type(cause).__name__}" if cause is not None else cls)
