"""The run's own metrics over OTLP/HTTP (``--otlp-endpoint URL``), for a Prometheus behind a Collector.

The numbers are the ones ``/metrics`` shows, from the same one reading of the live state
(:func:`bss_loadtest.run.prometheus.read_numbers`), under the same names and attributes, so that a
Collector's Prometheus exporter (or Prometheus' own OTLP receiver) gives the series the Grafana
dashboard reads:

================================================  ================  ===================================
metric                                            OTLP type         attributes
================================================  ================  ===================================
``bss_loadtest_requests_total``                   cumulative sum    ``run_id, method, name, outcome``
``bss_loadtest_request_duration_seconds``         histogram (s)     ``run_id, method, name``
``bss_loadtest_users``                            gauge             ``run_id``
``bss_loadtest_iterations_total``                 cumulative sum    ``run_id, scenario``
``bss_loadtest_dropped_iterations_total``         cumulative sum    ``run_id, scenario``
``bss_loadtest_checks_total``                     cumulative sum    ``run_id, outcome`` (passed, failed)
``bss_loadtest_vus``                              gauge             ``run_id``
``bss_loadtest_vus_max``                          gauge             ``run_id``
``bss_loadtest_threshold_passing``                gauge             ``run_id, threshold``
``bss_loadtest_run_info``                         gauge (1)         ``run_id, profile, host``
``bss_loadtest_run_start_time_seconds``           gauge             ``run_id``
================================================  ================  ===================================

The OpenTelemetry SDK does the plumbing: one ``MeterProvider`` per run, whose observable
instruments read the state at collection time (nothing is added to the path of a request), and a
``PeriodicExportingMetricReader`` that collects every ``interval_s`` and once more when the run
ends. OpenTelemetry has no asynchronous histogram, so the duration histogram is built at export
time from the run's histogram, re-bucketed into ``DURATION_BUCKETS_S`` exactly as for ``/metrics``
(cumulative temporality; count, sum, min and max exact), and added to the same batch; its numbers
and the instruments' come from one reading. Exports run in the reader's thread (a greenlet under
Locust), each bounded by ``EXPORT_TIMEOUT_S``; a Collector that is down costs one WARNING per outage
and an INFO line when it is back, never an exception out of the export.

The SDK is an optional dependency (``pip install 'bss-loadtest[otlp]'``): it is imported when an
:class:`OtlpExport` is built, and a missing one is a :class:`ConfigError` naming the packages.

This module does not import locust.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bss_loadtest.core.errors import ConfigError
from bss_loadtest.run.prometheus import (
    METRIC_PREFIX,
    PUSH_INTERVAL_S,
    LiveNumbers,
    LiveState,
    read_numbers,
    redact_url,
)

logger = logging.getLogger(__name__)

OTLP_PACKAGES = ("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http")
INSTALL_HINT = "pip install " + " ".join(OTLP_PACKAGES)
METRICS_PATH = "/v1/metrics"
EXPORT_TIMEOUT_S = 5.0
"""Bound of one export (the exporter's retries included)."""
SCOPE_NAME = "bss_loadtest"
SERVICE_NAME = "bss-loadtest"
EXPORTER_LOGGER = "opentelemetry.exporter.otlp.proto.http.metric_exporter"
"""The SDK exporter's own logger: its per-export errors become this module's one line per outage."""

P = METRIC_PREFIX
REQUESTS = f"{P}_requests_total"
DURATION = f"{P}_request_duration_seconds"
USERS = f"{P}_users"
ITERATIONS = f"{P}_iterations_total"
DROPPED = f"{P}_dropped_iterations_total"
CHECKS = f"{P}_checks_total"
VUS = f"{P}_vus"
VUS_MAX = f"{P}_vus_max"
THRESHOLD = f"{P}_threshold_passing"
RUN_INFO = f"{P}_run_info"
RUN_START = f"{P}_run_start_time_seconds"


def metrics_url(endpoint: str) -> str:
    """The OTLP/HTTP metrics URL of ``endpoint``: a Collector's base URL (``http://host:4318``) gets
    ``/v1/metrics`` appended, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` does; a URL ending in it is kept."""
    text = endpoint.strip()
    parts = urlsplit(text if "//" in text else f"http://{text}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--otlp-endpoint {redact_url(endpoint)}: expected http(s)://host:port")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"--otlp-endpoint {redact_url(endpoint)}: the port is not a number") from None
    path = parts.path.rstrip("/")
    if not path.endswith(METRICS_PATH):
        path += METRICS_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _import_sdk() -> SimpleNamespace:
    """The SDK's classes this module uses and the exporter class built on them, or a ConfigError
    with the exact install line."""
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.metrics import Observation
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import (
            AggregationTemporality,
            Histogram,
            HistogramDataPoint,
            Metric,
            MetricExporter,
            MetricExportResult,
            MetricsData,
            PeriodicExportingMetricReader,
            ResourceMetrics,
            ScopeMetrics,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    except ImportError as e:
        raise ConfigError(f"--otlp-endpoint needs the OpenTelemetry SDK ({e.name or e}): {INSTALL_HINT}") from None
    sdk = SimpleNamespace(
        OTLPMetricExporter=OTLPMetricExporter,
        Observation=Observation,
        MeterProvider=MeterProvider,
        AggregationTemporality=AggregationTemporality,
        Histogram=Histogram,
        HistogramDataPoint=HistogramDataPoint,
        Metric=Metric,
        MetricExporter=MetricExporter,
        MetricExportResult=MetricExportResult,
        MetricsData=MetricsData,
        PeriodicExportingMetricReader=PeriodicExportingMetricReader,
        ResourceMetrics=ResourceMetrics,
        ScopeMetrics=ScopeMetrics,
        Resource=Resource,
        InstrumentationScope=InstrumentationScope,
    )
    sdk.RunExporter = _exporter_class(sdk)
    return sdk


class _Reading:
    """One reading of the state per collection, shared by the instruments' callbacks and the histogram.

    The first callback of a collection reads the state; the export that ends the collection takes
    (and so clears) that reading, so the next collection reads anew.
    """

    def __init__(self, state: LiveState) -> None:
        self.state = state
        self._numbers: LiveNumbers | None = None
        self._lock = threading.Lock()

    def numbers(self) -> LiveNumbers:
        with self._lock:
            if self._numbers is None:
                self._numbers = read_numbers(self.state)
            return self._numbers

    def take(self) -> LiveNumbers:
        with self._lock:
            numbers = self._numbers if self._numbers is not None else read_numbers(self.state)
            self._numbers = None
            return numbers


class _CaptureExporterErrors(logging.Filter):
    """Drops the SDK exporter's records, keeping the first problem it names in an export (its first
    retry line names the cause; its last one only says it gave up): reported once per outage here."""

    def __init__(self) -> None:
        super().__init__()
        self.last: str | None = None

    def reset(self) -> None:
        self.last = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and self.last is None:
            message = record.getMessage()
            self.last = message.splitlines()[0] if message else record.levelname
        return False


class OtlpExport:
    """Exports the live state's metrics to an OTLP/HTTP endpoint, like ``prometheus.LiveExport``.

    Built once per Locust process (master or local), where the start-up checks run; a provider per
    run from :meth:`start_run` to :meth:`end_run` (the final export); :meth:`stop` at quit.
    """

    def __init__(
        self,
        state: LiveState,
        endpoint: str,
        interval_s: float = PUSH_INTERVAL_S,
        timeout_s: float = EXPORT_TIMEOUT_S,
    ) -> None:
        try:
            interval = float(interval_s)
        except (TypeError, ValueError):
            raise ConfigError(f"--push-interval {interval_s}: must be a number of seconds") from None
        if not (interval > 0 and math.isfinite(interval)):
            raise ConfigError(f"--push-interval {interval_s}: must be greater than 0")
        self.url = metrics_url(endpoint)
        self.shown_url = redact_url(self.url)
        self.sdk = _import_sdk()
        self.state = state
        self.interval_s = interval
        self.timeout_s = timeout_s
        self.run_id: str | None = None
        self.exports = 0
        self.failures = 0
        self._provider: Any = None
        self._exporter: Any = None
        self._lock = threading.Lock()

    # -- a run --------------------------------------------------------------------------------------

    def start_run(self, run_id: str) -> None:
        """A new run: a provider of its own (counters from zero), exporting every ``interval_s``."""
        self.end_run()
        sdk = self.sdk
        reading = _Reading(self.state)
        inner = sdk.OTLPMetricExporter(endpoint=self.url, timeout=self.timeout_s)
        exporter = sdk.RunExporter(self, inner, reading)
        reader = sdk.PeriodicExportingMetricReader(
            exporter,
            export_interval_millis=self.interval_s * 1000.0,
            export_timeout_millis=(3 * self.timeout_s + 1) * 1000.0,
        )
        attributes = {"bss_loadtest.run_id": run_id}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = SERVICE_NAME
        resource = sdk.Resource.create(attributes)
        provider = sdk.MeterProvider(metric_readers=[reader], resource=resource, shutdown_on_exit=False)
        _instruments(sdk, provider.get_meter(SCOPE_NAME), reading)
        with self._lock:
            self.run_id, self._provider, self._exporter = run_id, provider, exporter
        logger.info("OTLP metrics to %s every %gs", self.shown_url, self.interval_s)

    def end_run(self) -> bool:
        """The final export of the current run, holding its final numbers; whether it landed
        (``True`` when no run is going). Bounded by a few export timeouts; never raises."""
        with self._lock:
            provider, exporter = self._provider, self._exporter
            self._provider = self._exporter = None
        if provider is None or exporter is None:
            return True
        exporter.final = True
        try:
            # Stops the periodic exports; the reader collects and exports once more before it ends.
            provider.shutdown(timeout_millis=(3 * self.timeout_s + 2) * 1000.0)
        except Exception as e:  # noqa: BLE001 - an export must never break the run
            exporter.last_ok = False
            exporter.capture.last = exporter.capture.last or f"{type(e).__name__}: {e}"
        finally:
            exporter.detach()
        if not exporter.last_ok:
            logger.warning(
                "OTLP %s: final export failed (%s); the final numbers were not exported",
                self.shown_url, exporter.reason(),
            )
        return exporter.last_ok

    def stop(self) -> None:
        """At quit: the final export of a run still going; idempotent."""
        self.end_run()


def _exporter_class(sdk: SimpleNamespace) -> type:
    """The run's exporter, a ``MetricExporter`` around the SDK's OTLP one: it adds the duration
    histogram to each batch, counts exports and logs an outage once (the SDK is imported lazily,
    so the class is made here)."""

    class RunExporter(sdk.MetricExporter):  # type: ignore[name-defined]
        def __init__(self, owner: OtlpExport, inner: Any, reading: _Reading) -> None:
            super().__init__(preferred_temporality=None, preferred_aggregation=None)  # cumulative
            self.owner = owner
            self.inner = inner
            self.reading = reading
            self.started_ns = time.time_ns()
            self.final = False
            self.failing = False
            self.last_ok = True
            self.capture = _CaptureExporterErrors()
            logging.getLogger(EXPORTER_LOGGER).addFilter(self.capture)

        def detach(self) -> None:
            logging.getLogger(EXPORTER_LOGGER).removeFilter(self.capture)

        def reason(self) -> str:
            return self.capture.last or "no answer"

        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
            owner = self.owner
            self.capture.reset()
            try:
                batch = _with_histogram(sdk, metrics_data, self.reading.take(), self.started_ns)
                result = self.inner.export(batch, timeout_millis=timeout_millis)
                ok = result == sdk.MetricExportResult.SUCCESS
            except Exception as e:  # noqa: BLE001 - an export must never break the run
                self.capture.last = f"{type(e).__name__}: {e}"
                ok = False
            self.last_ok = ok
            if ok:
                owner.exports += 1
                if self.failing:
                    self.failing = False
                    logger.info("OTLP %s: exporting again", owner.shown_url)
                return sdk.MetricExportResult.SUCCESS
            owner.failures += 1
            if not self.failing and not self.final:
                logger.warning(
                    "OTLP %s: export failed (%s); will keep trying every %gs",
                    owner.shown_url, self.reason(), owner.interval_s,
                )
            self.failing = True
            return sdk.MetricExportResult.FAILURE

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return self.inner.force_flush(timeout_millis=timeout_millis)

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            self.inner.shutdown(timeout_millis=timeout_millis)

    return RunExporter


def _instruments(sdk: SimpleNamespace, meter: Any, reading: _Reading) -> None:
    """The observable instruments; each callback reads the collection's one reading."""
    observation = sdk.Observation

    def requests(options: Any) -> list[Any]:
        n = reading.numbers()
        return [
            observation(count, {"run_id": n.run_id, "method": e.method, "name": e.name, "outcome": outcome})
            for e in n.endpoints
            for outcome, count in e.outcomes
        ]

    def users(options: Any) -> list[Any]:
        n = reading.numbers()
        return [observation(n.users, {"run_id": n.run_id})]

    def per_scenario(field: str) -> Any:
        def callback(options: Any) -> list[Any]:
            n = reading.numbers()
            return [observation(count, {"run_id": n.run_id, "scenario": scenario})
                    for scenario, count in getattr(n, field)]
        return callback

    def checks(options: Any) -> list[Any]:
        n = reading.numbers()
        return [observation(count, {"run_id": n.run_id, "outcome": outcome}) for outcome, count in n.checks]

    def vus(options: Any) -> list[Any]:
        n = reading.numbers()
        return [observation(n.vus, {"run_id": n.run_id})]

    def vus_max(options: Any) -> list[Any]:
        n = reading.numbers()
        return [observation(n.vus_max, {"run_id": n.run_id})]

    def thresholds(options: Any) -> list[Any]:
        n = reading.numbers()
        return [observation(1 if passed else 0, {"run_id": n.run_id, "threshold": label}) for label, passed in n.thresholds]

    def run_info(options: Any) -> list[Any]:
        n = reading.numbers()
        return [observation(1, {"run_id": n.run_id, "profile": n.profile, "host": n.host})]

    def run_start(options: Any) -> list[Any]:
        n = reading.numbers()
        return [] if n.started_at is None else [observation(n.started_at, {"run_id": n.run_id})]

    # The requests counter first: its callback takes the collection's reading.
    meter.create_observable_counter(
        REQUESTS, callbacks=[requests], unit="{request}",
        description="Requests completed, by endpoint template and outcome (success or failure class).",
    )
    meter.create_observable_gauge(USERS, callbacks=[users], unit="{user}", description="Simulated users running now.")
    meter.create_observable_counter(
        ITERATIONS, callbacks=[per_scenario("iterations")], unit="{iteration}",
        description="Iterations completed (a task of a user class, a pass of a journey), by k6 scenario.",
    )
    meter.create_observable_counter(
        DROPPED, callbacks=[per_scenario("dropped")], unit="{iteration}",
        description="Iterations that could not start on schedule (every VU busy, maxVUs reached), by k6 scenario.",
    )
    meter.create_observable_counter(
        CHECKS, callbacks=[checks], unit="{check}",
        description="Checks the client made on responses (expected status, body), by outcome (passed or failed).",
    )
    meter.create_observable_gauge(VUS, callbacks=[vus], unit="{vu}", description="k6's vus: VUs running now (all workers).")
    meter.create_observable_gauge(
        VUS_MAX, callbacks=[vus_max], unit="{vu}", description="k6's vus_max: VUs allocated now (all workers)."
    )
    meter.create_observable_gauge(
        THRESHOLD, callbacks=[thresholds], description="1 if the threshold passes on the numbers so far, else 0."
    )
    meter.create_observable_gauge(RUN_INFO, callbacks=[run_info], description="Always 1; attributes describe the run.")
    meter.create_observable_gauge(RUN_START, callbacks=[run_start], unit="s", description="Unix time the run started.")


def _duration_metric(sdk: SimpleNamespace, numbers: LiveNumbers, start_ns: int, now_ns: int) -> Any:
    bounds = list(numbers.bounds_s)
    points = []
    for e in numbers.endpoints:
        if not e.count:
            continue
        cumulative = e.cumulative
        counts = [cumulative[0], *(b - a for a, b in zip(cumulative, cumulative[1:]))]
        points.append(sdk.HistogramDataPoint(
            attributes={"run_id": numbers.run_id, "method": e.method, "name": e.name},
            start_time_unix_nano=start_ns,
            time_unix_nano=now_ns,
            count=e.count,
            sum=e.sum_s,
            bucket_counts=counts,
            explicit_bounds=bounds,
            min=e.min_s if e.min_s is not None else 0.0,
            max=e.max_s if e.max_s is not None else 0.0,
        ))
    return sdk.Metric(
        name=DURATION,
        description="Response time of requests, by endpoint template.",
        unit="s",
        data=sdk.Histogram(data_points=points, aggregation_temporality=sdk.AggregationTemporality.CUMULATIVE),
    )


def _with_histogram(sdk: SimpleNamespace, metrics_data: Any, numbers: LiveNumbers, start_ns: int) -> Any:
    """``metrics_data`` with the duration histogram added to this module's scope."""
    histogram = _duration_metric(sdk, numbers, start_ns, time.time_ns())
    resource_metrics = list(metrics_data.resource_metrics) if metrics_data is not None else []
    for i, rm in enumerate(resource_metrics):
        scopes = list(rm.scope_metrics)
        for j, sm in enumerate(scopes):
            if sm.scope.name == SCOPE_NAME:
                scopes[j] = replace(sm, metrics=[*sm.metrics, histogram])
                resource_metrics[i] = replace(rm, scope_metrics=scopes)
                return sdk.MetricsData(resource_metrics=resource_metrics)
    scope = sdk.ScopeMetrics(scope=sdk.InstrumentationScope(SCOPE_NAME), metrics=[histogram], schema_url="")
    if resource_metrics:
        first = resource_metrics[0]
        resource_metrics[0] = replace(first, scope_metrics=[*first.scope_metrics, scope])
    else:
        resource = sdk.Resource.create({"service.name": SERVICE_NAME})
        resource_metrics = [sdk.ResourceMetrics(resource=resource, scope_metrics=[scope], schema_url="")]
    return sdk.MetricsData(resource_metrics=resource_metrics)
