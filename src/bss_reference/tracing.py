"""Trace context per request, as the real backend (Spring Boot with Micrometer Tracing) keeps it.

Every HTTP request continues the caller's trace: a valid W3C ``traceparent`` gives the trace id
and the parent span id, an absent or invalid one starts a new trace (W3C Trace Context, "restart
the trace"). The server span gets a span id of its own. Its trace id is problem details'
``traceId`` (:func:`trace_id_of`). The run id is the run-id header (``X-Load-Test-Run-Id`` unless
configured), else ``loadtest.run_id`` in the W3C ``baggage``, else none.

:class:`Tracing` is the one object the gateway calls: ``begin`` when a request arrives, ``end``
when it has been answered. With an access log (``bss_reference.accesslog``) ``end`` writes its
line; with an OTLP endpoint (``bss_reference.otlp``) the server span is exported. Without either,
a request costs one pass over its headers and two random numbers.
"""

from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import unquote

from bss_reference.config import DEFAULT_RUN_ID_HEADER, Settings

RUN_ID_BAGGAGE_KEY = "loadtest.run_id"
#: Longer run ids (from a header anyone can send) are cut here before they reach a log line.
MAX_RUN_ID_CHARS = 200
#: The route of a request no route matches (the ``uri`` label of the server's metrics too).
UNKNOWN_ROUTE = "UNKNOWN"
#: Where the gateway keeps the request's :class:`RequestTrace` in the ASGI scope.
SCOPE_KEY = "bss.trace"

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16
_HEADER_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class TracingError(Exception):
    """The access log or the OTLP export cannot be set up; the message names the option."""


def parse_traceparent(value: str) -> tuple[str, str, int] | None:
    """``(trace id, parent span id, flags)`` of a W3C ``traceparent``, or None when invalid.

    Version ``00`` is exactly four fields; a later version may append fields after a ``-``
    (read as version 00); ``ff``, upper-case hex and all-zero ids are invalid.
    """
    m = _TRACEPARENT.fullmatch(value.strip(" \t"))
    if m is None:
        return None
    version, trace_id, parent_id, flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == _ZERO_TRACE_ID or parent_id == _ZERO_SPAN_ID:
        return None
    return trace_id, parent_id, int(flags, 16)


def baggage_value(header: str, key: str) -> str | None:
    """The percent-decoded value of ``key`` in a W3C ``baggage`` header (first member wins).

    Members are comma-separated ``key=value``, optional whitespace around both, properties after
    ``;``. A member without ``=`` is skipped; an empty value is no value.
    """
    for member in header.split(","):
        name, eq, rest = member.partition("=")
        if eq and name.strip(" \t") == key:
            value = rest.split(";", 1)[0].strip(" \t")
            return unquote(value, errors="replace") if value else None
    return None


def new_trace_id() -> str:
    return f"{random.getrandbits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{random.getrandbits(64) or 1:016x}"


def _clean_run_id(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:MAX_RUN_ID_CHARS] or None


class RequestTrace:
    """One request's server span: its ids, what it answers, and where its run id comes from."""

    __slots__ = ("trace_id", "span_id", "parent_span_id", "method", "route", "span",
                 "_run_id_header", "_baggage")

    def __init__(self, trace_id: str, span_id: str, parent_span_id: str | None, method: str,
                 route: str, run_id_header: str | None = None, baggage: str | None = None) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.method = method
        self.route = route
        self.span: Any = None  # the OpenTelemetry span, when spans are exported
        self._run_id_header = run_id_header
        self._baggage = baggage

    @property
    def run_id(self) -> str | None:
        """The run-id header, else ``loadtest.run_id`` from the baggage, else None."""
        run_id = _clean_run_id(self._run_id_header)
        if run_id is None and self._baggage is not None:
            run_id = _clean_run_id(baggage_value(self._baggage, RUN_ID_BAGGAGE_KEY))
        return run_id


def trace_id_of(scope: dict[str, Any]) -> str:
    """The trace id of the request in ``scope`` (a fresh one outside the gateway)."""
    trace = scope.get(SCOPE_KEY)
    return trace.trace_id if trace is not None else new_trace_id()


def check_header_name(name: str) -> str | None:
    """Why ``name`` cannot be an HTTP header name, or None when it can."""
    if not _HEADER_TOKEN.fullmatch(name):
        return f"not an HTTP header name: {name!r}"
    return None


class Tracing:
    """Begins and ends each request's server span; writes its access-log line, exports its span."""

    def __init__(self, run_id_header: str = DEFAULT_RUN_ID_HEADER, access_log: Any = None,
                 exporter: Any = None) -> None:
        """``access_log``: an :class:`~bss_reference.accesslog.AccessLog`; ``exporter``: an
        :class:`~bss_reference.otlp.OtlpExporter`; either may be None."""
        self.run_id_header = run_id_header.lower().encode("latin-1")
        self.access_log = access_log
        self.exporter = exporter
        self._recording = access_log is not None or exporter is not None

    @classmethod
    def from_settings(cls, settings: Settings) -> Tracing:
        """Open the access log and start the exporter the settings ask for (:class:`TracingError`)."""
        access_log = exporter = None
        if settings.access_log is not None:
            from bss_reference.accesslog import AccessLog

            access_log = AccessLog.open(settings.access_log)
        if settings.otlp_endpoint is not None:
            from bss_reference.otlp import OtlpExporter

            try:
                exporter = OtlpExporter(settings.otlp_endpoint)
            except TracingError:
                if access_log is not None:
                    access_log.close()
                raise
        return cls(settings.run_id_header, access_log, exporter)

    def begin(self, scope: dict[str, Any], method: str, route: str) -> RequestTrace:
        """The server span of the request in ``scope``, continuing its ``traceparent`` when valid."""
        traceparent = baggage = run_id = None
        seen_traceparent = 0
        run_id_header = self.run_id_header
        for name, value in scope["headers"]:
            if name == b"traceparent":
                traceparent = value
                seen_traceparent += 1
            elif name == b"baggage":
                # Several baggage headers are one list (RFC 9110 field combination).
                text = value.decode("latin-1")
                baggage = text if baggage is None else f"{baggage},{text}"
            elif name == run_id_header:
                run_id = value.decode("latin-1")
        # Two traceparent headers are no valid trace context: a new trace, as for a bad one.
        parent = (parse_traceparent(traceparent.decode("latin-1"))
                  if traceparent is not None and seen_traceparent == 1 else None)
        trace = RequestTrace(parent[0] if parent else new_trace_id(), new_span_id(),
                             parent[1] if parent else None, method, route, run_id, baggage)
        if self.exporter is not None:
            self.exporter.start(trace, parent)
        return trace

    def end(self, trace: RequestTrace, status: int, duration_s: float) -> None:
        """The request has been answered: its access-log line, its span ended (and queued)."""
        if not self._recording:
            return
        run_id = trace.run_id
        if self.access_log is not None:
            self.access_log.write(trace, run_id, status, duration_s)
        if self.exporter is not None:
            self.exporter.finish(trace, run_id, status)

    def close(self) -> None:
        """Export what is left of the spans (bounded), then close the access log."""
        self._recording = False
        if self.exporter is not None:
            self.exporter.shutdown()
            self.exporter = None
        if self.access_log is not None:
            self.access_log.close()
            self.access_log = None
