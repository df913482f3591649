"""The server spans over OTLP/HTTP (``--otlp-endpoint URL``), as Micrometer Tracing's OTLP bridge.

Each request's server span continues the incoming trace: its trace id is the ``traceparent``'s,
its parent the caller's span id; its name is ``METHOD route`` and its attributes are
``http.request.method``, ``http.route``, ``http.response.status_code`` and ``loadtest.run_id``
(when the request carried one); a 5xx sets the span's status to error. The sampled flag is
honoured (parent-based sampling): a trace the caller did not sample is not exported, a new trace
is. Spans are queued in a ``BatchSpanProcessor`` (a background thread: nothing of the export is on
the request path) and flushed at shutdown, within :data:`SHUTDOWN_TIMEOUT_S`.

Needs ``opentelemetry-sdk`` and ``opentelemetry-exporter-otlp-proto-http`` (the ``otlp`` extra),
imported only when the option is given.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from bss_reference.tracing import UNKNOWN_ROUTE, RequestTrace, TracingError

SERVICE_NAME = "bss-reference"
TRACES_PATH = "/v1/traces"
INSTALL_HINT = "pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"
#: One export request may take this long (the exporter retries within it).
EXPORT_TIMEOUT_S = 2.0
#: At shutdown, the queued spans get this long to leave (ReferenceServer waits 5 s for a stop).
SHUTDOWN_TIMEOUT_S = 3.0


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL: ``endpoint`` itself, or ``endpoint/v1/traces`` when it has no path.

    Raises :class:`TracingError` for anything but an http(s) URL with a host.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TracingError(f"--otlp-endpoint: must be an http:// or https:// URL, got {endpoint!r}")
    if parts.path in ("", "/"):
        return endpoint.rstrip("/") + TRACES_PATH
    return endpoint


class OtlpExporter:
    def __init__(self, endpoint: str) -> None:
        self.url = traces_url(endpoint)
        try:
            from opentelemetry import context as otel_context
            from opentelemetry import trace as otel_trace
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError as exc:
            raise TracingError(f"--otlp-endpoint: {exc.name or 'opentelemetry'} is not installed; "
                               f"{INSTALL_HINT}") from None
        from bss_reference import __version__

        self._trace = otel_trace
        self._empty_context = otel_context.Context()
        self._server_kind = otel_trace.SpanKind.SERVER
        self._error = otel_trace.Status(otel_trace.StatusCode.ERROR)
        # A private provider, never the global one: the process's other code is not traced by it.
        self.provider = TracerProvider(resource=Resource.create(
            {"service.name": SERVICE_NAME, "service.version": __version__}))
        self.processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=self.url, timeout=EXPORT_TIMEOUT_S))
        self.provider.add_span_processor(self.processor)
        self.tracer = self.provider.get_tracer("bss_reference", __version__)

    def start(self, trace: RequestTrace, parent: tuple[str, str, int] | None) -> None:
        """Start ``trace``'s span (a child of ``parent``, else a new trace) and give ``trace`` its ids."""
        t = self._trace
        if parent is None:
            context = self._empty_context
        else:
            context = t.set_span_in_context(t.NonRecordingSpan(t.SpanContext(
                int(parent[0], 16), int(parent[1], 16), is_remote=True,
                trace_flags=t.TraceFlags(parent[2]))), self._empty_context)
        attributes: dict[str, Any] = {"http.request.method": trace.method}
        if trace.route != UNKNOWN_ROUTE:
            attributes["http.route"] = trace.route
            name = f"{trace.method} {trace.route}"
        else:
            name = trace.method
        span = self.tracer.start_span(name, context=context, kind=self._server_kind,
                                      attributes=attributes)
        ids = span.get_span_context()
        if ids.is_valid:  # not so when the SDK is switched off (OTEL_SDK_DISABLED): keep the own ids
            trace.trace_id = f"{ids.trace_id:032x}"
            trace.span_id = f"{ids.span_id:016x}"
        trace.span = span

    def finish(self, trace: RequestTrace, run_id: str | None, status: int) -> None:
        span = trace.span
        if span is None or not span.is_recording():
            return
        span.set_attribute("http.response.status_code", status)
        if run_id is not None:
            span.set_attribute("loadtest.run_id", run_id)
        if status >= 500:
            span.set_attribute("error.type", str(status))
            span.set_status(self._error)
        span.end()

    def shutdown(self) -> None:
        """Export the queued spans, then stop; returns after :data:`SHUTDOWN_TIMEOUT_S` at most."""
        # The SDK's own shutdown waits up to 30 s for an unreachable receiver; a daemon thread
        # bounds the wait, and whatever it has not sent by then ends with the process.
        stopping = threading.Thread(target=self.provider.shutdown, name="otlp-shutdown", daemon=True)
        stopping.start()
        stopping.join(SHUTDOWN_TIMEOUT_S)
