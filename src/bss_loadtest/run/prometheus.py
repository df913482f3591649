"""Live Prometheus export: a ``/metrics`` endpoint on the master and an optional Pushgateway pusher.

Everything here reads the run's statistics at scrape (or push) time through :class:`RunCollector`;
nothing is added to the path of a request. The numbers come from the same fine histogram that the
console, ``summary.json`` and the thresholds read (:mod:`bss_loadtest.core.stats`), re-bucketed into the
fixed ``le`` boundaries of :data:`DURATION_BUCKETS_S` so that ``histogram_quantile`` works over any
window in PromQL.

Every metric carries a ``run_id`` label so a dashboard can pick one run among many (several runs
pushing to one Pushgateway, or one Prometheus scraping runs one after the other).

A scraper that asks for OpenMetrics (``Accept: application/openmetrics-text``, as Prometheus does)
also gets exemplars on the duration histogram's buckets: per endpoint, the slowest request kept in
each bucket (``Aggregate.slowest``) with its ``trace_id``, value in seconds and Unix timestamp. The
Prometheus text format (and so the Pushgateway) carries none: it has no exemplars.

The plugin owns the wiring::

    registry = build_registry(state)              # state: see LiveState
    server = MetricsServer(registry, port=9646)   # CLI's 0 means "off": do not construct it
    server.start()                                # ConfigError if the port is taken
    pusher = Pusher(registry, url, run_id=..., interval=10.0)
    pusher.start()
    ...
    pusher.stop(final=True)                       # one last push, bounded by PUSH_TIMEOUT_S
    server.stop()

This module does not import locust.
"""

from __future__ import annotations

import errno
import logging
import math
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import (
    basic_auth_handler,
    default_handler,
    push_to_gateway,
    start_http_server,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar

from bss_loadtest.core.errors import ConfigError
from bss_loadtest.core.failures import FAILURE_CLASSES
from bss_loadtest.core.hosts import redact_url  # the one redaction (listeners and suite import it from here)
from bss_loadtest.core.stats import DEFAULT_SCENARIO, Aggregate, RunStats
from bss_loadtest.core.thresholds import format_seconds

logger = logging.getLogger(__name__)

METRIC_PREFIX = "bss_loadtest"

DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
    1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
)
"""Upper bounds (seconds) of ``bss_loadtest_request_duration_seconds``; ``+Inf`` is added.

They bracket the profiles' p95 limits (smoke 0.2, load 0.5, stress 1.0 exactly) so that a
``histogram_quantile`` near a limit is interpolated inside a narrow bucket.
"""

DEFAULT_PORT = 9646
DEFAULT_BIND_ADDRESS = "127.0.0.1"

PUSH_JOB = "bss_loadtest"
"""The ``job`` of pushed groups; the grouping key is ``{"run_id": ...}``."""

PUSH_INTERVAL_S = 10.0
PUSH_TIMEOUT_S = 5.0
"""Socket timeout of one push: a slow Pushgateway costs the pusher at most this per operation."""

SUCCESS_OUTCOME = "success"

EXEMPLAR_TRACE_LABEL = "trace_id"
EXEMPLAR_MAX_LABELS_CHARS = 128
"""OpenMetrics' limit on an exemplar's label names and values together (Prometheus drops longer)."""


class ThresholdResultLike(Protocol):
    metric: str
    expression: str
    scope: str | None
    passed: bool


class TraceSampleLike(Protocol):
    """One of an endpoint's slowest requests (``bss_loadtest.core.stats.TraceSample``)."""

    trace_id: str
    ms: float
    at: float


class LiveState(Protocol):
    """What :class:`RunCollector` reads at scrape time (the plugin provides it, duck-typed).

    ``stats``
        The run's :class:`RunStats`; on the master, the merged numbers of all workers.
    ``user_count()``
        Users running now (all workers).
    ``threshold_results()``
        The latest verdicts (``.metric``, ``.expression``, ``.scope``, ``.passed``); may be empty.
    ``run_info()``
        ``{"run_id": str, "profile": str, "host": str}``, optionally ``"started_at"`` (Unix
        seconds) for ``bss_loadtest_run_start_time_seconds``; without it the first request's
        time is used. The host is published without userinfo, query or fragment.
    """

    @property
    def stats(self) -> RunStats: ...

    def user_count(self) -> int: ...

    def threshold_results(self) -> Sequence[ThresholdResultLike]: ...

    def run_info(self) -> Mapping[str, Any]: ...


def threshold_label(result: ThresholdResultLike) -> str:
    """``"http_req_duration: p(95)<500"``, ``"http_req_duration{name:GET /x}: p(95)<500"``, or for a
    windowed threshold ``"http_req_duration: p(95)<500 (window 1m)"``."""
    scope = f"{{{result.scope}}}" if result.scope else ""
    window = getattr(result, "window_s", None)
    suffix = f" (window {format_seconds(window)})" if window is not None else ""
    return f"{result.metric}{scope}: {result.expression}{suffix}"


def cumulative_counts(buckets: Mapping[int, int], bounds_ms: Sequence[float]) -> list[int]:
    """For each bound (ascending, ms), the samples at or below it, as ``Histogram.count_at_or_below``.

    One sort and a binary search per bound, instead of one pass over the buckets per bound.
    """
    items = sorted(buckets.items())
    keys = [key for key, _ in items]
    running = list(accumulate(n for _, n in items))
    counts: list[int] = []
    for bound in bounds_ms:
        position = bisect_right(keys, bound * 10.0)  # bucket keys are tenths of a millisecond
        counts.append(running[position - 1] if position else 0)
    return counts


def bucket_exemplars(samples: Iterable[TraceSampleLike], bounds_ms: Sequence[float]) -> dict[int, Exemplar]:
    """Per ``le`` bucket (its index; ``len(bounds_ms)`` is ``+Inf``), the exemplar of its slowest sample.

    A sample goes to the bucket whose range holds its exact time (previous bound < time <= ``le``), so
    an exemplar's value is never above its ``le``; the cumulative bucket counts it there too (a time
    just above a bound may be counted one bucket lower, where its fine bucket lies, never higher).
    OpenMetrics allows one exemplar per bucket: the slowest is kept. A sample without a usable trace
    id or time is skipped.
    """
    chosen: dict[int, TraceSampleLike] = {}
    for sample in samples:
        trace_id = getattr(sample, "trace_id", None)
        ms = getattr(sample, "ms", None)
        if not isinstance(trace_id, str) or not trace_id or not isinstance(ms, (int, float)):
            continue
        if not math.isfinite(ms) or ms < 0:
            continue
        if len(EXEMPLAR_TRACE_LABEL) + len(trace_id) > EXEMPLAR_MAX_LABELS_CHARS:
            continue
        index = bisect_left(bounds_ms, ms)
        if index not in chosen or ms > chosen[index].ms:
            chosen[index] = sample
    exemplars: dict[int, Exemplar] = {}
    for index, sample in chosen.items():
        at = getattr(sample, "at", None)
        timestamp = float(at) if isinstance(at, (int, float)) and at > 0 else None
        exemplars[index] = Exemplar({EXEMPLAR_TRACE_LABEL: sample.trace_id}, sample.ms / 1000.0, timestamp)
    return exemplars


def _snapshot(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    # The statistics are written by the request path while a scrape thread reads them: copying a
    # dict is one C call under the GIL, iterating it in Python is not. Retry if it changed size.
    for _ in range(5):
        try:
            return dict(mapping)
        except RuntimeError:
            continue
    return dict(mapping)


class RunCollector(Collector):
    """Reads the live run state at scrape time and yields the ``bss_loadtest_*`` families."""

    def __init__(self, state: LiveState) -> None:
        self.state = state

    # -- families (one place for names, help texts and labels) -----------------------------------

    @staticmethod
    def _families() -> dict[str, Metric]:
        p = METRIC_PREFIX
        return {
            "requests": CounterMetricFamily(
                f"{p}_requests",
                "Requests completed, by endpoint template and outcome (success or failure class).",
                labels=["run_id", "method", "name", "outcome"],
            ),
            "duration": HistogramMetricFamily(
                f"{p}_request_duration_seconds",
                "Response time of requests, by endpoint template.",
                labels=["run_id", "method", "name"],
            ),
            "users": GaugeMetricFamily(f"{p}_users", "Simulated users running now.", labels=["run_id"]),
            "iterations": CounterMetricFamily(
                f"{p}_iterations",
                "Iterations completed (a task of a user class, a pass of a journey), by k6 scenario.",
                labels=["run_id", "scenario"],
            ),
            "dropped": CounterMetricFamily(
                f"{p}_dropped_iterations",
                "Iterations that could not start on schedule (every VU busy, maxVUs reached), by k6 scenario.",
                labels=["run_id", "scenario"],
            ),
            "checks": CounterMetricFamily(
                f"{p}_checks",
                "Checks the client made on responses (expected status, body), by outcome (passed or failed).",
                labels=["run_id", "outcome"],
            ),
            "vus": GaugeMetricFamily(f"{p}_vus", "k6's vus: VUs running now (all workers).", labels=["run_id"]),
            "vus_max": GaugeMetricFamily(
                f"{p}_vus_max", "k6's vus_max: VUs allocated now (all workers).", labels=["run_id"]
            ),
            "threshold": GaugeMetricFamily(
                f"{p}_threshold_passing",
                "1 if the threshold passes on the numbers so far, else 0.",
                labels=["run_id", "threshold"],
            ),
            "info": GaugeMetricFamily(
                f"{p}_run_info", "Always 1; labels describe the run.", labels=["run_id", "profile", "host"]
            ),
            "start": GaugeMetricFamily(
                f"{p}_run_start_time_seconds", "Unix time the run started.", labels=["run_id"]
            ),
        }

    def describe(self) -> Iterable[Metric]:
        # Names only: lets the registry detect duplicates without reading the state.
        return list(self._families().values())

    def collect(self) -> Iterator[Metric]:
        families = self._families()
        numbers = read_numbers(self.state)
        run_id = numbers.run_id
        le_labels = [_format_le(b) for b in numbers.bounds_s] + ["+Inf"]

        requests = families["requests"]
        duration = families["duration"]
        for endpoint in numbers.endpoints:
            method, name = endpoint.method, endpoint.name
            for outcome, n in endpoint.outcomes:
                requests.add_metric([run_id, method, name, outcome], n)
            buckets: list[Any] = []
            for index, (le, n) in enumerate(zip(le_labels, endpoint.cumulative)):
                exemplar = endpoint.exemplars.get(index)
                buckets.append((le, n) if exemplar is None else (le, n, exemplar))
            duration.add_metric([run_id, method, name], buckets=buckets, sum_value=endpoint.sum_s)
        yield requests
        yield duration

        users = families["users"]
        users.add_metric([run_id], numbers.users)
        yield users

        for family, counts in (("iterations", numbers.iterations), ("dropped", numbers.dropped)):
            metric = families[family]
            for scenario, n in counts:
                metric.add_metric([run_id, scenario], n)
            yield metric
        checks = families["checks"]
        for outcome, n in numbers.checks:
            checks.add_metric([run_id, outcome], n)
        yield checks
        for family, value in (("vus", numbers.vus), ("vus_max", numbers.vus_max)):
            gauge = families[family]
            gauge.add_metric([run_id], value)
            yield gauge

        threshold = families["threshold"]
        for label, passed in numbers.thresholds:
            threshold.add_metric([run_id, label], 1.0 if passed else 0.0)
        yield threshold

        run_info = families["info"]
        run_info.add_metric([run_id, numbers.profile, numbers.host], 1.0)
        yield run_info

        start = families["start"]
        if numbers.started_at is not None:
            start.add_metric([run_id], numbers.started_at)
        yield start


@dataclass(frozen=True)
class EndpointNumbers:
    """One endpoint's exported numbers, read at one moment."""

    method: str
    name: str
    outcomes: tuple[tuple[str, int], ...]
    """``(outcome, requests)``: ``success``, every failure class (zeros included), then any other class."""
    cumulative: tuple[int, ...]
    """Requests at or below each bound of :attr:`LiveNumbers.bounds_s`, then all of them (``+Inf``)."""
    sum_s: float
    min_s: float | None
    max_s: float | None
    exemplars: Mapping[int, Exemplar]
    """Per bucket index (``len(bounds_s)`` is ``+Inf``), the exemplar of its slowest kept request."""

    @property
    def count(self) -> int:
        return self.cumulative[-1]


@dataclass(frozen=True)
class LiveNumbers:
    """What every live export shows, read from the state at one moment (:func:`read_numbers`)."""

    run_id: str
    profile: str
    host: str
    """Without userinfo, query or fragment."""
    started_at: float | None
    users: float
    thresholds: tuple[tuple[str, bool], ...]
    """``(threshold label, passed)``, one per label."""
    bounds_s: tuple[float, ...]
    endpoints: tuple[EndpointNumbers, ...]
    iterations: tuple[tuple[str, int], ...] = ((DEFAULT_SCENARIO, 0),)
    """``(scenario, iterations completed)``; without any, the default scenario's 0."""
    dropped: tuple[tuple[str, int], ...] = ((DEFAULT_SCENARIO, 0),)
    """``(scenario, iterations dropped)``, the same scenarios."""
    checks: tuple[tuple[str, int], ...] = (("passed", 0), ("failed", 0))
    vus: float = 0.0
    """The executor engine's VUs running, or else the users running."""
    vus_max: float = 0.0
    """The engine's VUs allocated, or else the most users so far (at least the users running now)."""


def read_numbers(state: LiveState) -> LiveNumbers:
    """The live numbers of ``state``: the one reading behind ``/metrics``, the pushes and OTLP."""
    info = dict(state.run_info())
    stats = state.stats
    bounds_s = tuple(DURATION_BUCKETS_S)
    bounds_ms = [round(b * 1000.0, 6) for b in bounds_s]

    rows: list[EndpointNumbers] = []
    endpoints = _snapshot(stats.endpoints)
    methods = _snapshot(stats.methods)
    for key in sorted(endpoints):
        aggregate: Aggregate = endpoints[key]
        method, name = methods.get(key) or tuple(key.split(" ", 1))  # type: ignore[assignment]
        by_class = _snapshot(aggregate.failures_by_class)
        count, failures = aggregate.count, aggregate.failures
        outcomes = [(SUCCESS_OUTCOME, max(count - failures, 0))]
        for outcome in (*FAILURE_CLASSES, *sorted(set(by_class) - set(FAILURE_CLASSES))):
            outcomes.append((outcome, by_class.get(outcome, 0)))

        histogram = aggregate.histogram
        fine = _snapshot(histogram.buckets)
        cumulative = cumulative_counts(fine, bounds_ms)
        min_ms, max_ms = histogram.min_ms, histogram.max_ms
        rows.append(EndpointNumbers(
            method=method,
            name=name,
            outcomes=tuple(outcomes),
            cumulative=(*cumulative, sum(fine.values())),
            sum_s=histogram.total_ms / 1000.0,
            min_s=None if min_ms is None else min_ms / 1000.0,
            max_s=None if max_ms is None else max_ms / 1000.0,
            exemplars=bucket_exemplars(list(aggregate.slowest), bounds_ms),
        ))

    thresholds: dict[str, bool] = {}
    for result in state.threshold_results() or ():
        # One series per label set, whatever the provider returns: the first verdict of a label.
        thresholds.setdefault(threshold_label(result), bool(result.passed))

    started = info.get("started_at")
    if not isinstance(started, (int, float)):
        started = stats.first_request_at
    scenarios = _snapshot(stats.scenarios)
    names = sorted(scenarios) or [DEFAULT_SCENARIO]
    users = float(state.user_count() or 0)
    engine = bool(stats.vus_by_source)
    vus_gauge, vus_max_gauge = stats.vus_gauge(), stats.vus_max_gauge()
    vus = float(vus_gauge[0]) if engine and vus_gauge is not None else users
    vus_max = float(vus_max_gauge[0]) if engine and vus_max_gauge is not None else max(
        users, float(vus_max_gauge[0]) if vus_max_gauge is not None else 0.0)
    passed, failed = stats.checks_of()
    return LiveNumbers(
        run_id=str(info.get("run_id") or ""),
        profile=str(info.get("profile") or ""),
        host=redact_url(info.get("host")),
        started_at=None if started is None else float(started),
        users=users,
        thresholds=tuple(thresholds.items()),
        iterations=tuple((n, scenarios[n].iterations.count if n in scenarios else 0) for n in names),
        dropped=tuple((n, scenarios[n].dropped if n in scenarios else 0) for n in names),
        checks=(("passed", passed), ("failed", failed)),
        vus=vus,
        vus_max=vus_max,
        bounds_s=bounds_s,
        endpoints=tuple(rows),
    )


def _format_le(bound_s: float) -> str:
    return repr(float(bound_s))


def build_registry(state: LiveState) -> CollectorRegistry:
    """A private registry holding one :class:`RunCollector` (never the global ``REGISTRY``)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(state))
    return registry


class MetricsServer:
    """Serves a registry at ``http://<bind>:<port>/metrics`` from a daemon thread, until :meth:`stop`.

    ``port=0`` picks a free port (tests); the CLI's ``--prometheus-port 0`` means "disabled", which
    the plugin handles by not constructing a server.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        port: int = DEFAULT_PORT,
        bind_address: str = DEFAULT_BIND_ADDRESS,
    ) -> None:
        self.registry = registry
        self.requested_port = port
        self.bind_address = bind_address
        self.port: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host = f"[{self.bind_address}]" if ":" in self.bind_address else self.bind_address
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> MetricsServer:
        with self._lock:
            if self._server is not None:
                return self
            try:
                server, thread = start_http_server(
                    self.requested_port, addr=self.bind_address, registry=self.registry
                )
            except OSError as e:
                where = f"--prometheus-port {self.requested_port}"
                if e.errno == errno.EADDRINUSE:
                    raise ConfigError(f"{where}: address already in use") from None
                reason = e.strerror or str(e)
                raise ConfigError(f"{where}: cannot listen on {self.bind_address}: {reason}") from None
            self._server, self._thread = server, thread
            self.port = server.server_port
            logger.info("Prometheus metrics at %s", self.url)
            return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call more than once."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class Pusher:
    """Pushes a registry to a Pushgateway every ``interval`` seconds, and once more at the end.

    Pushes run in a background thread (a greenlet under gevent's monkey-patching), never on the
    request path; each is bounded by ``timeout``. A Pushgateway that is down costs one WARNING per
    outage and an INFO line when it is back, never an exception out of the pusher.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        url: str,
        run_id: str,
        interval: float = PUSH_INTERVAL_S,
        timeout: float = PUSH_TIMEOUT_S,
        job: str = PUSH_JOB,
    ) -> None:
        if interval <= 0:
            raise ConfigError(f"--push-interval {interval}: must be greater than 0")
        parts = urlsplit(url if "//" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--pushgateway {redact_url(url)}: expected http(s)://host:port")
        self.registry = registry
        self.run_id = run_id
        self.interval = interval
        self.timeout = timeout
        self.job = job
        self.url = redact_url(urlunsplit(parts))  # what is shown and used, without credentials
        self._username = parts.username
        self._password = parts.password
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._push_lock = threading.Lock()
        self._failing = False
        self._stopped = False
        self.pushes = 0
        self.failures = 0

    @property
    def grouping_key(self) -> dict[str, str]:
        return {"run_id": self.run_id}

    def _handler(self, url: str, method: str, timeout: float | None, headers: Any, data: bytes) -> Any:
        if self._username is not None:
            return basic_auth_handler(
                url, method, timeout, headers, data, self._username, self._password or ""
            )
        return default_handler(url, method, timeout, headers, data)

    def push(self) -> bool:
        """Push once now; ``True`` on success. Never raises (a failure is logged)."""
        return self._push(final=False)

    def _push(self, final: bool) -> bool:
        with self._push_lock:
            try:
                push_to_gateway(
                    self.url,
                    job=self.job,
                    registry=self.registry,
                    grouping_key=self.grouping_key,
                    timeout=self.timeout,
                    handler=self._handler,
                )
            except Exception as e:  # noqa: BLE001 - an export must never break the run
                self.failures += 1
                if final:
                    # The last push is the one that matters: say so even inside a known outage.
                    logger.warning(
                        "Pushgateway %s: final push failed (%s); the final numbers were not pushed",
                        self.url, _one_line(e),
                    )
                elif not self._failing:
                    logger.warning(
                        "Pushgateway %s: push failed (%s); will keep trying every %gs",
                        self.url, _one_line(e), self.interval,
                    )
                self._failing = True
                return False
            self.pushes += 1
            if self._failing:
                self._failing = False
                logger.info("Pushgateway %s: pushing again", self.url)
            return True

    def start(self) -> Pusher:
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._loop, name="bss-loadtest-pusher", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.push()

    def stop(self, final: bool = True) -> bool:
        """Stop the periodic pushes; with ``final``, push the final numbers (bounded by ``timeout``).

        Returns whether the final push landed (``True`` when none was asked for). Idempotent: a
        second call does nothing and returns ``True``.
        """
        if self._stopped:
            return True
        self._stopped = True
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            # A push in flight ends within the timeout (per socket operation, connect + send + read).
            thread.join(timeout=3 * self.timeout + 1)
        if not final:
            return True
        return self._push(final=True)


def _one_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class LiveExport:
    """The live export of one Locust process: a scrape endpoint for its life, a pusher per run."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        port: int,
        bind_address: str = DEFAULT_BIND_ADDRESS,
        pushgateway: str | None = None,
        push_interval: float = PUSH_INTERVAL_S,
    ) -> None:
        self.registry = registry
        self.pushgateway = pushgateway
        self.interval = push_interval
        self.pusher: Pusher | None = None
        if pushgateway:  # validate the URL and interval now, before any user starts
            Pusher(registry, pushgateway, run_id="-", interval=push_interval)
        self.server: MetricsServer | None = None
        if port:
            self.server = MetricsServer(registry, port=port, bind_address=bind_address).start()
            logger.info("Live metrics at %s", self.server.url)

    def start_run(self, run_id: str) -> None:
        """A new run: pushes from now on go to its group."""
        self.end_run()
        if self.pushgateway:
            self.pusher = Pusher(self.registry, self.pushgateway, run_id=run_id, interval=self.interval).start()

    def end_run(self) -> None:
        """The final push of the current run, holding its final numbers."""
        if self.pusher is not None:
            self.pusher.stop(final=True)
            self.pusher = None

    def stop(self) -> None:
        self.end_run()
        if self.server is not None:
            self.server.stop()
            self.server = None
